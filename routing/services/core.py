"""The one way a lead moves: lock it, let the engine decide, lock what the decision
involves, decide again on what was read under lock, store the decision and apply it.

Every kind of decision (routing by the rules, a decline, an SLA reassignment, escalation
or triage, a claim, a release, a manual reassignment, a handover, a re-route) goes
through ``route_with``: only the engine call (``Move.decide``), the leads it takes
(``Move.takes``) and the decision's kind differ. ``store`` is the one function that writes a
decision, and its payload is always ``engine.Decision.to_dict()`` plus who moved it from
whom and why.

Assignment locks the lead, runs the pure engine on this process's cached copy of the world
(``routing.world``) to learn which pools and reps are involved, locks, in a fixed order,
those pool-state rows (by pool id) and the candidate reps' load rows (``reps.RepLoad``, by
rep id), and runs the engine again on the pool states and load counts read under those
locks. If the second decision needs something the first did not lock, the transaction is
abandoned and retried with the larger set; the last attempt locks every pool and rep.
Concurrent moves therefore never exceed a cap or skip a turn, on PostgreSQL by row locks
and on SQLite by its single writer. Every writer takes the same order (one lead, then pool
states, then load rows): no two moves can deadlock each other.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from leadhub.leads.models import Lead
from leadhub.leads.services import (
    LeadTransitionError,
    lead_assign,
    lead_stamp_routed_rule,
    lead_transition,
    lead_unassign,
)
from reps.availability import RepSnapshot, escalations_left
from reps.load import load_counts, rep_loads_ensure
from reps.models import RepLoad
from routing import engine
from routing.engine.experiments import ArmDecision, decide_with_experiments
from routing.models import Decision, PoolState
from routing.selectors import engine_states, lead_snapshot, with_escalated_counts
from routing.signals import announce_escalation_ceiling, announce_routed
from routing.world import routing_inputs, running_experiments

MAX_ATTEMPTS = 3
EMPTY_RULES = engine.compile_ruleset(engine.RuleSet(None, ()))

# The engine's call for one move: (lead snapshot, compiled rules, world, now) → decision.
Decide = Callable[[dict[str, Any], engine.CompiledRuleSet, engine.World, datetime], engine.Decision]


class RoutingError(ValueError):
    pass


def lead_is_routable(lead: Lead) -> bool:
    """Routing takes new leads that are complete, or partial ones abandoned (unchanged for
    ``LEADHUB_PARTIAL_ROUTE_MINUTES``; ``leads_pending`` finds those); triage, nurture and
    owned leads are not its."""
    if lead.status != "new":
        return False
    return not lead.is_partial or lead.updated_at <= partial_cutoff()


def partial_cutoff(now: datetime | None = None) -> datetime:
    """A partial lead last changed before this is abandoned, and routed."""
    minutes = settings.LEADHUB_PARTIAL_ROUTE_MINUTES
    return (now or timezone.now()) - timedelta(minutes=minutes)


def by_rules(snapshot, rules, world, now) -> engine.Decision:
    """The rules in force decide, unless the lead falls in a running A/B experiment's
    segment: then its arm does (an ``ArmDecision``, which ``store`` records). The
    experiments come compiled from this process's cached set-up (``routing.world``)."""
    return decide_with_experiments(snapshot, rules, world, now, running_experiments())


@dataclass(frozen=True)
class Move:
    """What a call to ``route_with`` does."""

    # The engine's call (the rules by default).
    decide: Decide = by_rules
    # Which leads it takes: checked on the locked lead; False leaves it alone, a
    # RoutingError refuses it with a reason.
    takes: Callable[[Lead], bool] = lead_is_routable
    # Reps it must not choose (World.excluded).
    excluded: frozenset[int] = frozenset()
    kind: str = Decision.Kind.AUTO
    actor: Any = None
    reason: str = ""
    # When the engine finds nobody: None leaves the lead as it is (the caller moves on);
    # else it is called with the decision and the world read under lock, and raises the
    # refusal (a claim by a rep at a cap).
    refuse: Callable[[engine.Decision, engine.World], None] | None = None
    # Store a decision that leaves the lead in triage where it already is? (A re-route
    # does, to explain it again; an SLA step does not.)
    restate_triage: bool = True


def route_with(lead_id: int, move: Move) -> Decision | None:
    """Make and store one move of a lead; the stored decision, or None when the move does
    not apply (the lead no longer qualifies, or the engine found nobody)."""
    now = timezone.now()
    inputs = routing_inputs(now=now)
    pools: set[int] = set()
    reps: set[int] = set()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if attempt == MAX_ATTEMPTS:
            pools, reps = set(inputs.world.pools), set(inputs.world.reps)
        try:
            return _assign(lead_id, inputs, pools, reps, now, move)
        except _Retry as retry:
            pools |= retry.pools
            reps |= retry.reps
        except LeadTransitionError as exc:
            raise RoutingError(str(exc)) from None
    raise RoutingError(f"Lead {lead_id} could not be routed.")  # pragma: no cover


class _Retry(Exception):
    def __init__(self, pools: set[int], reps: set[int]) -> None:
        self.pools, self.reps = pools, reps


def _involved(decision: engine.Decision) -> tuple[set[int], set[int]]:
    pools = {decision.state_update.pool_id} if decision.state_update else set()
    reps = {c.rep_id for c in decision.candidates}
    if decision.rep_id is not None:
        reps.add(decision.rep_id)
    return pools, reps


def _decide(snapshot, rules, world: engine.World, now, move: Move) -> engine.Decision:
    if move.excluded:
        world = replace(world, excluded=move.excluded)
    return move.decide(snapshot, rules, world, now)


def _assign(
    lead_id: int, inputs, pool_ids: set[int], rep_ids: set[int], now, move: Move
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
        if lead is None or not move.takes(lead):
            return None
        snapshot = lead_snapshot(lead)
        if not pool_ids and not rep_ids:
            pool_ids, rep_ids = _involved(_decide(snapshot, rules, world, now, move))
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
        loads = lock_loads(rep_ids, now)
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
        decision = _decide(snapshot, rules, world, now, move)
        needed_pools, needed_reps = _involved(decision)
        if not needed_pools <= pool_ids or not needed_reps <= rep_ids:
            raise _Retry(needed_pools | pool_ids, needed_reps | rep_ids)
        if decision.outcome == engine.NOBODY:
            if move.refuse is not None:
                move.refuse(decision, world)
            return None
        if not move.restate_triage and decision.outcome == lead.status == "triage":
            return None
        if decision.outcome == engine.ASSIGNED and decision.rep_id == lead.owner_id:
            # The rules chose the owner again (a re-route): the lead stays, and the pool's
            # rotation does not count it twice.
            decision = replace(decision, state_update=None)
        chosen = world.reps.get(decision.rep_id) if decision.rep_id is not None else None
        stored = store(
            lead,
            decision,
            kind=move.kind,
            actor=move.actor,
            reason=move.reason,
            rep_timezone=chosen.timezone if chosen else None,
            supersedes=lead.decided,
        )
        if decision.state_update is not None:
            state = next(s for s in locked_states if s.pool_id == decision.state_update.pool_id)
            _write_state(state, world.state_of(state.pool_id), decision.state_update)
        if chosen is not None and decision.method in engine.ESCALATION_METHODS:
            _escalated_to(chosen)
        return stored


def _escalated_to(manager: RepSnapshot) -> None:
    """``manager`` (as counted under lock, before this lead) took an escalated lead: when
    it fills their ceiling they are told, once, that escalations now go to triage."""
    if escalations_left(manager) == 1:
        announce_escalation_ceiling(rep_id=manager.id, ceiling=manager.max_escalated)


def lock_loads(rep_ids: set[int], now) -> dict:
    """Lock the reps' load rows in rep id order, making any that are missing first."""
    query = RepLoad.objects.select_for_update().filter(rep_id__in=rep_ids).order_by("rep_id")
    loads = {load.rep_id: load for load in query}
    if missing := rep_ids - set(loads):
        rep_loads_ensure(missing, now=now)
        loads = {load.rep_id: load for load in query.all()}
    return loads


def store(
    lead: Lead,
    decision: engine.Decision,
    *,
    kind: str = Decision.Kind.AUTO,
    actor=None,
    reason: str = "",
    rep_timezone: str | None = None,
    supersedes: bool = True,
) -> Decision:
    """Write a decision of any kind and apply it to the lead (the caller holds the lead's
    lock and the load rows of its old and new owner). The one payload format: the engine's
    ``to_dict()`` plus ``kind``, ``reason`` and ``from_rep_id``."""
    if supersedes:  # the lead has an effective decision (known from its locked read)
        Decision.objects.filter(lead=lead, effective=True).update(effective=False)
    payload = {
        **decision.to_dict(),
        "kind": str(kind),
        "reason": reason,
        "from_rep_id": lead.owner_id,
    }
    placement = decision.placement if isinstance(decision, ArmDecision) else None
    stored = Decision.objects.create(
        lead=lead,
        kind=kind,
        actor=actor,
        reason=reason,
        ruleset_version=decision.ruleset_version,
        rule_id=decision.rule_id,
        rule_name=decision.rule_name,
        method=decision.method or decision.action,
        pool_id=decision.pool_id,
        rep_id=decision.rep_id,
        outcome=decision.outcome,
        rotation=decision.rotation,
        payload=payload,
        experiment_id=placement.experiment_id if placement else None,
        arm=placement.arm if placement else "",
    )
    if kind == Decision.Kind.AUTO:
        lead_stamp_routed_rule(lead=lead, rule_name=decision.rule_name)
    data = {
        "decision": stored.pk,
        "rule": decision.rule_name,
        "method": stored.method,
        "reason": reason,
    }
    if decision.outcome == engine.ASSIGNED and decision.rep_id == lead.owner_id:
        pass  # the owner chosen again: nothing moves (a re-route that confirms them)
    elif decision.outcome == engine.ASSIGNED:
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
            reason=reason or f"Routing: {decision.rule_name or 'no rule matched'}",
        )
    announce_routed(lead, stored)
    return stored


def _write_state(row: PoolState, before: engine.PoolState, update: engine.StateUpdate) -> None:
    after = engine.apply_update(before, update)
    row.last_rep_id = after.last_rep_id
    row.assigned = {str(k): v for k, v in after.assigned.items()}
    row.credits = {str(k): v for k, v in after.credits.items()}
    row.last_assigned_at = {str(k): v.isoformat() for k, v in after.last_assigned_at.items()}
    row.save()
