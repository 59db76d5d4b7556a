# The SQL in _shift_rows is assembled from the models' table and column names only; every
# value is a query parameter.
# ruff: noqa: S608
"""The month as the reps lived it.

Every demo lead still new is routed at its time in the month, and what the reps, their
managers and the SLA sweep then did with it is played out in time order through the real
services: ``leadhub.leads.services`` (accept, touch, status), ``routing.services``
(decline, claim, a manager's reassignment, a junk lead's refund) and
``sla.clocks.clocks_sweep``, which is run at each moment a clock falls due before the next
step, so a rep who answers late finds the lead reminded, reassigned or escalated already.
What each rep does is drawn from ``random.Random(SEED)`` in the order the steps happen,
with each rep's habits (``REP_HABITS``): how fast they accept, how often they decline or
never answer, how well they close.

Backdating. The services stamp ``timezone.now()`` and cannot be given another time, and
time_machine is a test dependency, so each step runs now and is then moved back to its
moment (``_rewind``), as ``_seed_leads`` does for captures: every timestamp the step wrote
on its leads (leads, events, decisions, notifications, SLA clocks) is at or after the
instant the step began, which no row of an earlier step can be (they are all in the past),
and is shifted by the same amount. The rows keep their order and their durations: a
5-minute deadline is still 5 minutes after the assignment. A clock on a business calendar
keeps its business durations instead (an hour of US business hours started on a Saturday
is due on Monday). Moving assignments around behind the services' back, the reps' day and
week counters are recounted after each step that changed an owner.

Today: the story stops at the moment of seeding. Steps planned after it have not happened
yet, so the last hours' leads are still waiting to be accepted, touched or claimed, with
their clocks running. The OVERDUE demo requests are routed after the story's last sweep
and nobody answers them: their clocks are due already, and the ticker's SLA sweep reminds
and reassigns them within minutes of ``make run``. No other running clock is due.
"""

import heapq
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Min, Model
from django.utils import timezone

from leadhub.demo.data import (
    AT_CAPACITY,
    CONVERT_ODDS,
    DECLINE_REASONS,
    DISQUALIFY_REASONS,
    FRESH_MINUTES,
    JUNK_ODDS,
    JUNK_REASONS,
    ON_VACATION,
    QUALIFY_ODDS,
    REASSIGN_ODDS,
    REASSIGN_REASONS,
    REP_HABITS,
    SEED,
    SOURCE_FACTORS,
    TOUCH_KINDS,
)
from leadhub.demo.plan import weighted
from leadhub.leads.models import Lead, LeadEvent
from leadhub.leads.services import LeadTransitionError, lead_accept, lead_set_status, lead_touch
from reps.load import rep_loads_recount
from reps.models import Rep, TimeOff
from routing.models import Decision, Pool
from routing.selectors import queue_members
from routing.services import (
    RoutingError,
    decision_refund,
    lead_claim,
    lead_decline,
    lead_reassign,
    lead_route,
)
from sla.calendars import business_deadline, business_time_between
from sla.clocks import clocks_sweep, policy_by_id
from sla.models import Notification, SlaClock, SlaPolicy

# How long after capture a lead is routed (the worker's pace).
ROUTING_DELAY = timedelta(minutes=2)
# A manager answers what is escalated to them.
MANAGER_HABITS = (10.0, 0.0, 0.0, 1.0)
# Odds that an answer takes hours rather than minutes, and that a queued lead is left for
# the queue's clock to escalate.
SLOW_ODDS, UNCLAIMED_ODDS = 0.08, 0.12
# Every timestamp a step may write, per model: (model, its lead column, fields).
STAMPED = [
    (Lead, "id", ["assigned_at", "accepted_at", "first_touch_at", "closed_at", "updated_at"]),
    (LeadEvent, "lead_id", ["at"]),
    (Decision, "lead_id", ["created_at", "refunded_at"]),
    (Notification, "lead_id", ["created_at", "next_attempt_at", "sent_at"]),
    (SlaClock, "lead_id", ["started_at", "due_at", "next_at", "ended_at"]),
]
REFUSED = (RoutingError, LeadTransitionError)


@dataclass(order=True)
class Step:
    at: datetime
    seq: int
    what: str = field(compare=False)
    lead_id: int = field(compare=False)
    rep_id: int | None = field(compare=False, default=None)
    data: dict[str, Any] = field(compare=False, default_factory=dict)


def play_month(now: datetime) -> Counter:
    """Route the demo leads still new and play out their month up to ``now``; returns what
    happened, by kind. Nothing to do (the story was played before): an empty Counter."""
    waiting = list(
        Lead.objects.filter(custom__demo=True, status="new", is_partial=False)
        .order_by("captured_at", "pk")
        .values_list("pk", "captured_at", "custom")
    )
    if not waiting:
        return Counter()
    story = Story(random.Random(SEED), now)
    overdue = []
    for pk, captured_at, custom in waiting:
        at = min(captured_at + ROUTING_DELAY, now)
        if custom.get("demo_overdue"):
            overdue.append((pk, at))
        else:
            story.push(at, "route", pk)
    story.run()
    for pk, at in overdue:
        if story.act(at, [pk], lambda pk=pk: lead_route(lead_id=pk), react=False):
            story.counts["left overdue"] += 1
    rep_loads_recount()  # as of now: today's and this week's leads, whatever the story did
    return story.counts


class Story:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng, self.now = rng, now
        self.steps: list[Step] = []
        self.seq = 0
        self.counts: Counter = Counter()
        self.reps = {r.pk: r for r in Rep.objects.select_related("user").order_by("pk")}
        # Lead id → (source, asked for a demo, captured in the last FRESH_MINUTES).
        fresh = now - timedelta(minutes=FRESH_MINUTES)
        self.leads = {
            pk: (source, "demo_request" in signals or source == "demo_request", at > fresh)
            for pk, source, signals, at in Lead.objects.filter(custom__demo=True).values_list(
                "pk", "source", "intent_signals", "captured_at"
            )
        }
        # The assignment (or queueing) each lead's owner has been given a reaction to.
        self.answered: dict[int, int] = {}
        self.calendars = {
            pk: policy.calendar
            for pk in SlaPolicy.objects.exclude(calendar=None).values_list("pk", flat=True)
            if (policy := policy_by_id(pk)) is not None
        }

    def push(self, at: datetime, what: str, lead_id: int, rep_id: int | None = None, **data):
        self.seq += 1
        heapq.heappush(self.steps, Step(at, self.seq, what, lead_id, rep_id, data))

    def run(self) -> None:
        while self.steps and self.steps[0].at <= self.now:
            step = heapq.heappop(self.steps)
            self.sweep_until(step.at)
            self.play(step)
        # The seeding itself took a while: whatever fell due meanwhile is done too.
        self.sweep_until(timezone.now())

    def sweep_until(self, moment: datetime) -> None:
        """Run the SLA sweep at each instant a running clock falls due, up to ``moment``."""
        running = SlaClock.objects.filter(status=SlaClock.Status.RUNNING)
        while (due := running.aggregate(at=Min("next_at"))["at"]) is not None and due <= moment:
            leads = list(running.filter(next_at__lte=due).values_list("lead_id", flat=True))
            report = self.act(due, leads, lambda due=due: clocks_sweep(now=due))
            if report is None or not report.done:
                break  # nothing could be done: leave it to the worker rather than spin
            self.counts["SLA reminders"] += report.reminded
            for action, n in report.steps.items():
                self.counts[f"SLA breaches: {action}"] += n

    def act(self, at: datetime, lead_ids: list[int], call, *, react: bool = True) -> Any:
        """Do ``call`` now and date what it wrote on ``lead_ids`` at ``at``; then give each
        lead's new owner (or queue) their reaction. None when the service refused."""
        owners = dict(Lead.objects.filter(pk__in=lead_ids).values_list("pk", "owner_id"))
        since = timezone.now()
        try:
            result = call()
        except REFUSED:
            self.counts["steps refused"] += 1
            return None
        self._rewind(lead_ids, since, at)
        after = dict(Lead.objects.filter(pk__in=lead_ids).values_list("pk", "owner_id"))
        moved = {
            r for pk in after if owners.get(pk) != after[pk] for r in (owners.get(pk), after[pk])
        }
        if moved - {None}:
            rep_loads_recount(rep_ids=moved - {None})
        if react:
            self.react(at, lead_ids)
        return result

    def _rewind(self, lead_ids: list[int], since: datetime, to: datetime) -> None:
        shift = since - to
        for model, key, fields in STAMPED:
            _shift_rows(model, key, fields, lead_ids, since, shift)
        for clock in SlaClock.objects.filter(
            lead_id__in=lead_ids, started_at__gte=to, policy_id__in=list(self.calendars)
        ):
            cal = self.calendars[clock.policy_id]
            window = business_time_between(clock.started_at + shift, clock.due_at + shift, cal)
            ahead = business_time_between(clock.next_at + shift, clock.due_at + shift, cal)
            clock.due_at = business_deadline(clock.started_at, window, cal)
            clock.next_at = business_deadline(clock.started_at, window - ahead, cal)
            clock.save(update_fields=["due_at", "next_at"])
        for decision in Decision.objects.filter(lead_id__in=lead_ids, created_at__gte=to):
            if "decided_at" in decision.payload:
                decision.payload["decided_at"] = decision.created_at.isoformat()
                decision.save(update_fields=["payload"])

    # --- What people do -----------------------------------------------------------------

    def react(self, at: datetime, lead_ids: list[int]) -> None:
        rows = Decision.objects.filter(lead_id__in=lead_ids, effective=True).values_list(
            "lead_id", "pk", "outcome", "rep_id", "pool_id"
        )
        for lead_id, decision_id, outcome, rep_id, pool_id in rows:
            if self.answered.get(lead_id) == decision_id:
                continue
            self.answered[lead_id] = decision_id
            if self.leads[lead_id][2]:
                self.counts["waiting for a first answer"] += 1
                continue
            if outcome == "assigned" and rep_id is not None:
                self.assigned(at, lead_id, rep_id)
            elif outcome == "queued" and pool_id is not None:
                self.queued(at, lead_id, pool_id)

    def assigned(self, at: datetime, lead_id: int, rep_id: int) -> None:
        rep = self.reps[rep_id]
        if rep.role == Rep.Role.MANAGER:
            median, never, decline, _skill = MANAGER_HABITS
        else:
            median, never, decline, _skill = REP_HABITS.get(rep.user.username, MANAGER_HABITS)
        hot = self.leads[lead_id][1]
        draw = self.rng.random()
        if draw < never:
            self.counts["never answered"] += 1
        elif draw < never + decline:
            reason = weighted(self.rng, DECLINE_REASONS)
            self.push(at + self.delay(median * 2, hot), "decline", lead_id, rep_id, reason=reason)
        else:
            self.push(at + self.delay(median, hot), "accept", lead_id, rep_id)

    def queued(self, at: datetime, lead_id: int, pool_id: int) -> None:
        if self.rng.random() < UNCLAIMED_ODDS:
            return  # nobody takes it: the queue's clock escalates it
        later = at + self.delay(30, hot=False)
        away = TimeOff.objects.filter(start__lte=later, end__gt=later).values_list("rep_id")
        # The rep at capacity takes nothing more (the demo keeps their book at max_open; a
        # claim does not check caps), and nobody claims from their time off.
        full = Rep.objects.filter(user__username=AT_CAPACITY).values_list("pk")
        busy = {r for (r,) in away} | {r for (r,) in full}
        members = sorted(queue_members(Pool.objects.get(pk=pool_id)) - busy)
        self.push(later, "claim", lead_id, self.rng.choice(members))

    def delay(self, median_minutes: float, hot: bool) -> timedelta:
        """Minutes, log-normally around the median (hot leads twice as fast); now and then
        hours."""
        if self.rng.random() < SLOW_ODDS * (0.5 if hot else 1):
            return timedelta(minutes=self.rng.uniform(45, 300))
        minutes = median_minutes * math.exp(self.rng.gauss(0, 0.6)) * (0.5 if hot else 1)
        return timedelta(minutes=max(minutes, 0.3))

    def play(self, step: Step) -> None:
        lead_id, at = step.lead_id, step.at
        if step.what == "route":
            if self.act(at, [lead_id], lambda: lead_route(lead_id=lead_id)):
                self.counts["routed"] += 1
            return
        rep = self.reps[step.rep_id]
        if step.what == "claim":
            if self.act(at, [lead_id], lambda: lead_claim(lead_id=lead_id, rep=rep)):
                self.counts["claimed"] += 1
            return
        if Lead.objects.filter(pk=lead_id).values_list("owner_id", flat=True).get() != rep.pk:
            return  # the lead moved on meanwhile (the sweep, a manager)
        getattr(self, f"_{step.what}")(at, lead_id, rep, **step.data)

    def _decline(self, at: datetime, lead_id: int, rep: Rep, *, reason: str) -> None:
        done = self.act(
            at, [lead_id], lambda: lead_decline(lead_id=lead_id, rep_id=rep.pk, reason=reason)
        )
        self.counts["declined"] += done is not None

    def _accept(self, at: datetime, lead_id: int, rep: Rep) -> None:
        if not self.act(at, [lead_id], lambda: lead_accept(lead_id=lead_id, rep_id=rep.pk)):
            return
        self.counts["accepted"] += 1
        hot = self.leads[lead_id][1]
        if rep.role == Rep.Role.REP and self.rng.random() < REASSIGN_ODDS:
            later = at + timedelta(minutes=self.rng.uniform(20, 240))
            self.push(later, "reassign", lead_id, rep.pk, reason=self.rng.choice(REASSIGN_REASONS))
        else:
            self.push(at + self.delay(8 if hot else 30, hot), "touch", lead_id, rep.pk)

    def _reassign(self, at: datetime, lead_id: int, rep: Rep, *, reason: str) -> None:
        manager = next(
            r for r in self.reps.values() if r.team_id == rep.team_id and r.role == Rep.Role.MANAGER
        )
        others = sorted(
            r.pk
            for r in self.reps.values()
            if r.team_id == rep.team_id
            and r.role == Rep.Role.REP
            and r.pk != rep.pk
            and r.user.username not in (ON_VACATION, AT_CAPACITY)
        )
        to = self.rng.choice(others)
        done = self.act(
            at,
            [lead_id],
            lambda: lead_reassign(lead_id=lead_id, rep_id=to, actor=manager.user, reason=reason),
        )
        self.counts["reassigned by a manager"] += done is not None

    def _touch(self, at: datetime, lead_id: int, rep: Rep) -> None:
        kind = weighted(self.rng, TOUCH_KINDS)
        if not self.act(
            at, [lead_id], lambda: lead_touch(lead_id=lead_id, rep_id=rep.pk, kind=kind)
        ):
            return
        self.counts["first touches"] += 1
        source = self.leads[lead_id][0]
        skill = REP_HABITS.get(rep.user.username, MANAGER_HABITS)[3]
        odds = min(QUALIFY_ODDS * skill * SOURCE_FACTORS.get(source, 1.0), 0.9)
        draw = self.rng.random()
        if draw < JUNK_ODDS:
            later, status, reason = self.minutes(10, 120), "junk", weighted(self.rng, JUNK_REASONS)
        elif draw < JUNK_ODDS + odds:
            later, status, reason = self.days(1, 5), "qualified", "Budget and need confirmed"
        elif self.rng.random() < 0.45:
            later, status = self.days(1, 6), "disqualified"
            reason = weighted(self.rng, DISQUALIFY_REASONS)
        elif self.rng.random() < 0.3:
            later, status, reason = self.days(1, 4), "nurture", "Not ready yet: nurture"
        else:
            return  # still being worked
        self.push(at + later, "status", lead_id, rep.pk, status=status, reason=reason)

    def _status(self, at: datetime, lead_id: int, rep: Rep, *, status: str, reason: str) -> None:
        def change() -> Lead:
            lead = lead_set_status(lead_id=lead_id, status=status, reason=reason, actor=rep.user)
            if status == "junk":  # the refund task's work, done at the time it would run
                self.counts["rotation turns refunded"] += decision_refund(lead_id=lead_id)
            return lead

        if not self.act(at, [lead_id], change):
            return
        self.counts[status] += 1
        if status == "qualified":
            source = self.leads[lead_id][0]
            skill = REP_HABITS.get(rep.user.username, MANAGER_HABITS)[3]
            odds = min(CONVERT_ODDS * skill * SOURCE_FACTORS.get(source, 1.0), 0.9)
            if self.rng.random() < odds:
                self.push(at + self.days(2, 10), "status", lead_id, rep.pk, status="converted",
                          reason="Closed won")  # fmt: skip
            else:
                reason = weighted(self.rng, DISQUALIFY_REASONS)
                self.push(at + self.days(2, 8), "status", lead_id, rep.pk, status="disqualified",
                          reason=reason)  # fmt: skip

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(low, high))

    def days(self, low: float, high: float) -> timedelta:
        return timedelta(days=self.rng.uniform(low, high))


def _shift_rows(
    model: type[Model],
    key: str,
    fields: list[str],
    lead_ids: list[int],
    since: datetime,
    shift: timedelta,
) -> None:
    """Move back by ``shift`` every ``fields`` value at or after ``since`` on the rows of
    ``lead_ids``. Plain SQL: it runs after every step of the story, and building the
    equivalent ORM update (a CASE per column) costs more than the step itself."""
    quote, ops = connection.ops.quote_name, connection.ops
    columns = [model._meta.get_field(f).column for f in fields]
    table = quote(model._meta.db_table)
    leads = ", ".join(["%s"] * len(lead_ids))
    recent = " OR ".join(f"{quote(c)} >= %s" for c in columns)
    when = ops.adapt_datetimefield_value(since)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, {', '.join(quote(c) for c in columns)} FROM {table} "
            f"WHERE {quote(key)} IN ({leads}) AND ({recent})",
            [*lead_ids, *[when] * len(columns)],
        )
        rows = cursor.fetchall()
        if not rows:
            return
        sets = ", ".join(f"{quote(c)} = %s" for c in columns)
        updates = []
        for pk, *values in rows:
            moved = []
            for value in values:
                value = _aware(value)
                if value is not None and value >= since:
                    value -= shift
                moved.append(ops.adapt_datetimefield_value(value))
            updates.append([*moved, pk])
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE id = %s", updates)


def _aware(value: Any) -> datetime | None:
    """A datetime read by plain SQL (SQLite: naive UTC, or text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value
