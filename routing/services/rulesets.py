"""Rule sets: the draft, publishing it as a numbered version, rolling back."""

from django.db import transaction
from django.db.models import Max

from routing import engine
from routing.models import Publication, Rule, RuleSet
from routing.selectors import ruleset_in_force
from routing.services.core import RoutingError


def ruleset_draft(*, actor=None) -> RuleSet:
    """The draft, created on first use as a copy of the version in force."""
    draft = RuleSet.objects.filter(is_draft=True).first()
    if draft is not None:
        return draft
    with transaction.atomic():
        source = ruleset_in_force()
        draft = RuleSet.objects.create(
            is_draft=True, based_on=source.version if source else None, created_by=actor
        )
        if source is not None:
            _copy_rules(source, draft)
        return draft


def _copy_rules(source: RuleSet, target: RuleSet) -> None:
    Rule.objects.bulk_create(
        [
            Rule(
                ruleset=target,
                position=r.position,
                name=r.name,
                enabled=r.enabled,
                condition=r.condition,
                action=r.action,
                action_pool_id=r.action_pool_id,
                action_rep_id=r.action_rep_id,
                fallback=r.fallback,
                fallback_pool_id=r.fallback_pool_id,
            )
            for r in source.rules.order_by("position", "pk")
        ]
    )


@transaction.atomic
def ruleset_publish(*, actor=None, note: str = "") -> RuleSet:
    """Freeze the draft as the next numbered version and put it in force. Refused with a
    RoutingError naming the rule and node when the draft does not compile."""
    draft = RuleSet.objects.select_for_update().filter(is_draft=True).first()
    if draft is None:
        raise RoutingError("There is no draft to publish.")
    from routing.selectors import engine_ruleset

    rules = engine_ruleset(draft)
    try:
        engine.compile_ruleset(rules)
    except engine.RuleError as exc:
        # The engine names the rule by its index; people know it by name and position.
        index, _, where = exc.path.partition("].")
        rule = rules.rules[int(index.removeprefix("rules["))]
        raise RoutingError(
            f"The draft cannot be published: rule '{rule.name}' (#{rule.position}), "
            f"{where}: {exc.message}"
        ) from None
    number = (RuleSet.objects.aggregate(n=Max("version"))["n"] or 0) + 1
    version = RuleSet.objects.create(
        version=number, note=note, based_on=draft.based_on, created_by=actor
    )
    _copy_rules(draft, version)
    draft.based_on = number
    draft.save(update_fields=["based_on"])
    Publication.objects.create(ruleset=version, published_by=actor, note=note)
    return version


@transaction.atomic
def ruleset_rollback(*, version: int, actor=None, note: str = "") -> RuleSet:
    """Put an older published version back in force (a new publication of it)."""
    ruleset = RuleSet.objects.filter(version=version).first()
    if ruleset is None:
        raise RoutingError(f"There is no published version {version}.")
    Publication.objects.create(ruleset=ruleset, published_by=actor, is_rollback=True, note=note)
    return ruleset
