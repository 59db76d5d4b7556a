"""Reads for routing: the rule set in force, and the engine's inputs loaded from the
database in a fixed number of queries."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from leadhub.leads.models import OPEN_STATUSES, Lead
from leadhub.leads.selectors import leads_visible_to, user_may_work_lead
from reps.availability import RepSnapshot
from reps.models import Rep
from reps.selectors import rep_of, rep_snapshots, reps_visible_to, user_sees_everything
from routing import engine
from routing.models import (
    Decision,
    Pool,
    PoolMember,
    PoolState,
    Publication,
    Rule,
    RuleSet,
    Territory,
)

# Conversion rates for performance-weighted pools look back this far.
PERFORMANCE_WINDOW = timedelta(days=90)
# The decisions that escalate a lead to a manager: a rule's manager fallback (the engine's
# method) and the SLA ladder's escalation (routing.services.lead_escalate).
ESCALATION_METHODS = engine.ESCALATION_METHODS

_SETTING_TYPES: dict[str, type] = {
    "load_metric": str,
    "catch_up_limit": int,
    "check_hours": bool,
    "allow_away": bool,
    "skill_field": str,
    "language_required": bool,
    "performance_floor": float,
    "claim_limit": int,
    "claim_minutes": int,
}


def pool_settings_from(
    data: Mapping[str, Any], weights: Mapping[int, float]
) -> engine.PoolSettings:
    """A pool's stored settings as the engine's PoolSettings; ValueError names a bad key."""
    unknown = set(data) - {*_SETTING_TYPES, "required_skills", "preferred_skills", "tiers"}
    if unknown:
        raise ValueError(f"Unknown pool settings: {', '.join(sorted(unknown))}.")
    kwargs: dict[str, Any] = {"weights": dict(weights)}
    for key, kind in _SETTING_TYPES.items():
        if key in data:
            value = data[key]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ValueError(f"{key} must be {kind.__name__}, not {value!r}.")
            kwargs[key] = value
    if kwargs.get("load_metric", "open") not in ("open", "ratio"):
        raise ValueError("load_metric must be 'open' or 'ratio'.")
    for key in ("required_skills", "preferred_skills"):
        if key in data:
            if not isinstance(data[key], list) or not all(isinstance(s, str) for s in data[key]):
                raise ValueError(f"{key} must be a list of skill names.")
            kwargs[key] = frozenset(data[key])
    if "tiers" in data:
        tiers = data["tiers"]
        if not isinstance(tiers, list) or not all(
            isinstance(t, list) and len(t) == 2 and all(isinstance(n, int) for n in t)
            for t in tiers
        ):
            raise ValueError("tiers must be a list of [min_score, min_tier] pairs.")
        kwargs["tiers"] = tuple((t[0], t[1]) for t in tiers)
    return engine.PoolSettings(**kwargs)


def ruleset_in_force() -> RuleSet | None:
    publication = Publication.objects.select_related("ruleset").first()
    return publication.ruleset if publication else None


def engine_ruleset(ruleset: RuleSet) -> engine.RuleSet:
    rules = tuple(
        engine.Rule(
            id=rule.pk,
            position=rule.position,
            name=rule.name,
            condition=rule.condition,
            action=engine.Action(rule.action, rule.action_pool_id or rule.action_rep_id),
            fallback=engine.Fallback(rule.fallback, rule.fallback_pool_id),
            enabled=rule.enabled,
        )
        for rule in Rule.objects.filter(ruleset=ruleset).order_by("position", "pk")
    )
    return engine.RuleSet(ruleset.version, rules)


# Published versions never change, so each is compiled once per process. The key is the
# row's identity, not only its number, so a database rebuilt under a running process (tests)
# cannot be served another database's rules.
_COMPILED: dict[tuple[int, int, str], engine.CompiledRuleSet] = {}


def compiled_ruleset(ruleset: RuleSet) -> engine.CompiledRuleSet:
    """The compiled rules of ``ruleset``; the draft is compiled afresh every time."""
    if ruleset.is_draft:
        return engine.compile_ruleset(engine_ruleset(ruleset))
    key = (ruleset.pk, ruleset.version, ruleset.created_at.isoformat())
    if key not in _COMPILED:
        _COMPILED[key] = engine.compile_ruleset(engine_ruleset(ruleset))
    return _COMPILED[key]


def lead_snapshot(lead: Lead) -> dict[str, Any]:
    """The lead as the engine reads it: its fields plus the account match."""
    snapshot = {f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields}
    account = lead.account
    snapshot["account_id"] = account.pk if account else None
    snapshot["account_owner_id"] = account.owner_id if account else None
    return snapshot


def engine_states(pool_states: list[PoolState]) -> dict[int, engine.PoolState]:
    """Engine pool states from rows already loaded (under lock, by the assignment)."""
    return {
        s.pool_id: engine.PoolState(
            pool_id=s.pool_id,
            last_rep_id=s.last_rep_id,
            assigned={int(k): v for k, v in s.assigned.items()},
            credits={int(k): v for k, v in s.credits.items()},
            last_assigned_at={
                int(k): datetime.fromisoformat(v) for k, v in s.last_assigned_at.items()
            },
        )
        for s in pool_states
    }


def _performance(rep_ids: list[int], now: datetime) -> dict[int, float]:
    """Recent conversion rate per rep: converted ÷ assigned, leads assigned in the window."""
    rows = (
        Lead.objects.filter(owner_id__in=rep_ids, assigned_at__gte=now - PERFORMANCE_WINDOW)
        .values("owner_id")
        .annotate(total=Count("pk"), won=Count("pk", filter=Q(status="converted")))
    )
    return {r["owner_id"]: r["won"] / r["total"] for r in rows if r["total"]}


def escalated_open_counts(rep_ids: Iterable[int]) -> dict[int, int]:
    """Open leads each rep holds because they were escalated to them (the lead's effective
    decision is an escalation to its owner), in one grouped query: what a manager's ceiling
    (``reps.availability.escalations_left``) counts. Read under the reps' load-row locks
    when routing decides, like the other counters."""
    rows = (
        Decision.objects.filter(
            effective=True,
            outcome="assigned",
            method__in=ESCALATION_METHODS,
            rep_id__in=list(rep_ids),
            lead__owner_id=F("rep_id"),
            lead__status__in=sorted(OPEN_STATUSES),
        )
        .order_by()
        .values("rep_id")
        .annotate(n=Count("pk"))
    )
    return {row["rep_id"]: row["n"] for row in rows}


def with_escalated_counts(
    reps: Mapping[int, RepSnapshot], rep_ids: Iterable[int]
) -> dict[int, RepSnapshot]:
    """The snapshots of ``rep_ids`` (those of ``reps``) with their open escalated leads."""
    wanted = [r for r in rep_ids if r in reps]
    if not wanted:
        return {}
    counts = escalated_open_counts(wanted)
    return {r: replace(reps[r], escalated_count=counts.get(r, 0)) for r in wanted}


def routing_world(*, now: datetime) -> engine.World:
    """Every active pool, territory and rep as the engine sees them at ``now``."""
    pools = list(Pool.objects.filter(active=True).prefetch_related("members"))
    team_members: dict[int, list[int]] = {}
    for rep_id, team_id in (
        Rep.objects.filter(active=True).order_by("pk").values_list("pk", "team_id")
    ):
        team_members.setdefault(team_id, []).append(rep_id)
    engine_pools = {}
    for pool in pools:
        members = sorted(pool.members.all(), key=lambda m: (m.position, m.pk))
        member_ids = tuple(m.rep_id for m in members) or tuple(team_members.get(pool.team_id, ()))
        weights = {m.rep_id: float(m.weight) for m in members if m.weight is not None}
        engine_pools[pool.pk] = engine.Pool(
            id=pool.pk,
            name=pool.name,
            method=pool.method,
            member_ids=member_ids,
            settings=pool_settings_from(pool.settings, weights),
            team_id=pool.team_id,
        )
    reps = rep_snapshots(now=now)
    managers = {}
    for rep_id, team_id in (
        Rep.objects.filter(role=Rep.Role.MANAGER, active=True)
        .order_by("pk")
        .values_list("pk", "team_id")
    ):
        managers.setdefault(team_id, rep_id)
    reps.update(with_escalated_counts(reps, managers.values()))
    performance = {}
    if any(p.method == Pool.Method.PERFORMANCE_WEIGHTED for p in pools):
        performance = _performance(list(reps), now)
    territories = tuple(
        engine.Territory(
            id=t.pk,
            name=t.name,
            parent_id=t.parent_id,
            pool_id=t.pool_id,
            countries=frozenset(t.countries),
            states=frozenset(t.states),
            postal_prefixes=tuple(t.postal_prefixes),
            postal_ranges=tuple(tuple(r) for r in t.postal_ranges),
        )
        for t in Territory.objects.filter(active=True)
    )
    return engine.World(
        reps=reps,
        pools=engine_pools,
        states=engine_states(list(PoolState.objects.filter(pool_id__in=list(engine_pools)))),
        territories=territories,
        managers=managers,
        performance=performance,
    )


def user_may_reassign(user, lead: Lead, rep: Rep) -> bool:
    """RevOps; or the manager of the team owning the lead (of ``rep``'s team when the lead
    has no owner)."""
    if user_sees_everything(user):
        return True
    me = rep_of(user)
    if me is None or me.role != Rep.Role.MANAGER:
        return False
    team_id = lead.owner.team_id if lead.owner_id else rep.team_id
    return me.team_id == team_id


def reassign_targets(user) -> QuerySet[Rep]:
    """The reps ``user`` may give a lead to by hand: the active reps they see (RevOps every
    one, a manager those of their own team). The dashboard's choices and the API's check."""
    return reps_visible_to(user).filter(active=True)


def reassign_target_refusal(user, rep: Rep) -> str:
    """Why ``user`` may not give a lead to ``rep`` by hand (``reassign_targets``' rule in
    words), or "" when they may."""
    if reassign_targets(user).filter(pk=rep.pk).exists():
        return ""
    if not rep.active:
        return f"{rep} is switched off: choose an active rep."
    return f"{rep} is not in your team: a manager reassigns only to reps of your own team."


# --- Claim queues, as the people working them see them ----------------------------------


def claim_queue_of(lead_id: int) -> Pool | None:
    """The claim queue the lead waits in, or was claimed from: its effective decision's
    pool when that pool is a claim queue."""
    return (
        Pool.objects.filter(method=Pool.Method.CLAIM_QUEUE)
        .filter(
            Exists(Decision.objects.filter(lead_id=lead_id, effective=True, pool=OuterRef("pk")))
        )
        .first()
    )


def queue_members(pool: Pool) -> set[int]:
    """Who may claim from ``pool``: its listed members, or, when it lists nobody, the
    active reps of its team. ``claim_queues_of`` is the same rule from the rep's side."""
    members = set(pool.members.values_list("rep_id", flat=True))
    if not members and pool.team_id:
        members = set(
            Rep.objects.filter(team_id=pool.team_id, active=True).values_list("pk", flat=True)
        )
    return members


def claim_queues_of(rep: Rep) -> QuerySet[Pool]:
    """The claim queues ``rep`` belongs to (``queue_members``' rule, as a query)."""
    if not rep.active:
        return Pool.objects.none()
    listed = PoolMember.objects.filter(pool=OuterRef("pk"))
    return Pool.objects.filter(method=Pool.Method.CLAIM_QUEUE).filter(
        Exists(listed.filter(rep=rep)) | (~Exists(listed) & Q(team_id=rep.team_id))
    )


def claim_queues_for(user) -> QuerySet[Pool]:
    """The claim queues ``user`` works or oversees, each annotated with ``waiting`` (its
    queued leads): RevOps every queue; a rep the queues they belong to
    (``claim_queues_of``); a manager those and their team's queues."""
    waiting = (
        Decision.objects.filter(pool=OuterRef("pk"), effective=True, lead__status="queued")
        .order_by()
        .values("pool")
        .annotate(n=Count("pk"))
        .values("n")
    )
    pools = (
        Pool.objects.filter(method=Pool.Method.CLAIM_QUEUE)
        .select_related("team")
        .annotate(waiting=Coalesce(Subquery(waiting), 0))
        .order_by("name", "pk")
    )
    if user_sees_everything(user):
        return pools
    me = rep_of(user)
    if me is None:
        return pools.none()
    member = Q(pk__in=claim_queues_of(me).values("pk"))
    if me.role == Rep.Role.MANAGER:
        return pools.filter(member | Q(team_id=me.team_id))
    return pools.filter(member)


def leads_in_claim_queues_of(user) -> QuerySet[Lead]:
    """Leads waiting in (or claimed from) the claim queues ``user`` works or oversees: a
    member must see a queued lead to claim it, and whoever lost the race to see who won."""
    return Lead.objects.filter(
        Exists(
            Decision.objects.filter(
                lead=OuterRef("pk"), effective=True, pool__in=claim_queues_for(user).values("pk")
            )
        )
    )


def queued_leads(pool: Pool) -> QuerySet[Lead]:
    """The leads waiting in ``pool``, oldest first, each annotated with ``waiting_since``
    (when its queueing decision was made)."""
    queued_at = Decision.objects.filter(lead=OuterRef("pk"), effective=True).values("created_at")
    return (
        Lead.objects.filter(status="queued")
        .filter(Exists(Decision.objects.filter(lead=OuterRef("pk"), effective=True, pool=pool)))
        .annotate(waiting_since=Subquery(queued_at[:1]))
        .order_by("waiting_since", "pk")
    )


# --- Who may act on a lead ----------------------------------------------------------------
#
# One answer per question, asked by the API (sla.api) and the pages (leadhub.web) alike:
# a lead the user may not see is a 404 (as a missing one); a lead they see but may not act
# on is a 403 naming who may (``lead_action_refusal``); then the service decides on the
# lead's state (a 409).


def user_may_see_lead(user, lead_id: int) -> bool:
    """The leads of the user's role (``leads_visible_to``: the owner, their team's manager,
    RevOps), and those waiting in or claimed from a claim queue the user works or oversees
    (``leads_in_claim_queues_of``): a member must see a queued lead to claim it, whoever
    lost the race who won it, and the queue's team's manager a lead nobody owns yet."""
    return (
        leads_visible_to(user).filter(pk=lead_id).exists()
        or leads_in_claim_queues_of(user).filter(pk=lead_id).exists()
    )


def user_manages_lead(user, lead: Lead) -> bool:
    """RevOps; or the manager of the team owning the lead (of an unowned lead waiting in a
    claim queue, of the queue's team)."""
    if user_sees_everything(user):
        return True
    me = rep_of(user)
    if me is None or me.role != Rep.Role.MANAGER or not me.active:
        return False
    if lead.owner_id is not None:
        return lead.owner.team_id == me.team_id
    queue = claim_queue_of(lead.pk)
    return queue is not None and queue.team_id == me.team_id


def user_may_set_lead_status(user, lead: Lead) -> bool:
    """The owner, or whoever manages the lead (``user_manages_lead``). Who may change the
    status may also add a note."""
    return user_may_work_lead(user, lead) or user_manages_lead(user, lead)


def user_may_claim_lead(user, lead: Lead) -> bool:
    """A member (``queue_members``) of the claim queue the lead waits in or was claimed
    from; nobody when it is in no claim queue."""
    me = rep_of(user)
    queue = claim_queue_of(lead.pk) if me is not None else None
    return queue is not None and me.pk in queue_members(queue)


def user_may_release_lead(user, lead: Lead) -> bool:
    """The rep holding the lead (whether it came from a queue is the service's question)."""
    return user_may_work_lead(user, lead)


@dataclass(frozen=True)
class Refusal:
    """Why a user who sees a lead may not do an action to it: not theirs to do (``forbidden``,
    a 403), or nobody's (a 409, like the services' refusals)."""

    message: str
    forbidden: bool = True


# Each action on a lead: who may do it, and what they are told otherwise.
LEAD_ACTIONS = {
    "accept": (user_may_work_lead, "Only the lead's owner can accept it."),
    "decline": (user_may_work_lead, "Only the lead's owner can decline it."),
    "touch": (user_may_work_lead, "Only the lead's owner can log a touch."),
    "status": (
        user_may_set_lead_status,
        "Only the lead's owner, their team's manager and RevOps change its status.",
    ),
    "note": (
        user_may_set_lead_status,
        "Only the lead's owner, their team's manager and RevOps add notes to it.",
    ),
    "claim": (user_may_claim_lead, "Only the members of the lead's claim queue can claim it."),
    "release": (user_may_release_lead, "Only the rep holding the lead can release it."),
}


def lead_action_refusal(user, lead: Lead, action: str) -> Refusal | None:
    """Why ``user``, who sees ``lead`` (``user_may_see_lead``), may not do ``action`` (one of
    ``LEAD_ACTIONS``) to it; None when they may."""
    if action == "claim" and claim_queue_of(lead.pk) is None:
        return Refusal("This lead is not in a claim queue.", forbidden=False)
    may, refusal = LEAD_ACTIONS[action]
    return None if may(user, lead) else Refusal(refusal)


def user_may_reroute(user, lead: Lead) -> bool:
    """May ``user`` run the rules again for ``lead``: whoever manages it, not its owner."""
    return user_manages_lead(user, lead)


def user_may_hand_over(user, rep: Rep) -> bool:
    """May ``user`` hand ``rep``'s open leads on: RevOps, or the manager of ``rep``'s team."""
    if user_sees_everything(user):
        return True
    me = rep_of(user)
    return (
        me is not None and me.active and me.role == Rep.Role.MANAGER and me.team_id == rep.team_id
    )
