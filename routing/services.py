"""Writes for routing: publishing rule sets, assigning leads, reassigning, refunding.

Assignment (``lead_route``) locks the lead, runs the pure engine on this process's cached
copy of the world (``routing.world``) to learn which pools and reps are involved, locks, in
a fixed order, those pool-state rows (by pool id) and the candidate reps' load rows
(``reps.RepLoad``, by rep id), and runs the engine again on the pool states and load counts
read under those locks. If the second
decision needs something the first did not lock, the transaction is abandoned and retried
with the larger set; the last attempt locks every pool and rep. Concurrent assignments
therefore never exceed a cap or skip a turn, on PostgreSQL by row locks and on SQLite by
its single writer. Every writer takes the same order (one lead, then pool states, then
load rows): manual reassignment, status changes and routes cannot deadlock each other.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from leadhub.leads.models import OPEN_STATUSES, Lead, LeadEvent
from leadhub.leads.services import (
    LeadTransitionError,
    a_lead,
    lead_assign,
    lead_transition,
    lead_unassign,
)
from reps.availability import (
    LeadNeeds,
    Reason,
    RepSnapshot,
    escalations_left,
    rep_eligibility,
)
from reps.load import load_counts, rep_loads_ensure
from reps.models import Rep, RepLoad
from reps.selectors import rep_snapshots
from routing import engine
from routing.engine.decide import REASON_WORDS
from routing.models import Decision, Pool, PoolState, Publication, Rule, RuleSet
from routing.selectors import (
    claim_queue_of,
    engine_states,
    lead_snapshot,
    pool_settings_from,
    queue_members,
    ruleset_in_force,
    with_escalated_counts,
)
from routing.signals import announce_escalation_ceiling, announce_routed
from routing.world import routing_inputs

MAX_ATTEMPTS = 3
EMPTY_RULES = engine.compile_ruleset(engine.RuleSet(None, ()))


class RoutingError(ValueError):
    pass


# --- Rule sets ------------------------------------------------------------------------


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


# --- Assignment -----------------------------------------------------------------------


def lead_is_routable(lead: Lead) -> bool:
    """Routing takes new, complete leads; triage, nurture and owned leads are not its."""
    return lead.status == "new" and not lead.is_partial


class _Retry(Exception):
    def __init__(self, pools: set[int], reps: set[int]) -> None:
        self.pools, self.reps = pools, reps


def _involved(decision: engine.Decision) -> tuple[set[int], set[int]]:
    pools = {decision.state_update.pool_id} if decision.state_update else set()
    reps = {c.rep_id for c in decision.candidates}
    if decision.rep_id is not None:
        reps.add(decision.rep_id)
    return pools, reps


def lead_route(*, lead_id: int) -> Decision | None:
    """Route a lead if it still needs routing (safe to call twice: the second call finds it
    assigned and does nothing). Returns the stored decision, or None."""
    return _route(lead_id, _Routing())


@dataclass(frozen=True)
class _Routing:
    """What kind of routing a call to ``_route`` does."""

    # Which leads it takes (the lead is re-checked under its lock).
    takes: Callable[[Lead], bool] = lead_is_routable
    # Reps it must not choose (World.excluded).
    excluded: frozenset[int] = frozenset()
    # Only this pool, by its method, with no rules (an SLA reassignment).
    pool_id: int | None = None
    kind: str = Decision.Kind.AUTO
    actor: Any = None
    reason: str = ""


def _route(lead_id: int, how: _Routing) -> Decision | None:
    now = timezone.now()
    inputs = routing_inputs(now=now)
    pools: set[int] = set()
    reps: set[int] = set()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if attempt == MAX_ATTEMPTS:
            pools, reps = set(inputs.world.pools), set(inputs.world.reps)
        try:
            return _assign(lead_id, inputs, pools, reps, now, how)
        except _Retry as retry:
            pools |= retry.pools
            reps |= retry.reps
    raise RoutingError(f"Lead {lead_id} could not be routed.")  # pragma: no cover


def _decide(snapshot, rules, world: engine.World, now, how: _Routing) -> engine.Decision:
    if how.excluded:
        world = replace(world, excluded=how.excluded)
    if how.pool_id is not None:
        return engine.decide_in_pool(snapshot, how.pool_id, world, now, why=how.reason)
    return engine.decide(snapshot, rules, world, now)


def _assign(
    lead_id: int, inputs, pool_ids: set[int], rep_ids: set[int], now, how: _Routing
) -> Decision | None:
    """Lock the lead, decide on the cached world to learn which pools and reps it involves
    (unless a retry already knows), lock those pool states and the reps' load rows (in id
    order), decide again on the locked states and counts, and write. The rest of the world
    (schedules, settings, presence) comes from the process's copy (``routing.world``)."""
    world, rules = inputs.world, inputs.rules
    with transaction.atomic():
        lead = (
            Lead.objects.select_for_update(of=("self",))
            .select_related("account")
            .annotate(decided=Exists(Decision.objects.filter(lead=OuterRef("pk"), effective=True)))
            .filter(pk=lead_id)
            .order_by("pk")
            .first()
        )
        if lead is None or not how.takes(lead):
            return None
        snapshot = lead_snapshot(lead)
        if not pool_ids and not rep_ids:
            pool_ids, rep_ids = _involved(_decide(snapshot, rules, world, now, how))
            if lead.owner_id is not None:
                rep_ids = rep_ids | {lead.owner_id}  # its counters move too
        if missing_states := pool_ids - inputs.states_made:
            PoolState.objects.bulk_create(
                [PoolState(pool_id=p) for p in sorted(missing_states)], ignore_conflicts=True
            )
            inputs.states_made |= missing_states
        locked_states = list(
            PoolState.objects.select_for_update().filter(pool_id__in=pool_ids).order_by("pool_id")
        )
        loads = _lock_loads(rep_ids, now)
        fresh = {}
        for rep_id, load in loads.items():
            rep = world.reps.get(rep_id)
            if rep is not None:
                counts = load_counts(load, rep.timezone, now)
                fresh[rep_id] = replace(
                    rep, open_count=counts[0], day_count=counts[1], week_count=counts[2]
                )
        fresh.update(with_escalated_counts(fresh, world.managers.values()))
        world = replace(
            world,
            reps={**world.reps, **fresh},
            states={**world.states, **engine_states(locked_states)},
        )
        decision = _decide(snapshot, rules, world, now, how)
        needed_pools, needed_reps = _involved(decision)
        if not needed_pools <= pool_ids or not needed_reps <= rep_ids:
            raise _Retry(needed_pools | pool_ids, needed_reps | rep_ids)
        if decision.outcome == engine.NOBODY:
            return None
        chosen = world.reps.get(decision.rep_id) if decision.rep_id is not None else None
        stored = _store(
            lead,
            decision,
            kind=how.kind,
            actor=how.actor,
            reason=how.reason,
            rep_timezone=chosen.timezone if chosen else None,
            supersedes=lead.decided,
        )
        if decision.state_update is not None:
            state = next(s for s in locked_states if s.pool_id == decision.state_update.pool_id)
            _write_state(state, world.state_of(state.pool_id), decision.state_update)
        announce_routed(lead, stored)
        if chosen is not None and decision.method == "manager":
            _escalated_to(chosen)
        return stored


def _escalated_to(manager: RepSnapshot) -> None:
    """``manager`` (as counted under lock, before this lead) took an escalated lead: when
    it fills their ceiling they are told, once, that escalations now go to triage."""
    if escalations_left(manager) == 1:
        announce_escalation_ceiling(rep_id=manager.id, ceiling=manager.max_escalated)


def _lock_loads(rep_ids: set[int], now) -> dict:
    """Lock the reps' load rows in rep id order, making any that are missing first."""
    query = RepLoad.objects.select_for_update().filter(rep_id__in=rep_ids).order_by("rep_id")
    loads = {load.rep_id: load for load in query}
    if missing := rep_ids - set(loads):
        rep_loads_ensure(missing, now=now)
        loads = {load.rep_id: load for load in query.all()}
    return loads


def _store(
    lead: Lead,
    decision: engine.Decision,
    *,
    kind: str = Decision.Kind.AUTO,
    actor=None,
    reason: str = "",
    rep_timezone: str | None = None,
    supersedes: bool = True,
) -> Decision:
    if supersedes:  # the lead has an effective decision (known from its locked read)
        Decision.objects.filter(lead=lead, effective=True).update(effective=False)
    stored = Decision.objects.create(
        lead=lead,
        kind=kind,
        actor=actor,
        reason=reason,
        ruleset_version=decision.ruleset_version,
        rule_id=decision.rule_id,
        rule_name=decision.rule_name,
        method=decision.method,
        pool_id=decision.pool_id,
        rep_id=decision.rep_id,
        outcome=decision.outcome,
        rotation=decision.rotation,
        payload=decision.to_dict(),
    )
    if kind == Decision.Kind.AUTO and lead.routed_rule is None:
        Lead.objects.filter(pk=lead.pk).update(routed_rule=decision.rule_name)
        lead.routed_rule = decision.rule_name
    data = {"decision": stored.pk, "rule": decision.rule_name, "method": decision.method}
    if decision.outcome == "assigned":
        lead_assign(
            lead=lead, rep_id=decision.rep_id, actor=actor, data=data, rep_timezone=rep_timezone
        )
    elif lead.owner_id is not None:  # an owned lead goes back to wait (a decline, an SLA step)
        lead_unassign(lead=lead, status=decision.outcome, actor=actor, data=data)
    elif lead.status != decision.outcome:
        lead_transition(
            lead_id=lead.pk,
            status=decision.outcome,
            actor=actor,
            reason=f"Routing: {decision.rule_name or 'no rule matched'}",
        )
    return stored


def _write_state(row: PoolState, before: engine.PoolState, update: engine.StateUpdate) -> None:
    after = engine.apply_update(before, update)
    row.last_rep_id = after.last_rep_id
    row.assigned = {str(k): v for k, v in after.assigned.items()}
    row.credits = {str(k): v for k, v in after.credits.items()}
    row.last_assigned_at = {str(k): v.isoformat() for k, v in after.last_assigned_at.items()}
    row.save()


def lead_reassign(*, lead_id: int, rep_id: int, actor, reason: str) -> Decision:
    """A manager hands a lead to another rep by hand. It is a decision too (kind manual),
    kept out of rotation counts; the reason is required."""
    reason = reason.strip()
    if not reason:
        raise RoutingError("Give a reason for the reassignment.")
    now = timezone.now()
    rep = Rep.objects.select_related("user").filter(pk=rep_id).first()
    if rep is None or not rep.active:
        raise RoutingError("Choose an active rep.")
    with transaction.atomic():
        lead = Lead.objects.select_for_update(of=("self",)).get(pk=lead_id)
        # Routing's lock order: the lead, then the reps' load rows (by id).
        _lock_loads({rep_id} | ({lead.owner_id} if lead.owner_id else set()), now)
        return _reassign(lead, rep, actor=actor, reason=reason, now=now)


def _reassign(lead: Lead, rep: Rep, *, actor, reason: str, now) -> Decision:
    rep_id = rep.pk
    if lead.status not in OPEN_STATUSES:
        raise RoutingError(f"{a_lead(lead.status)} cannot be reassigned.")
    if lead.owner_id == rep_id:
        raise RoutingError(f"The lead is already {rep}'s.")
    snapshot = rep_snapshots(now=now, rep_ids=[rep_id])[rep_id]
    warnings = [str(r) for r in rep_eligibility(snapshot, LeadNeeds(allow_away=True), now)]
    payload = {
        "kind": "manual",
        "outcome": "assigned",
        "rep_id": rep_id,
        "from_rep_id": lead.owner_id,
        "reason": reason,
        "eligibility_warnings": warnings,
        "decided_at": now.isoformat(),
        "explanation": [
            f"Reassigned by hand by {actor} to {rep}: {reason}",
            *(
                [f"{rep} was not eligible ({', '.join(warnings)}) and got it anyway."]
                if warnings
                else []
            ),
        ],
    }
    try:
        return _store_plain(lead, rep, "manual", payload, kind=Decision.Kind.MANUAL, actor=actor)
    except LeadTransitionError as exc:
        raise RoutingError(str(exc)) from None


def decision_refund(*, lead_id: int) -> bool:
    """Take a junk lead back out of its pool's fairness counts, once. True if refunded."""
    with transaction.atomic():
        decision = (
            Decision.objects.filter(
                lead_id=lead_id, effective=True, rotation=True, refunded_at=None
            )
            .exclude(pool=None)
            .first()
        )
        if decision is None or decision.rep_id is None:
            return False
        row = PoolState.objects.select_for_update().filter(pool_id=decision.pool_id).first()
        locked = Decision.objects.select_for_update().get(pk=decision.pk)
        if row is None or locked.refunded_at is not None:
            return False
        pool = Pool.objects.get(pk=decision.pool_id)
        before = engine_states([row])[row.pool_id]
        settings = pool_settings_from(pool.settings, {})
        after = engine.refund(
            before, decision.rep_id, engine.Pool(pool.pk, pool.name, pool.method, settings=settings)
        )
        row.assigned = {str(k): v for k, v in after.assigned.items()}
        row.credits = {str(k): v for k, v in after.credits.items()}
        row.save(update_fields=["assigned", "credits", "updated_at"])
        locked.refunded_at = timezone.now()
        locked.save(update_fields=["refunded_at"])
        return True


def leads_pending(*, older_than: timedelta, limit: int = 500) -> list[int]:
    """Leads still waiting for routing after ``older_than``: the sweep's work list."""
    cutoff = timezone.now() - older_than
    return list(
        Lead.objects.filter(status="new", is_partial=False, captured_at__lte=cutoff)
        .order_by("captured_at")
        .values_list("pk", flat=True)[:limit]
    )


# --- After assignment: declines, SLA steps, claim queues --------------------------------


def _open_owned(lead: Lead) -> bool:
    return lead.owner_id is not None and lead.status in OPEN_STATUSES and lead.status != "queued"


def previous_owners(lead_id: int) -> set[int]:
    """Every rep this lead was ever given to (by any decision)."""
    return set(
        Decision.objects.filter(lead_id=lead_id, rep__isnull=False).values_list("rep_id", flat=True)
    )


def decliners(lead_id: int) -> set[int]:
    return {
        data["rep"]
        for data in LeadEvent.objects.filter(
            lead_id=lead_id, kind=LeadEvent.Kind.DECLINED
        ).values_list("data", flat=True)
        if isinstance(data, dict) and data.get("rep")
    }


def lead_decline(*, lead_id: int, rep_id: int, reason: str, actor=None) -> Decision:
    """The owner says no: the decline is an event, and the lead is routed again by the rules
    without any rep who declined it (to triage when nobody is left). Only the owner may
    decline, before working it (assigned or accepted)."""
    reason = reason.strip()
    if not reason:
        raise RoutingError("Give a reason for declining.")
    with transaction.atomic():
        lead = Lead.objects.select_for_update(of=("self",)).get(pk=lead_id)
        if lead.owner_id != rep_id:
            raise RoutingError("Only the lead's owner can decline it.")
        if lead.status not in {"assigned", "accepted"}:
            raise RoutingError(f"{a_lead(lead.status)} cannot be declined.")
        LeadEvent.objects.create(
            lead=lead,
            kind=LeadEvent.Kind.DECLINED,
            actor=actor,
            data={"rep": rep_id, "reason": reason},
        )
        how = _Routing(
            takes=lambda lead: lead.owner_id == rep_id,
            excluded=frozenset(decliners(lead_id)),
            kind=Decision.Kind.DECLINE,
            actor=actor,
            reason=reason,
        )
        decision = _route(lead_id, how)
        if decision is None:  # pragma: no cover - the lead is locked and checked above
            raise RoutingError("The lead could not be routed again.")
        return decision


def lead_sla_reassign(*, lead_id: int, reason: str) -> Decision | None:
    """An SLA breach: hand the lead to the next eligible rep of the pool it was routed to,
    never back to a previous owner. None when it has no pool or nobody is eligible (the
    ladder moves on to escalation)."""
    pool_id = (
        Decision.objects.filter(lead_id=lead_id, rep__isnull=False, pool__isnull=False)
        .order_by("-created_at", "-pk")
        .values_list("pool_id", flat=True)
        .first()
    )
    if pool_id is None:
        return None
    how = _Routing(
        takes=_open_owned,
        excluded=frozenset(previous_owners(lead_id)),
        pool_id=pool_id,
        kind=Decision.Kind.SLA,
        reason=reason,
    )
    return _route(lead_id, how)


def lead_escalate(*, lead_id: int, reason: str) -> Decision | None:
    """An SLA breach past the reassignments: the lead goes to the manager of the team it
    was routed in (the owner's team otherwise); to triage when that manager holds their
    ceiling of open escalated leads (``reps.availability.escalations_left``). None when
    there is no manager, or the manager holds it already."""
    now = timezone.now()
    with transaction.atomic():
        lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead_id)
        if lead.status not in OPEN_STATUSES:
            return None
        last_pool = (
            Decision.objects.filter(lead=lead, pool__isnull=False)
            .order_by("-created_at", "-pk")
            .values_list("pool__team_id", flat=True)
            .first()
        )
        team_id = last_pool or (lead.owner.team_id if lead.owner_id else None)
        manager = (
            Rep.objects.filter(team_id=team_id, role=Rep.Role.MANAGER, active=True)
            .order_by("pk")
            .first()
            if team_id
            else None
        )
        if manager is None or manager.pk == lead.owner_id:
            return None
        _lock_loads({manager.pk} | ({lead.owner_id} if lead.owner_id else set()), now)
        # Counted after the lock: escalations to this manager are taken one at a time.
        snapshot = with_escalated_counts(rep_snapshots(now=now, rep_ids=[manager.pk]), [manager.pk])
        counted = snapshot[manager.pk]
        if escalations_left(counted) == 0:
            if lead.status == "triage":
                return None
            payload = {
                "kind": Decision.Kind.SLA,
                "outcome": "triage",
                "from_rep_id": lead.owner_id,
                "reason": reason,
                "decided_at": now.isoformat(),
                "explanation": [
                    f"Moved to triage: the team manager, {manager}, holds "
                    f"{counted.escalated_count} open escalated leads, their ceiling: {reason}"
                ],
            }
            return _store_plain(lead, None, "triage", payload, kind=Decision.Kind.SLA)
        payload = {
            "kind": Decision.Kind.SLA,
            "outcome": "assigned",
            "rep_id": manager.pk,
            "from_rep_id": lead.owner_id,
            "reason": reason,
            "decided_at": now.isoformat(),
            "explanation": [f"Escalated to the team manager, {manager}: {reason}"],
        }
        stored = _store_plain(lead, manager, "escalation", payload, kind=Decision.Kind.SLA)
        _escalated_to(counted)
        return stored


def lead_sla_triage(*, lead_id: int, reason: str) -> Decision | None:
    """The last SLA step: the lead leaves its owner for the triage queue."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update(of=("self",)).get(pk=lead_id)
        if lead.status not in OPEN_STATUSES or lead.status == "triage":
            return None
        if lead.owner_id:
            _lock_loads({lead.owner_id}, timezone.now())
        payload = {
            "kind": Decision.Kind.SLA,
            "outcome": "triage",
            "from_rep_id": lead.owner_id,
            "reason": reason,
            "decided_at": timezone.now().isoformat(),
            "explanation": [f"Moved to triage: {reason}"],
        }
        return _store_plain(lead, None, "triage", payload, kind=Decision.Kind.SLA)


def _store_plain(
    lead: Lead, rep: Rep | None, method: str, payload: dict, *, kind: str, actor=None, pool_id=None
) -> Decision:
    """Store a decision made by a person or a step rather than the engine, and apply it."""
    outcome = payload["outcome"]
    Decision.objects.filter(lead=lead, effective=True).update(effective=False)
    stored = Decision.objects.create(
        lead=lead,
        kind=kind,
        actor=actor,
        reason=payload.get("reason", ""),
        rep=rep,
        pool_id=pool_id,
        method=method,
        outcome=outcome,
        rotation=False,
        payload=payload,
    )
    data = {"decision": stored.pk, "reason": payload.get("reason", ""), "method": method}
    if outcome == "assigned":
        lead_assign(lead=lead, rep_id=rep.pk, actor=actor, data=data, rep_timezone=rep.timezone)
    elif lead.owner_id is not None:
        lead_unassign(lead=lead, status=outcome, actor=actor, data=data)
    else:
        lead_transition(lead_id=lead.pk, status=outcome, actor=actor, reason=data["reason"])
    announce_routed(lead, stored)
    return stored


# A claim is the rep taking the lead themselves, so presence "away" (as for a manager's
# reassignment) and working hours do not hold it back; absence and the caps do.
CLAIM_NEEDS = LeadNeeds(check_hours=False, allow_away=True)


def _claim_refusal(rep: RepSnapshot, reasons: list[Reason]) -> str:
    caps = {
        Reason.CAP_OPEN: f"at your cap of {rep.max_open} open leads",
        Reason.CAP_DAY: f"at your cap of {rep.max_per_day} leads a day",
        Reason.CAP_WEEK: f"at your cap of {rep.max_per_week} leads a week",
    }
    said = [caps.get(r) or REASON_WORDS.get(r, str(r)) for r in reasons]
    return f"You cannot claim a lead now: you are {', '.join(said)}."


def lead_claim(*, lead_id: int, rep: Rep, actor=None) -> Decision:
    """A member takes a lead waiting in their claim queue. Two claiming at once: the lead's
    row lock lets one in; the other is told who has it. A member holding ``claim_limit``
    claimed leads not yet accepted must accept one first. A member who is absent or at a
    cap (``rep_eligibility`` with ``CLAIM_NEEDS``) is refused; the caps are read from their
    load row under its lock, so two claims by one rep cannot both pass the last place."""
    now = timezone.now()
    with transaction.atomic():
        lead = (
            Lead.objects.select_for_update(of=("self",))
            .select_related("owner__user")
            .get(pk=lead_id)
        )
        if lead.status != "queued":
            who = f" by {lead.owner}" if lead.owner_id else ""
            raise RoutingError(f"This lead was already claimed{who} ({lead.status}).")
        pool = claim_queue_of(lead.pk)
        if pool is None:
            raise RoutingError("This lead is not in a claim queue.")
        if rep.pk not in queue_members(pool) or not rep.active:
            raise RoutingError(f"Only members of {pool.name} can claim its leads.")
        limit = pool_settings_from(pool.settings, {}).claim_limit
        if limit:
            held = Decision.objects.filter(
                kind=Decision.Kind.CLAIM,
                effective=True,
                rep=rep,
                pool=pool,
                lead__status="assigned",
            ).count()
            if held >= limit:
                raise RoutingError(
                    f"You hold {held} claimed leads not yet accepted (the limit of {pool.name} "
                    f"is {limit}): accept one first."
                )
        load = _lock_loads({rep.pk}, now).get(rep.pk)
        counted = rep_snapshots(now=now, rep_ids=[rep.pk])[rep.pk]
        open_count, day_count, week_count = load_counts(load, counted.timezone, now)
        counted = replace(
            counted, open_count=open_count, day_count=day_count, week_count=week_count
        )
        if reasons := rep_eligibility(counted, CLAIM_NEEDS, now):
            raise RoutingError(_claim_refusal(counted, reasons))
        payload = {
            "kind": Decision.Kind.CLAIM,
            "outcome": "assigned",
            "rep_id": rep.pk,
            "pool_id": pool.pk,
            "decided_at": now.isoformat(),
            "explanation": [f"Claimed from the queue {pool.name} by {rep}."],
        }
        return _store_plain(
            lead, rep, "claim", payload, kind=Decision.Kind.CLAIM, actor=actor, pool_id=pool.pk
        )


def lead_release(*, lead_id: int, rep: Rep, actor=None) -> Decision:
    """The rep who claimed a lead gives it back to its queue, before working it."""
    now = timezone.now()
    with transaction.atomic():
        lead = Lead.objects.select_for_update(of=("self",)).get(pk=lead_id)
        if lead.owner_id != rep.pk:
            raise RoutingError("Only the rep holding the lead can release it.")
        if lead.status != "assigned":
            raise RoutingError(
                f"{a_lead(lead.status)} cannot be released: only a claimed lead not yet "
                "accepted goes back to its queue."
            )
        pool = claim_queue_of(lead.pk)
        if pool is None:
            raise RoutingError("This lead was not claimed from a queue.")
        _lock_loads({rep.pk}, now)
        payload = {
            "kind": Decision.Kind.RELEASE,
            "outcome": "queued",
            "from_rep_id": rep.pk,
            "pool_id": pool.pk,
            "decided_at": now.isoformat(),
            "explanation": [f"Released back to the queue {pool.name} by {rep}."],
        }
        return _store_plain(
            lead, None, "release", payload, kind=Decision.Kind.RELEASE, actor=actor, pool_id=pool.pk
        )
