"""The clock sweep on real workers, killed half-way: every step is still done exactly once.

On the PostgreSQL test database, through ``lead_route`` (the leads, decisions, counters
and clocks are the services' own), with time_machine in this process only: the worker
processes keep the real clock, so clocks are made due by routing their leads in the past.

1. FIRST_WAVE leads are routed an hour ago: their reminders and deadlines are long gone;
2. one ``manage.py qcluster`` (one worker) runs ``sla.tasks.clocks_sweep``, queued from here
   with ``async_task`` on the ORM broker, whose table is in this same test database;
3. once some but not all steps are recorded (the sweep is in the breaches, one transaction
   each), the cluster's whole process group gets SIGKILL: the step in flight dies with its
   transaction;
4. while no worker runs, the other leads are routed half an hour ago: more clocks due;
5. two new clusters run the sweep at once (queued again whenever no step is recorded for
   IDLE seconds) until every step is recorded.

Afterwards each clock has had exactly one reminder and one breach, each breached lead one
SLA decision (a reassignment in the big pool; an escalation to the manager where the pool
has nobody else), no lead went back to a rep who had it, the outbox holds one row per
step and channel, and the reps' open-lead counters match their leads.

The reps have no email address, so every notification is an in-app row written in the
step's transaction and the workers have no deliveries to do besides the sweeps.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db.models import Count, Q
from django.utils import timezone
from django_q.conf import Conf
from django_q.tasks import async_task

from leadhub.leads.models import OPEN_STATUSES, Lead, LeadEvent
from reps.models import Rep, RepLoad
from reps.tests.factories import RepFactory, TeamFactory
from routing.models import Decision, Rule
from routing.services import lead_route, ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory
from routing.tests.test_concurrency import worker_env
from sla.models import Notification, SlaClock, SlaPolicy, SlaStep

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
LEADS = 450
SOLO_EVERY = 10  # every tenth lead goes to the one-rep pool, so its breach escalates
TOTAL = 2 * LEADS  # a reminder and a breach per clock
FIRST_WAVE = 300  # routed before the first worker starts (one batch of reminders)
KILL_AT = FIRST_WAVE + FIRST_WAVE // 3  # its reminders and a third of its breaches
DEADLINE = 30  # seconds for each phase (≈ 5 and 15 on a quiet machine): a failure bound
IDLE = 2  # seconds without a new step before one more sweep is queued


def start_cluster(log: Path) -> subprocess.Popen:
    """A cluster of one worker on the test database, in its own process group, its output
    in ``log`` (a file: a full pipe nobody reads would stall it)."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "manage.py", "qcluster", "--skip-checks"],
            cwd=ROOT,
            env=worker_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM (a cluster stops its own workers), SIGKILL for whatever is left after 10 s."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        kill(proc)


def steps_done() -> int:
    return LeadEvent.objects.filter(kind=LeadEvent.Kind.SLA).count()


def logs_of(folder: Path) -> str:
    return "\n".join(
        f"--- {log.name}\n{log.read_text()[-4000:]}" for log in sorted(folder.glob("*.log"))
    )


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
    RepFactory(team=team, role=Rep.Role.MANAGER, user__email="")
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


def test_a_worker_killed_mid_sweep_and_two_restarted_do_each_step_exactly_once(
    policy_and_pools, monkeypatch, tmp_path
):
    first_owner = route_in_the_past(FIRST_WAVE, minutes_ago=60)
    # pytest runs tasks inline (Q_CLUSTER "sync"); here they go to the workers' broker.
    monkeypatch.setattr(Conf, "SYNC", False)
    started = time.monotonic()

    # Phase 1: one worker, killed once KILL_AT steps are recorded.
    first = start_cluster(tmp_path / "qcluster-killed.log")
    try:
        async_task("sla.tasks.clocks_sweep")
        deadline = time.monotonic() + DEADLINE
        while (done := steps_done()) < KILL_AT and time.monotonic() < deadline:
            assert first.poll() is None, "the cluster exited:\n" + logs_of(tmp_path)
            time.sleep(0.02)
    finally:
        kill(first)
    at_kill = steps_done()
    killed_after = time.monotonic() - started
    assert 0 < at_kill < TOTAL, (
        f"not killed mid-sweep: {at_kill} of {TOTAL} steps done (last seen {done})\n"
        + logs_of(tmp_path)
    )

    # While no worker runs, more clocks come due: the restarted sweeps have reminders to
    # share as well as breaches.
    first_owner |= route_in_the_past(LEADS - FIRST_WAVE, minutes_ago=30, offset=FIRST_WAVE)

    # Phase 2: two workers, the sweep queued twice at once, again while steps are left
    # (a clock whose lead the other sweep held is left for the next one, as in a tick).
    again = [start_cluster(tmp_path / f"qcluster-{n}.log") for n in range(2)]
    try:
        async_task("sla.tasks.clocks_sweep")
        async_task("sla.tasks.clocks_sweep")
        deadline = time.monotonic() + DEADLINE
        seen, moved = at_kill, time.monotonic()
        while (done := steps_done()) < TOTAL and time.monotonic() < deadline:
            assert all(p.poll() is None for p in again), "a cluster exited:\n" + logs_of(tmp_path)
            if done != seen:
                seen, moved = done, time.monotonic()
            elif time.monotonic() - moved > IDLE:
                async_task("sla.tasks.clocks_sweep")
                moved = time.monotonic()
            time.sleep(0.1)
        finished_after = time.monotonic() - started
        # A moment more, so a duplicate step (the bug this test is for) can show up.
        time.sleep(1)
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
