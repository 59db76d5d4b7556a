"""SLA clocks: started when a lead is assigned (or queued), stopped by accepting, touching,
declining or closing it, paused by the policy's pause statuses, and acted on by the sweep.

Three kinds of code live here:

- **Policies** (``policy_for``): the active SLA policies compiled once per process (the
  condition tree, the calendar, the ladder), kept under ``routing.world``'s token.
- **Receivers** (``on_routed``, ``on_changed``), called inside the transaction that routed
  or changed the lead (its row is locked): clocks move with the lead, all or nothing.
- **The sweep** (``clocks_sweep``): finds running clocks whose ``next_at`` has passed, via
  a partial index, and does each one's next step exactly once:

  * every step runs in one transaction that first locks the lead (routing's lock order:
    lead, then everything else), then claims the clock with a conditional update of its
    ``stage`` (``WHERE status = 'running' AND stage = <seen> AND next_at <= now``), then
    does the step through the services (the routing services for a reassignment, an
    escalation, triage), records it as a lead event, and queues the notifications in the
    outbox. Two sweeps at once: one update wins, the other changes no row and moves on.
    A worker killed half-way: the transaction rolls back, the clock is still due, and the
    next sweep does the step;
  * reminders (the common case) are done in batches: one transaction locks a batch of
    leads (``SKIP LOCKED`` on PostgreSQL: a lead being changed right now waits for the next
    tick) and their due clocks, and writes the events and notifications in bulk.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from leadhub.leads.models import CLOSED_STATUSES, Lead, LeadEvent
from leadhub.leads.services import lead_record, lead_record_many
from routing import engine, world
from routing.engine.conditions import Facts, Interner, Node, parse_condition
from routing.models import Decision, Pool
from routing.selectors import lead_snapshot, pool_settings_from
from sla.calendars import BusinessCalendarSpec, business_deadline, business_time_between
from sla.models import SlaClock, SlaPolicy, SlaStep
from sla.selectors import calendar_spec

logger = logging.getLogger(__name__)

Kind = SlaClock.Kind
Status = SlaClock.Status
Action = SlaStep.Action
# A claim-queue clock's ladder: escalate to the queue's team manager, then triage.
CLAIM_LADDER = (Action.ESCALATE, Action.TRIAGE)
BATCH = 1000


# --- Policies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledPolicy:
    id: int
    name: str
    condition: Node
    comparisons: int
    calendar: BusinessCalendarSpec
    accept_minutes: int | None
    touch_minutes: int | None
    pause_statuses: frozenset[str]
    # Business minutes before a deadline to remind the owner (largest first).
    reminders: tuple[int, ...]
    # What each breach does, in order (reassignments repeated ``times``).
    ladder: tuple[str, ...]
    calendar_name: str = ""

    def window(self, kind: str) -> int | None:
        return {Kind.ACCEPT: self.accept_minutes, Kind.TOUCH: self.touch_minutes}.get(kind)


def compile_policy(policy: SlaPolicy, steps: Iterable[SlaStep]) -> CompiledPolicy:
    """A policy as the clocks use it; ``engine.RuleError`` names a bad condition node."""
    interner = Interner()
    node = parse_condition(policy.condition or {}, "condition", interner)
    steps = sorted(steps, key=lambda s: (s.position, s.pk or 0))
    ladder: list[str] = []
    for step in steps:
        if step.action == Action.REASSIGN:
            ladder.extend([Action.REASSIGN] * step.times)
        elif step.action != Action.REMIND:
            ladder.append(step.action)
    return CompiledPolicy(
        id=policy.pk,
        name=policy.name,
        condition=node,
        comparisons=len(interner.seen),
        calendar=calendar_spec(policy.calendar),
        accept_minutes=policy.accept_minutes,
        touch_minutes=policy.touch_minutes,
        pause_statuses=frozenset(policy.pause_statuses or ()),
        reminders=tuple(
            sorted({s.minutes for s in steps if s.action == Action.REMIND}, reverse=True)
        ),
        ladder=tuple(ladder),
        calendar_name=policy.calendar.name if policy.calendar else "24/7",
    )


def _load_policies() -> dict[str, Any]:
    policies = list(
        SlaPolicy.objects.filter(active=True)
        .select_related("calendar")
        .prefetch_related("steps")
        .order_by("priority", "name", "pk")
    )
    compiled = []
    for policy in policies:
        try:
            compiled.append(compile_policy(policy, policy.steps.all()))
        except (engine.RuleError, ValueError) as exc:
            logger.error("SLA policy %r is skipped: %s", policy.name, exc)
    return {"ordered": tuple(compiled), "by_id": {p.id: p for p in compiled}}


def policies() -> dict[str, Any]:
    """The active policies, compiled, in priority order (per process, under the token)."""
    return world.cached("sla.policies", _load_policies)


def policy_for(lead: Lead, now: datetime) -> CompiledPolicy | None:
    """The first active policy whose condition matches the lead."""
    ordered = policies()["ordered"]
    if not ordered:
        return None
    routing_world = world.routing_inputs(now=now).world
    snapshot = lead_snapshot(lead)
    for policy in ordered:
        facts = Facts(
            snapshot, routing_world, now, routing_world.territory_index, policy.comparisons
        )
        if policy.condition.matches(facts):
            return policy
    return None


def policy_by_id(policy_id: int | None) -> CompiledPolicy | None:
    return policies()["by_id"].get(policy_id) if policy_id is not None else None


# --- Starting, stopping, pausing ----------------------------------------------------------


def _next_at(
    start: datetime, due: datetime, window: timedelta, reminders: Sequence[int], cal, reminded
) -> datetime:
    """The reminder before ``due`` not yet sent (the earliest one still ahead), else due."""
    if reminded or not reminders:
        return due
    lead_time = timedelta(minutes=reminders[0])
    if lead_time >= window:
        return start  # the window is shorter than the reminder: remind at once
    return business_deadline(start, window - lead_time, cal)


def _start(
    lead: Lead,
    kind: str,
    minutes: int,
    now: datetime,
    policy: CompiledPolicy | None,
    *,
    rep_id: int | None,
    pool_id: int | None = None,
    breaches: int = 0,
) -> SlaClock:
    cal = policy.calendar if policy else BusinessCalendarSpec.twenty_four_seven()
    window = timedelta(minutes=minutes)
    due = business_deadline(now, window, cal)
    reminders = policy.reminders if policy and kind != Kind.CLAIM else ()
    return SlaClock(
        lead=lead,
        policy_id=policy.id if policy else None,
        kind=kind,
        rep_id=rep_id,
        pool_id=pool_id,
        started_at=now,
        due_at=due,
        next_at=_next_at(now, due, window, reminders, cal, False),
        breaches=breaches,
    )


def _end(clocks: Iterable[SlaClock], status: str, reason: str, now: datetime) -> list[SlaClock]:
    ended = []
    for clock in clocks:
        clock.status, clock.ended_at, clock.end_reason = status, now, reason[:200]
        ended.append(clock)
    if ended:
        SlaClock.objects.bulk_update(ended, ["status", "ended_at", "end_reason"])
    return ended


def _live(lead: Lead, kinds: Iterable[str] | None = None) -> list[SlaClock]:
    query = SlaClock.objects.filter(lead=lead, status__in=(Status.RUNNING, Status.PAUSED))
    if kinds is not None:
        query = query.filter(kind__in=list(kinds))
    return list(query)


def on_routed(lead: Lead, decision: Decision, now: datetime | None = None) -> list[SlaClock]:
    """The lead got a new decision: end its clocks and start those of its new state (the
    policy's accept and touch clocks for an owner; a claim clock in a claim queue). After an
    SLA step the new clocks carry the old ones' breach counts, so the ladder goes on."""
    now = now or timezone.now()
    # A lead routed automatically was new: it has no live clocks (every way out of an owner
    # or a queue ends them), so the hot path skips the look.
    old = [] if decision.kind == Decision.Kind.AUTO else _live(lead)
    carried = {c.kind: c.breaches for c in old} if decision.kind == Decision.Kind.SLA else {}
    _end(old, Status.STOPPED, f"lead {decision.get_kind_display().lower()}", now)
    new: list[SlaClock] = []
    if decision.outcome == "assigned" and decision.rep_id is not None:
        policy = policy_for(lead, now)
        if policy is not None:
            for kind in (Kind.ACCEPT, Kind.TOUCH):
                minutes = policy.window(kind)
                if minutes is None or (kind == Kind.TOUCH and lead.first_touch_at is not None):
                    continue
                new.append(
                    _start(
                        lead,
                        kind,
                        minutes,
                        now,
                        policy,
                        rep_id=decision.rep_id,
                        breaches=carried.get(kind, 0),
                    )
                )
    elif decision.outcome == "queued" and decision.pool_id is not None:
        pool = Pool.objects.get(pk=decision.pool_id)
        minutes = pool_settings_from(pool.settings, {}).claim_minutes
        policy = policy_for(lead, now)
        new.append(
            _start(
                lead,
                Kind.CLAIM,
                minutes,
                now,
                policy,
                rep_id=None,
                pool_id=pool.pk,
                breaches=carried.get(Kind.CLAIM, 0),
            )
        )
    if new:
        SlaClock.objects.bulk_create(new)
    return new


def on_changed(lead: Lead, change: str, now: datetime | None = None, **data: Any) -> None:
    """The lead changed (status, touch, release): meet, stop, pause or resume its clocks."""
    now = now or timezone.now()
    if change == "touch":
        _end(_live(lead, (Kind.ACCEPT, Kind.TOUCH)), Status.MET, f"touched ({data['touch']})", now)
        return
    if change == "release":
        _end(_live(lead), Status.STOPPED, "released", now)
        return
    new = data.get("new")
    if new in CLOSED_STATUSES:
        _end(_live(lead), Status.STOPPED, f"lead {new}", now)
        return
    if new in {"accepted", "contacted", "qualified"}:
        _end(_live(lead, (Kind.ACCEPT, Kind.CLAIM)), Status.MET, f"lead {new}", now)
    if new in {"contacted", "qualified"}:
        _end(_live(lead, (Kind.TOUCH,)), Status.MET, f"lead {new}", now)
    live = _live(lead)
    for clock in live:
        policy = policy_by_id(clock.policy_id)
        if policy is None:
            continue
        if clock.status == Status.RUNNING and new in policy.pause_statuses:
            _pause(clock, policy, now)
        elif clock.status == Status.PAUSED and new not in policy.pause_statuses:
            _resume(clock, policy, now)


def _pause(clock: SlaClock, policy: CompiledPolicy, now: datetime) -> None:
    left = max(business_time_between(now, clock.due_at, policy.calendar), timedelta(0))
    clock.status, clock.remaining_seconds = Status.PAUSED, int(left.total_seconds())
    clock.save(update_fields=["status", "remaining_seconds"])


def _resume(clock: SlaClock, policy: CompiledPolicy, now: datetime) -> None:
    left = timedelta(seconds=clock.remaining_seconds or 0)
    clock.due_at = business_deadline(now, left, policy.calendar)
    reminders = () if clock.kind == Kind.CLAIM else policy.reminders
    clock.next_at = _next_at(now, clock.due_at, left, reminders, policy.calendar, clock.reminded)
    clock.status, clock.remaining_seconds = Status.RUNNING, None
    clock.save(update_fields=["status", "remaining_seconds", "due_at", "next_at"])


# --- The sweep --------------------------------------------------------------------------


@dataclass
class SweepReport:
    reminded: int = 0
    breached: int = 0
    skipped: int = 0
    steps: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return self.reminded + self.breached


def clocks_due(*, now: datetime, limit: int) -> list[tuple[int, int, bool]]:
    """(clock id, lead id, is a reminder) of running clocks due at ``now``, oldest first,
    through the partial index on running clocks' ``next_at``."""
    rows = (
        SlaClock.objects.filter(status=Status.RUNNING, next_at__lte=now)
        .order_by("next_at", "pk")
        .values_list("pk", "lead_id", "next_at", "due_at")[:limit]
    )
    return [(pk, lead_id, next_at < due_at) for pk, lead_id, next_at, due_at in rows]


def clocks_sweep(*, now: datetime | None = None, limit: int = 100_000) -> SweepReport:
    """Do every step due at ``now`` (at most ``limit`` clocks): reminders in batches, breaches
    one by one. Safe to run on several workers at once, and again after a crash."""
    report = SweepReport()
    # A clock is looked at once per sweep for its reminder and once for its deadline (both
    # can be overdue after a pause of the worker); a skipped one waits for the next sweep.
    seen: set[tuple[int, bool]] = set()
    while report.done + report.skipped < limit:
        at = now or timezone.now()
        due = [d for d in clocks_due(now=at, limit=BATCH) if (d[0], d[2]) not in seen]
        if not due:
            break
        seen.update((pk, is_reminder) for pk, _lead, is_reminder in due)
        reminders = [(pk, lead) for pk, lead, is_reminder in due if is_reminder]
        if reminders:
            done = _remind_batch(reminders, at)
            report.reminded += done
            report.skipped += len(reminders) - done
        for pk, lead_id, is_reminder in due:
            if not is_reminder:
                action = _breach(pk, lead_id, at)
                if action:
                    report.breached += 1
                    report.steps[action] = report.steps.get(action, 0) + 1
                else:
                    report.skipped += 1
    return report


def _lock_leads(lead_ids: Iterable[int]) -> dict[int, Lead]:
    """Lock these leads, in id order; on PostgreSQL skip those locked right now (a rep is
    accepting one: its clock waits for the next tick rather than a deadlock)."""
    query = Lead.objects.filter(pk__in=sorted(set(lead_ids))).order_by("pk")
    if connection.vendor == "postgresql":
        query = query.select_for_update(skip_locked=True, of=("self",))
    else:
        query = query.select_for_update()
    fields = ("pk", "status", "owner_id", "first_name", "last_name", "email", "phone", "company")
    return {lead.pk: lead for lead in query.only(*fields)}


def _remind_batch(items: list[tuple[int, int]], now: datetime) -> int:
    """One transaction for a batch of due reminders: lock the leads, then their clocks (still
    running and due), move the clocks on with one UPDATE, and write the events and the
    notifications in bulk. Rows are read as plain values: at 100,000 reminders a sweep, model
    instances and ``bulk_update``'s CASE per row were most of the time."""
    from sla.services import notify_reminders

    with transaction.atomic():
        leads = _lock_leads(lead for _pk, lead in items)
        rows = list(
            SlaClock.objects.select_for_update(**_skip())
            .filter(
                pk__in=[pk for pk, lead in items if lead in leads],
                status=Status.RUNNING,
                next_at__lte=now,
                next_at__lt=F("due_at"),  # still a reminder, not a breach
            )
            .values("pk", "lead_id", "kind", "rep_id", "policy_id", "due_at")
        )
        if not rows:
            return 0
        SlaClock.objects.filter(pk__in=[r["pk"] for r in rows]).update(
            stage=F("stage") + 1, reminded=True, next_at=F("due_at")
        )
        events = []
        for row in rows:
            policy = policy_by_id(row["policy_id"])
            cal = policy.calendar if policy else BusinessCalendarSpec.twenty_four_seven()
            left = business_time_between(now, row["due_at"], cal)
            row["minutes_left"] = round(left.total_seconds() / 60)
            events.append(
                {
                    "lead_id": row["lead_id"],
                    "kind": LeadEvent.Kind.SLA,
                    "at": now,
                    "data": {
                        "step": "remind",
                        "clock": row["kind"],
                        "clock_id": row["pk"],
                        "policy": policy.name if policy else "",
                        "rep": row["rep_id"],
                        "due_at": row["due_at"].isoformat(),
                        "minutes_left": row["minutes_left"],
                    },
                }
            )
        lead_record_many(events)
        notify_reminders([(r, leads[r["lead_id"]]) for r in rows if r["rep_id"]], now)
        return len(rows)


def _skip() -> dict[str, Any]:
    return {"skip_locked": True, "of": ("self",)} if connection.vendor == "postgresql" else {}


def _breach(clock_id: int, lead_id: int, now: datetime) -> str | None:
    """Do the next rung of a breached clock's ladder, once; returns what was done."""
    with transaction.atomic():
        leads = _lock_leads([lead_id])
        lead = leads.get(lead_id)
        if lead is None:
            return None
        clock = SlaClock.objects.filter(pk=clock_id).first()
        if clock is None or clock.status != Status.RUNNING or clock.next_at > now:
            return None
        # The claim: exactly one sweep moves this clock past this stage.
        claimed = SlaClock.objects.filter(
            pk=clock_id, status=Status.RUNNING, stage=clock.stage, next_at__lte=now
        ).update(stage=F("stage") + 1)
        if not claimed:
            return None
        clock.stage += 1
        return _climb(clock, Lead.objects.get(pk=lead_id), now)


def _climb(clock: SlaClock, lead: Lead, now: datetime) -> str:
    from routing import services as routing
    from sla.services import notify_breach

    policy = policy_by_id(clock.policy_id)
    ladder = CLAIM_LADDER if clock.kind == Kind.CLAIM else (policy.ladder if policy else ())
    what = f"{clock.get_kind_display().lower()} deadline missed"
    reason = f"SLA: {what}" + (f" ({policy.name})" if policy else "")
    owner_before = lead.owner_id
    done, used = "recorded", clock.breaches
    # ``breaches`` is how many rungs of the ladder were used before this clock: each breach
    # takes the next one, and a rung that cannot be done (nobody eligible left in the pool,
    # no manager) gives way to the one after it.
    for index in range(clock.breaches, len(ladder)):
        rung, used = ladder[index], index + 1
        if rung == Action.REASSIGN and routing.lead_sla_reassign(lead_id=lead.pk, reason=reason):
            done = "reassigned"
        elif rung == Action.ESCALATE and (
            escalation := routing.lead_escalate(lead_id=lead.pk, reason=reason)
        ):
            # A manager at their ceiling of escalated leads sends it to triage instead.
            done = "escalated" if escalation.outcome == "assigned" else "triaged"
        elif rung == Action.TRIAGE and routing.lead_sla_triage(lead_id=lead.pk, reason=reason):
            done = "triaged"
        if done != "recorded":
            break
    # The clocks the step started for the lead's new owner go on from the next rung.
    SlaClock.objects.filter(lead=lead, kind=clock.kind, status=Status.RUNNING).exclude(
        pk=clock.pk
    ).update(breaches=used)
    lead_record(
        lead_id=lead.pk,
        kind=LeadEvent.Kind.SLA,
        at=now,
        data={
            "step": "breach",
            "clock": clock.kind,
            "clock_id": clock.pk,
            "policy": policy.name if policy else "",
            "rep": owner_before,
            "due_at": clock.due_at.isoformat(),
            "rung": used,
            "action": done,
        },
    )
    if done == "recorded":
        # The ladder has run out (or nothing on it could be done): the clock ends breached.
        SlaClock.objects.filter(pk=clock.pk, status=Status.RUNNING).update(
            status=Status.BREACHED, ended_at=now, end_reason=f"{what}; nothing left to do"
        )
    notify_breach(lead=Lead.objects.get(pk=lead.pk), clock=clock, action=done, owner=owner_before)
    return done
