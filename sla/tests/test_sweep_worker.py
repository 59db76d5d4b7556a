"""The ticker, killed half-way through a sweep and restarted twice over: every step is
still done exactly once.

On the PostgreSQL test database, through ``lead_route`` (the leads, decisions, counters
and clocks are the services' own), with time_machine in this process only: the tickers
keep the real clock, so clocks are made due by routing their leads in the past.

1. FIRST_WAVE leads are routed an hour ago: their reminders and deadlines are long gone;
2. one ``manage.py ticker`` (LEADHUB_SLA_SWEEP_SECONDS=1) acts on them from its first tick;
3. once some but not all steps are recorded (the sweep is in the breaches, one transaction
   each), the ticker gets SIGKILL: the step in flight dies with its transaction;
4. while no ticker runs, the other leads are routed half an hour ago: more clocks due;
5. two new tickers start at once and sweep every second until every step is recorded.

Afterwards each clock has had exactly one reminder and one breach, each breached lead one
SLA decision (a reassignment in the big pool; an escalation to the manager where the pool
has nobody else), no lead went back to a rep who had it, the outbox holds one row per
step and channel, and the reps' open-lead counters match their leads.

The reps have no email address, so every notification is an in-app row written in the
step's transaction and the tickers have no deliveries to queue.
"""

import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db.models import Count, Q
from django.utils import timezone

from leadhub.leads.models import OPEN_STATUSES, Lead, LeadEvent
from leadhub.tests.processes import kill, logs_of, manage, stop, worker_env
from reps.models import Rep, RepLoad
from reps.tests.factories import RepFactory, TeamFactory
from routing.models import Decision, Rule
from routing.services import lead_route, ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory
from sla.models import Notification, SlaClock, SlaPolicy, SlaStep

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LEADS = 450
SOLO_EVERY = 10  # every tenth lead goes to the one-rep pool, so its breach escalates
TOTAL = 2 * LEADS  # a reminder and a breach per clock
FIRST_WAVE = 300  # routed before the first ticker starts (one batch of reminders)
KILL_AT = FIRST_WAVE + FIRST_WAVE // 3  # its reminders and a third of its breaches
DEADLINE = 60  # seconds for each phase (≈ 5 and 15 on a quiet machine): a failure bound


def start_ticker(log: Path):
    """A ticker on the test database that sweeps the clocks every second."""
    return manage("ticker", log=log, env=worker_env(LEADHUB_SLA_SWEEP_SECONDS="1"))


def steps_done() -> int:
    return LeadEvent.objects.filter(kind=LeadEvent.Kind.SLA).count()


def route_in_the_past(count: int, minutes_ago: int, offset: int = 0) -> dict[int, int]:
    """``count`` new leads routed ``minutes_ago`` through ``lead_route``; returns each new
    accept clock's id → its lead's first owner."""
    leads = Lead.objects.bulk_create(
        Lead(
            email=f"buyer{n}@company{n}.example",
            email_domain=f"company{n}.example",
            first_name="Buyer",
            last_name=str(n),
            company=f"Company {n}",
            country="DE" if n % SOLO_EVERY == 0 else "US",
        )
        for n in range(offset, offset + count)
    )
    with time_machine.travel(timezone.now() - timedelta(minutes=minutes_ago), tick=True):
        for lead in leads:
            lead_route(lead_id=lead.pk)
    clocks = SlaClock.objects.filter(lead__in=leads, status="running")
    first = dict(clocks.values_list("pk", "lead__owner_id"))
    assert len(first) == count
    return first


@pytest.fixture
def policy_and_pools() -> None:
    """Four reps in the big pool, one in the solo pool (German leads), and their manager;
    an accept clock of 5 minutes, a reminder 2 minutes before, then reassign → escalate →
    triage."""
    team = TeamFactory(name="Sweep")
    # Room for every escalation: past their ceiling a manager's go to triage.
    RepFactory(team=team, role=Rep.Role.MANAGER, user__email="", max_escalated=LEADS)
    anytime = {"check_hours": False}
    big = PoolFactory(name="Big", team=team, settings=anytime)
    for position in range(4):
        PoolMemberFactory(pool=big, rep=RepFactory(team=team, user__email=""), position=position)
    solo = PoolFactory(name="Solo", team=team, settings=anytime)
    PoolMemberFactory(pool=solo, rep=RepFactory(team=team, user__email=""), position=0)
    draft = ruleset_draft()
    Rule.objects.create(
        ruleset=draft,
        position=1,
        name="Germany: solo",
        condition={"field": "country", "op": "eq", "value": "DE"},
        action="pool",
        action_pool=solo,
    )
    Rule.objects.create(ruleset=draft, position=2, name="Rest", action="pool", action_pool=big)
    ruleset_publish()
    policy = SlaPolicy.objects.create(name="Accept in 5", accept_minutes=5)
    SlaStep.objects.create(policy=policy, position=1, action="remind", minutes=2)
    SlaStep.objects.create(policy=policy, position=2, action="reassign", times=1)
    SlaStep.objects.create(policy=policy, position=3, action="escalate")
    SlaStep.objects.create(policy=policy, position=4, action="triage")


def test_a_ticker_killed_mid_sweep_and_two_restarted_do_each_step_exactly_once(
    policy_and_pools, tmp_path
):
    first_owner = route_in_the_past(FIRST_WAVE, minutes_ago=60)
    started = time.monotonic()

    # Phase 1: one ticker, killed once KILL_AT steps are recorded.
    first = start_ticker(tmp_path / "ticker-killed.log")
    try:
        deadline = time.monotonic() + DEADLINE
        while (done := steps_done()) < KILL_AT and time.monotonic() < deadline:
            assert first.poll() is None, "the ticker exited:\n" + logs_of(tmp_path)
            time.sleep(0.02)
    finally:
        kill(first)
    at_kill = steps_done()
    killed_after = time.monotonic() - started
    assert 0 < at_kill < TOTAL, (
        f"not killed mid-sweep: {at_kill} of {TOTAL} steps done (last seen {done})\n"
        + logs_of(tmp_path)
    )

    # While no ticker runs, more clocks come due: the restarted tickers have reminders to
    # share as well as breaches.
    first_owner |= route_in_the_past(LEADS - FIRST_WAVE, minutes_ago=30, offset=FIRST_WAVE)

    # Phase 2: two tickers at once, each sweeping every second (a clock whose lead the
    # other one holds is left for its next tick).
    again = [start_ticker(tmp_path / f"ticker-{n}.log") for n in range(2)]
    try:
        deadline = time.monotonic() + DEADLINE
        while (done := steps_done()) < TOTAL and time.monotonic() < deadline:
            assert all(p.poll() is None for p in again), "a ticker exited:\n" + logs_of(tmp_path)
            time.sleep(0.1)
        finished_after = time.monotonic() - started
        # Two sweeps more each, so a duplicate step (the bug this test is for) can show up.
        time.sleep(2)
    finally:
        stop(again)
    print(
        f"\n{LEADS} clocks: killed after {killed_after:.1f} s with {at_kill} of {TOTAL} "
        f"steps done; {done} done after {finished_after:.1f} s"
    )
    logs = logs_of(tmp_path)

    # Each clock: one reminder and one breach, no more, no less; no step on another clock.
    steps = Counter(
        (data["clock_id"], data["step"])
        for data in LeadEvent.objects.filter(kind=LeadEvent.Kind.SLA).values_list("data", flat=True)
    )
    twice = {key: n for key, n in steps.items() if n > 1}
    assert not twice, f"steps done more than once: {dict(list(twice.items())[:10])}\n{logs}"
    expected = {(pk, step) for pk in first_owner for step in ("remind", "breach")}
    missing = expected - set(steps)
    assert not missing, f"{len(missing)} steps never done, e.g. {sorted(missing)[:5]}\n{logs}"
    assert set(steps) == expected

    # Each breach: one SLA decision, to a rep who never had the lead.
    per_lead = Lead.objects.annotate(sla=Count("decisions", filter=Q(decisions__kind="sla")))
    assert Counter(per_lead.values_list("sla", flat=True)) == {1: LEADS}
    given = Counter(Decision.objects.filter(rep__isnull=False).values_list("lead_id", "rep_id"))
    assert set(given.values()) == {1}, "a lead went back to a rep who had it"
    owners = dict(Lead.objects.values_list("pk", "owner_id"))
    clocks = SlaClock.objects.filter(pk__in=first_owner)
    assert all(owners[c.lead_id] != first_owner[c.pk] for c in clocks)
    actions = Counter(
        LeadEvent.objects.filter(kind="sla", data__step="breach").values_list(
            "data__action", flat=True
        )
    )
    solo = LEADS // SOLO_EVERY
    assert actions == {"reassigned": LEADS - solo, "escalated": solo}

    # The clocks: the breached ones stopped after two steps, the new owners' running, one
    # per lead, on the ladder's next rung.
    assert Counter(clocks.values_list("status", "stage")) == {("stopped", 2): LEADS}
    running = SlaClock.objects.filter(status="running")
    assert running.count() == LEADS
    # Rungs used: the reassignment, or (nobody else in the pool) the escalation after it.
    assert Counter(running.values_list("breaches", flat=True)) == {1: LEADS - solo, 2: solo}
    assert running.values("lead_id").distinct().count() == LEADS

    # The outbox: one row per step and channel.
    notes = Counter(
        Notification.objects.filter(event__in=["sla.reminder", "sla.breached"]).values_list(
            "lead_id", "event", "channel", "rep_id"
        )
    )
    assert set(notes.values()) == {1}, "a notification was written twice"
    assert Counter(event for _lead, event, _channel, _rep in notes) == {
        "sla.reminder": LEADS,
        "sla.breached": LEADS,
    }

    # The reps' open-lead counters survived the kill: they match their leads.
    open_leads = Counter(
        Lead.objects.filter(status__in=sorted(OPEN_STATUSES)).values_list("owner_id", flat=True)
    )
    counters = dict(RepLoad.objects.values_list("rep_id", "open_leads"))
    assert {rep: n for rep, n in counters.items() if n} == dict(open_leads)
