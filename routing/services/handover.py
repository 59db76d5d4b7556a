"""The day a rep leaves: their open leads handed on, through the rules (the rep excluded)
or to a named successor, each lead with its own decision (kind handover) saying why.

It happens when the rep is switched off (``reps.signals.rep_deactivated``), when time off
of at least ``LEADHUB_HANDOVER_TIME_OFF_DAYS`` begins (``handovers_due``, checked by the
ticker), and on demand (admin, ``POST /api/reps/{id}/handover/``). A dry run says what
would move where without writing: it decides lead after lead on a copy of the world in
which each earlier lead of the run is already placed (caps and rotation move as they would).
"""

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from leadhub.leads.models import OPEN_STATUSES, Lead
from reps.models import Rep, TimeOff
from routing import engine
from routing.models import Decision, Handover
from routing.selectors import lead_snapshot
from routing.services.core import Move, RoutingError, by_rules, route_with
from routing.services.moves import MANUAL_NEEDS, lead_reassign
from routing.world import routing_inputs


@dataclass(frozen=True)
class HandoverItem:
    """One lead of a handover: where it goes (or would go), and why."""

    lead_id: int
    lead: str
    status: str
    outcome: str  # assigned, queued, triage, nurture; "" when refused
    rep_id: int | None
    pool_id: int | None
    explanation: tuple[str, ...]
    decision_id: int | None = None  # None in a dry run
    error: str = ""


def handover_leads(rep_id: int) -> list[Lead]:
    """The rep's open leads, oldest assignment first: what a handover moves."""
    return list(
        Lead.objects.select_related("account")
        .filter(owner_id=rep_id, status__in=sorted(OPEN_STATUSES))
        .order_by("assigned_at", "pk")
    )


def _decider(rep: Rep, successor: Rep | None, reason: str):
    if successor is None:
        return by_rules
    why = f"Handed over from {rep} to {successor}: {reason}"

    def decide(snapshot, rules, world, now):
        return engine.decide_for_rep(
            snapshot,
            successor.pk,
            world,
            now,
            why=why,
            method="handover",
            needs=MANUAL_NEEDS,
            blocking=False,
        )

    return decide


def _placed(world: engine.World, decision: engine.Decision, from_rep: int) -> engine.World:
    """The world after ``decision`` (a dry run's running copy): the new owner's counters
    up, the old owner's open count down, the pool's rotation moved."""
    reps = dict(world.reps)
    if decision.outcome == engine.ASSIGNED and decision.rep_id in reps:
        r = reps[decision.rep_id]
        reps[r.id] = replace(
            r,
            open_count=r.open_count + 1,
            day_count=r.day_count + 1,
            week_count=r.week_count + 1,
        )
    if from_rep in reps:
        r = reps[from_rep]
        reps[from_rep] = replace(r, open_count=max(0, r.open_count - 1))
    states = dict(world.states)
    if decision.state_update is not None:
        pool_id = decision.state_update.pool_id
        states[pool_id] = engine.apply_update(world.state_of(pool_id), decision.state_update)
    return replace(world, reps=reps, states=states)


def _preview(rep: Rep, successor: Rep | None, reason: str, leads: list[Lead]) -> list[HandoverItem]:
    now = timezone.now()
    inputs = routing_inputs(now=now)
    world = replace(inputs.world, excluded=frozenset({rep.pk}))
    decide = _decider(rep, successor, reason)
    items = []
    for lead in leads:
        decision = decide(lead_snapshot(lead), inputs.rules, world, now)
        items.append(
            HandoverItem(
                lead.pk,
                str(lead),
                lead.status,
                decision.outcome,
                decision.rep_id,
                decision.pool_id,
                decision.explanation,
            )
        )
        world = _placed(world, decision, rep.pk)
    return items


def rep_handover(
    *,
    rep: Rep,
    reason: str,
    successor: Rep | None = None,
    actor: Any = None,
    dry_run: bool = False,
    trigger: str = Handover.Trigger.ON_DEMAND,
) -> list[HandoverItem]:
    """Hand ``rep``'s open leads on (see the module). Each lead moves in its own
    transaction, under routing's locks: a lead the rep no longer owns when its turn comes
    (worked, closed or moved meanwhile) is left alone, and no cap is exceeded by routing
    running at the same time. Returns one item per lead."""
    reason = reason.strip()
    if not reason:
        raise RoutingError("Give a reason for the handover.")
    if successor is not None:
        if successor.pk == rep.pk:
            raise RoutingError("The successor must be another rep.")
        if not successor.active:
            raise RoutingError(f"{successor} is switched off: choose an active successor.")
    leads = handover_leads(rep.pk)
    if dry_run:
        return _preview(rep, successor, reason, leads)
    record = Handover.objects.create(
        rep=rep, successor=successor, trigger=trigger, reason=reason, actor=actor
    )
    return _run(record, rep, successor, reason, actor, leads)


def _run(record, rep, successor, reason, actor, leads=None) -> list[HandoverItem]:
    leads = handover_leads(rep.pk) if leads is None else leads
    items = [_hand_on(lead, rep, successor, reason, actor) for lead in leads]
    record.moved = sum(1 for i in items if i.decision_id is not None)
    record.refused = sum(1 for i in items if i.error)
    record.finished_at = timezone.now()
    record.save(update_fields=["moved", "refused", "finished_at"])
    return items


def _hand_on(lead: Lead, rep: Rep, successor: Rep | None, reason: str, actor) -> HandoverItem:
    why = f"Handover from {rep}: {reason}"
    try:
        if successor is not None:
            stored = lead_reassign(
                lead_id=lead.pk,
                rep_id=successor.pk,
                actor=actor,
                reason=why,
                kind=Decision.Kind.HANDOVER,
            )
        else:
            move = Move(
                takes=lambda locked: locked.owner_id == rep.pk and locked.status in OPEN_STATUSES,
                excluded=frozenset({rep.pk}),
                kind=Decision.Kind.HANDOVER,
                actor=actor,
                reason=why,
            )
            stored = route_with(lead.pk, move)
    except RoutingError as exc:
        return HandoverItem(lead.pk, str(lead), lead.status, "", None, None, (), None, str(exc))
    if stored is None:
        return HandoverItem(
            lead.pk,
            str(lead),
            lead.status,
            "",
            None,
            None,
            (),
            None,
            f"Left alone: no longer {rep}'s open lead.",
        )
    return HandoverItem(
        lead.pk,
        str(lead),
        lead.status,
        stored.outcome,
        stored.rep_id,
        stored.pool_id,
        tuple(stored.payload.get("explanation", ())),
        stored.pk,
    )


def handovers_due(now=None) -> list[int]:
    """Time off of at least ``LEADHUB_HANDOVER_TIME_OFF_DAYS`` that has begun and not ended,
    whose rep still holds open leads and which no finished handover has handled: the ids
    the ticker hands on."""
    now = now or timezone.now()
    long_enough = timedelta(days=settings.LEADHUB_HANDOVER_TIME_OFF_DAYS)
    candidates = (
        TimeOff.objects.filter(start__lte=now, end__gt=now, rep__active=True)
        .exclude(
            pk__in=Handover.objects.filter(
                time_off__isnull=False, finished_at__isnull=False
            ).values("time_off_id")
        )
        .filter(rep__leads__status__in=sorted(OPEN_STATUSES))
        .values_list("pk", "start", "end")
        .distinct()
    )
    return [pk for pk, start, end in candidates if end - start >= long_enough]


# A time-off handover still unfinished after this long was cut short (the worker died):
# the next check runs it again (each lead's move checks it is still the rep's).
STALE_HANDOVER = timedelta(minutes=10)


def time_off_handover(*, time_off_id: int) -> list[HandoverItem]:
    """Hand on the leads of a rep whose long time off began, once per time off: the
    handover row is one-to-one with the time off, so a concurrent run stops at its insert,
    and a finished one is not repeated."""
    time_off = TimeOff.objects.select_related("rep__user").filter(pk=time_off_id).first()
    if time_off is None:
        return []
    days = (time_off.end - time_off.start).days
    reason = f"{days} days of time off from {time_off.start:%Y-%m-%d}" + (
        f" ({time_off.reason})" if time_off.reason else ""
    )
    try:
        with transaction.atomic():
            record = Handover.objects.create(
                rep=time_off.rep,
                trigger=Handover.Trigger.TIME_OFF,
                time_off=time_off,
                reason=reason,
            )
    except IntegrityError:
        record = Handover.objects.get(time_off=time_off)
        if record.finished_at or record.started_at > timezone.now() - STALE_HANDOVER:
            return []
    return _run(record, time_off.rep, None, reason, None)


def rep_deactivated_handover(*, rep_id: int) -> list[HandoverItem]:
    """Hand on the leads of a rep who was switched off (safe to run twice: the second
    finds no open lead of theirs)."""
    rep = Rep.objects.select_related("user").filter(pk=rep_id, active=False).first()
    if rep is None or not handover_leads(rep.pk):
        return []
    return rep_handover(
        rep=rep, reason="the rep was switched off", trigger=Handover.Trigger.DEACTIVATED
    )
