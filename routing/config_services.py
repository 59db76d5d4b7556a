"""Writes to the routing set-up: territories, pools with their members, the draft's rules.

Shared by the API and the playbook import. Each raises ``ValidationError`` naming the field
for input the engine would refuse, so neither caller checks the same thing twice.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, ProtectedError

from leadhub.db import rows_replace
from routing import engine
from routing.models import Pool, PoolMember, Rule, RuleSet, Territory
from routing.selectors import pool_settings_from
from routing.services import ruleset_draft
from routing.world import routing_changed

TERRITORY_FIELDS = frozenset(
    {"name", "parent", "pool", "countries", "states", "postal_prefixes", "postal_ranges", "active"}
)
POOL_FIELDS = frozenset({"name", "team", "method", "settings", "active"})
RULE_FIELDS = frozenset(
    {
        "position",
        "name",
        "enabled",
        "condition",
        "action",
        "action_pool",
        "action_rep",
        "fallback",
        "fallback_pool",
    }
)


@dataclass(frozen=True)
class Member:
    """One pool member as written: the rep's id, in rotation order, with an optional weight
    that replaces the rep's own in this pool."""

    rep_id: int
    weight: int | None = None


def check_pool_settings(settings: Mapping[str, Any]) -> None:
    """Refuse settings the engine cannot read, naming the key."""
    if not isinstance(settings, Mapping):
        raise ValidationError({"settings": "Must be an object of method settings."})
    try:
        pool_settings_from(settings, {})
    except ValueError as exc:
        raise ValidationError({"settings": str(exc)}) from None


def check_rule(
    *,
    condition: Any,
    action: str,
    action_target: int | None,
    fallback: str,
    fallback_pool: int | None,
    position: int = 0,
    name: str = "",
) -> None:
    """Compile the rule alone, as the engine would at publication; a ``RuleError`` becomes a
    ValidationError on the field it names (``condition``, ``action`` or ``fallback``)."""
    rule = engine.Rule(
        id=0,
        position=position,
        name=name,
        condition=condition,
        action=engine.Action(action, action_target),
        fallback=engine.Fallback(fallback, fallback_pool),
    )
    try:
        engine.compile_ruleset(engine.RuleSet(None, (rule,)))
    except engine.RuleError as exc:
        field = exc.path.split(".")[1].split("[")[0] if "." in exc.path else "condition"
        raise ValidationError({field: str(exc)}) from None


def _check_fields(fields: Mapping[str, Any], allowed: frozenset[str], service: str) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"{service} cannot set: {', '.join(sorted(unknown))}")


def _save(instance: Any, fields: Iterable[str] | None = None) -> None:
    instance.full_clean()
    if fields is None:
        instance.save()
    else:
        instance.save(update_fields=list(fields))


def _delete(instance: Any) -> None:
    try:
        instance.delete()
    except ProtectedError as exc:
        users = ", ".join(sorted({str(o) for o in exc.protected_objects})[:5])
        raise ValidationError(f"{instance} is still used by: {users}.") from None


def check_territory_parent(*, territory: Territory, parent: Territory | None) -> None:
    """Refuse a ``parent`` that would make ``territory`` its own ancestor: the engine drops
    every territory of a cycle."""
    seen = {territory.pk}
    while parent is not None:
        if parent.pk in seen:
            raise ValidationError({"parent": "A territory cannot be its own ancestor."})
        seen.add(parent.pk)
        parent = parent.parent


@transaction.atomic
def territory_save(*, territory: Territory | None = None, **fields: Any) -> Territory:
    """Create a territory (no ``territory``) or change the given fields of one."""
    _check_fields(fields, TERRITORY_FIELDS, "territory_save")
    territory = territory or Territory()
    for name, value in fields.items():
        setattr(territory, name, value)
    if territory.pk is not None:
        check_territory_parent(territory=territory, parent=territory.parent)
    _save(territory)
    return territory


def territory_delete(*, territory: Territory) -> None:
    _delete(territory)


@transaction.atomic
def pool_save(
    *, pool: Pool | None = None, members: Iterable[Member] | None = None, **fields: Any
) -> Pool:
    """Create a pool or change the given fields; ``members`` (rotation order) replace the
    pool's whole membership when given."""
    _check_fields(fields, POOL_FIELDS, "pool_save")
    if "settings" in fields:
        check_pool_settings(fields["settings"])
    pool = pool or Pool()
    for name, value in fields.items():
        setattr(pool, name, value)
    _save(pool)
    if members is not None:
        members = list(members)
        rep_ids = [m.rep_id for m in members]
        if len(set(rep_ids)) != len(rep_ids):
            raise ValidationError({"members": "A rep is listed twice."})
        rows_replace(
            pool.members.all(),
            (
                PoolMember(pool=pool, rep_id=m.rep_id, position=i, weight=m.weight)
                for i, m in enumerate(members)
            ),
            key=lambda row: row.rep_id,
            fields=["position", "weight"],
        )
        routing_changed()
    return pool


def pool_delete(*, pool: Pool) -> None:
    _delete(pool)


def check_draft_rule(rule: Rule) -> None:
    """What ``draft_rule_save`` refuses in this rule, as a ValidationError naming the field
    (``condition``, ``action`` or ``fallback``)."""
    target = rule.action_pool_id if rule.action == Rule.Action.POOL else rule.action_rep_id
    if rule.action not in (Rule.Action.POOL, Rule.Action.REP) and (
        rule.action_pool_id or rule.action_rep_id
    ):
        raise ValidationError({"action": f"Action {rule.action!r} takes no pool or rep."})
    check_rule(
        condition=rule.condition,
        action=rule.action,
        action_target=target,
        fallback=rule.fallback,
        fallback_pool=rule.fallback_pool_id,
        position=rule.position,
        name=rule.name,
    )


@transaction.atomic
def draft_rule_save(*, rule: Rule | None = None, actor: Any = None, **fields: Any) -> Rule:
    """Add a rule to the draft (at the end unless ``position`` is given) or change one of
    the draft's rules. Published versions are never edited."""
    _check_fields(fields, RULE_FIELDS, "draft_rule_save")
    draft = ruleset_draft(actor=actor)
    if rule is None:
        rule = Rule(ruleset=draft)
        if fields.get("position") is None:
            last = draft.rules.aggregate(n=Max("position"))["n"]
            fields["position"] = 0 if last is None else last + 1
    elif rule.ruleset_id != draft.pk:
        raise ValidationError("Only the draft's rules can be changed.")
    for name, value in fields.items():
        setattr(rule, name, value)
    check_draft_rule(rule)
    _save(rule)
    return rule


def draft_rule_delete(*, rule: Rule) -> None:
    if not RuleSet.objects.filter(pk=rule.ruleset_id, is_draft=True).exists():
        raise ValidationError("Only the draft's rules can be deleted.")
    rule.delete()


@transaction.atomic
def draft_rules_replace(*, rules: Iterable[Mapping[str, Any]], actor: Any = None) -> RuleSet:
    """Replace every rule of the draft with ``rules`` (field dicts), in order."""
    draft = ruleset_draft(actor=actor)
    wanted = []
    for position, fields in enumerate(rules):
        _check_fields(fields, RULE_FIELDS - {"position"}, "draft_rules_replace")
        rule = Rule(ruleset=draft, position=position, **fields)
        check_draft_rule(rule)
        rule.full_clean()
        wanted.append(rule)
    # Rule by rule, so that re-importing the same rules changes (and records) nothing.
    rows_replace(
        draft.rules.all(), wanted, key=lambda rule: rule.position, fields=sorted(RULE_FIELDS)
    )
    return draft
