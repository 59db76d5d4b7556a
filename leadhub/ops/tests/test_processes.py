"""LeadHub's processes as they run: lanes, the ticker and `make run`, started for real.

- a slow webhook endpoint does not hold up routing: with the outbox lane's workers all
  waiting on it and 500 deliveries behind them, a captured lead is assigned within 2 s;
- the ticker acts on a due clock step within LEADHUB_SLA_SWEEP_SECONDS + 5 s, and two
  tickers at once do each step once;
- `make run` starts every process of the Procfile, drains the demo's queue within 30 s,
  and one Ctrl-C stops every process it started.

The first two run on the PostgreSQL test database (the ORM broker's queue is in it too);
`make run` runs on a SQLite file of its own, as on a laptop.
"""

import contextlib
import itertools
import os
import signal
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import time_machine
from django.db.models import Count, Q
from django.utils import timezone
from django_q.conf import Conf

from leadhub import lanes
from leadhub.leads.models import Lead, LeadEvent
from leadhub.leads.services import lead_capture
from leadhub.ops.models import Heartbeat
from leadhub.ops.ticker import HEARTBEAT_NAME
from leadhub.tests.processes import (
    Tree,
    child_env,
    cmdline,
    logs_of,
    manage,
    start,
    stop,
    wait_for,
    worker_env,
)
from reps.tests.factories import RepFactory, TeamFactory
from routing.models import Rule
from routing.services import lead_route, ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory
from sla.models import Notification, SlaClock, SlaPolicy, SlaStep, WebhookSubscription

STARTUP = 90  # seconds for processes to start on a busy two-core machine: a failure bound

# --- A slow endpoint does not hold up routing -------------------------------------------

BACKLOG = 500
OUTBOX_WORKERS = 2
TIMEOUT = 2  # LEADHUB_OUTBOX_TIMEOUT_SECONDS of the outbox lane
SLEEP = TIMEOUT + 1  # the endpoint's answer comes after the timeout: every attempt fails
ASSIGNED_WITHIN = 2.0


class SlowEndpoint(BaseHTTPRequestHandler):
    """Answers every POST after SLEEP seconds, too late; counts requests and those open."""

    requests = itertools.count()
    lock = threading.Lock()
    open_now = 0

    def do_POST(self) -> None:
        next(self.requests)
        with self.lock:
            SlowEndpoint.open_now += 1
        try:
            time.sleep(SLEEP)
            with contextlib.suppress(OSError):  # the client gave up long ago
                self.send_response(200)
                self.end_headers()
        finally:
            with self.lock:
                SlowEndpoint.open_now -= 1

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def slow_endpoint() -> Iterator[str]:
    SlowEndpoint.requests = itertools.count()
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def routable_world() -> None:
    """Every lead goes to a pool of two reps without email (no deliveries of its own)."""
    team = TeamFactory(name="Processes")
    pool = PoolFactory(name="Everyone", team=team, settings={"check_hours": False})
    for position in range(2):
        PoolMemberFactory(pool=pool, rep=RepFactory(team=team, user__email=""), position=position)
    draft = ruleset_draft()
    Rule.objects.create(ruleset=draft, position=1, name="All", action="pool", action_pool=pool)
    ruleset_publish(note="processes")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_lead_is_assigned_within_2_s_while_500_deliveries_wait_on_a_slow_endpoint(
    slow_endpoint, monkeypatch, settings, tmp_path
):
    routable_world()
    # Not a lead.* event: the captured lead must not add deliveries of its own.
    subscription = WebhookSubscription.objects.create(
        name="Slow", url=slow_endpoint, events=["sla.breached"]
    )
    Notification.objects.bulk_create(
        Notification(
            channel=Notification.Channel.WEBHOOK,
            event="sla.breached",
            subscription=subscription,
            address=slow_endpoint,
            title=f"Backlog {n}",
        )
        for n in range(BACKLOG)
    )
    env = worker_env(
        LEADHUB_OUTBOX_WORKERS=str(OUTBOX_WORKERS),
        LEADHUB_OUTBOX_TIMEOUT_SECONDS=str(TIMEOUT),
    )
    procs = [
        manage("lane", lanes.ROUTING, log=tmp_path / "lane-routing.log", env=env),
        manage("lane", lanes.OUTBOX, log=tmp_path / "lane-outbox.log", env=env),
        manage("ticker", log=tmp_path / "ticker.log", env=env),
    ]
    try:
        # The ticker queues the backlog, and every outbox worker is stuck on the endpoint.
        wait_for(
            lambda: (
                SlowEndpoint.open_now >= OUTBOX_WORKERS
                and Heartbeat.objects.filter(name=f"lane:{lanes.ROUTING}").exists()
            ),
            STARTUP,
            "the routing lane up and every outbox worker waiting on the endpoint",
            procs=procs,
            logs=tmp_path,
        )
        # pytest runs tasks inline (Q_CLUSTER "sync"), and a lead captured on its own is
        # routed by the capturing process: here it must go through the routing lane.
        monkeypatch.setattr(Conf, "SYNC", False)
        settings.LEADHUB_ROUTE_AT_CAPTURE = False
        captured_at = time.monotonic()
        lead = lead_capture(
            data={
                "email": "ada@analytical.example",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "company": "Analytical Engines",
                "country": "GB",
            },
            channel="api",
        ).lead
        wait_for(
            lambda: Lead.objects.filter(pk=lead.pk, owner__isnull=False).exists(),
            ASSIGNED_WITHIN - (time.monotonic() - captured_at),
            f"the lead assigned within {ASSIGNED_WITHIN} s of its capture",
            procs=procs,
            logs=tmp_path,
            every=0.02,
        )
        took = time.monotonic() - captured_at
        backlog = Notification.objects.filter(subscription=subscription)
        sent, untried = backlog.filter(status="sent").count(), backlog.filter(attempts=0).count()
        requests = next(SlowEndpoint.requests)
    finally:
        stop(procs)
    print(f"\nassigned {took:.2f} s after capture; {requests} requests, {untried} untried")
    assert Lead.objects.get(pk=lead.pk).status == "assigned"
    # The deliveries were still waiting: none got through, most were never tried yet.
    assert sent == 0
    assert untried > BACKLOG // 2


# --- The ticker -------------------------------------------------------------------------

SWEEP = 2  # LEADHUB_SLA_SWEEP_SECONDS of the tickers
CLOCKS = 20


def policy_with_reminder_and_reassignment() -> None:
    """Accept within 5 minutes, a reminder 2 minutes before; a breach reassigns."""
    routable_world()
    policy = SlaPolicy.objects.create(name="Accept in 5", accept_minutes=5)
    SlaStep.objects.create(policy=policy, position=1, action="remind", minutes=2)
    SlaStep.objects.create(policy=policy, position=2, action="reassign", times=1)
    SlaStep.objects.create(policy=policy, position=3, action="triage")


def route_an_hour_ago(count: int) -> list[int]:
    """``count`` leads routed an hour ago (their reminders and deadlines long gone); returns
    their clocks' ids. The tickers keep the real clock: only this process travels."""
    leads = Lead.objects.bulk_create(
        Lead(email=f"late{n}@company{n}.example", first_name="Late", last_name=str(n))
        for n in range(count)
    )
    an_hour_ago = timezone.now() - timedelta(hours=1)
    with time_machine.travel(an_hour_ago, tick=True):
        for lead in leads:
            lead_route(lead_id=lead.pk)
    # The tickers run meanwhile: a lead they already reassigned has a new clock, started
    # now and not due for minutes. Only the clocks started an hour ago are this test's.
    started_then = SlaClock.objects.filter(
        lead__in=leads, started_at__lt=an_hour_ago + timedelta(minutes=30)
    )
    return list(started_then.values_list("pk", flat=True))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_tickers_act_on_due_clock_steps_within_the_sweep_interval_once_each(tmp_path):
    policy_with_reminder_and_reassignment()
    env = worker_env(LEADHUB_SLA_SWEEP_SECONDS=str(SWEEP))
    tickers = [manage("ticker", log=tmp_path / f"ticker-{n}.log", env=env) for n in range(2)]
    pids = {ticker.pid for ticker in tickers}
    beating: set[int] = set()

    def both_beat() -> bool:
        beating.update(Heartbeat.objects.filter(name=HEARTBEAT_NAME).values_list("pid", flat=True))
        return pids <= beating

    def steps() -> Counter:
        return Counter(
            (data["clock_id"], data["step"])
            for data in LeadEvent.objects.filter(kind=LeadEvent.Kind.SLA).values_list(
                "data", flat=True
            )
        )

    try:
        wait_for(both_beat, STARTUP, "both tickers beating", procs=tickers, logs=tmp_path)
        clocks = route_an_hour_ago(CLOCKS)
        took = wait_for(
            lambda: len(steps()) == 2 * CLOCKS,
            SWEEP + 5,
            f"a reminder and a breach for each of {CLOCKS} clocks",
            procs=tickers,
            logs=tmp_path,
        )
        # Each ticker sweeps again (a duplicate step, the bug this is for, would show).
        time.sleep(SWEEP + 1)
        done = steps()
    finally:
        stop(tickers)
    print(f"\n{2 * CLOCKS} steps done {took:.1f} s after they were due")
    assert set(done) == {(pk, step) for pk in clocks for step in ("remind", "breach")}
    assert set(done.values()) == {1}, "a step was done twice"
    per_lead = Lead.objects.annotate(sla=Count("decisions", filter=Q(decisions__kind="sla")))
    assert Counter(per_lead.values_list("sla", flat=True)) == {1: CLOCKS}


# --- make run ---------------------------------------------------------------------------

DRAINED_WITHIN = 30  # seconds after the processes start
SEEDED = 300  # seconds for make to migrate and seed the demo (40 on a quiet machine)
STOPPED_WITHIN = 10  # seconds after Ctrl-C
BEATS = {f"lane:{lane}" for lane in lanes.LANES} | {HEARTBEAT_NAME}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def query(db: Path, sql: str) -> list[tuple] | None:
    """Rows of ``sql`` on the SQLite file, or None while it (or its tables) is not there."""
    if not db.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=rw", uri=True)) as conn:
            return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return None


def test_make_run_starts_everything_drains_the_demo_queue_and_stops_on_ctrl_c(tmp_path):
    db, port = tmp_path / "leadhub.sqlite3", free_port()
    env = child_env(
        SQLITE_PATH=str(db),
        PORT=str(port),
        HOST="127.0.0.1",
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
    )
    log = tmp_path / "make-run.log"
    make = start(["make", "run"], log, env)
    tree = Tree(make.pid)
    started: list[float] = []  # when honcho starts the Procfile's processes
    ready: list[float] = []  # when every one of them is up
    drained: list[float] = []  # when the queue was first empty after that

    def up_and_drained() -> bool:
        tree.watch()
        if not started and "Starting LeadHub on" in log.read_text():
            started.append(time.monotonic())
        if not started:
            return False
        beats = {name for (name,) in query(db, "SELECT name FROM ops_heartbeat") or []}
        if not ready and beats >= BEATS and answers(f"http://127.0.0.1:{port}/login/"):
            ready.append(time.monotonic())
        if ready and query(db, "SELECT COUNT(*) FROM django_q_ormq") == [(0,)]:
            drained.append(time.monotonic())
        return bool(drained) or time.monotonic() - started[0] > STARTUP

    def all_gone() -> bool:
        tree.watch()
        return not tree.alive()

    try:
        # make installs (nothing to do), migrates and seeds the demo first.
        wait_for(up_and_drained, SEEDED + STARTUP, "make run", procs=[make], logs=tmp_path)
        assert ready, "not every process of the Procfile was up:\n" + logs_of(tmp_path)
        waiting = query(db, "SELECT key, COUNT(*) FROM django_q_ormq GROUP BY key")
        assert drained, f"the queue was never empty; waiting: {waiting}\n" + logs_of(tmp_path)
        assert drained[0] - started[0] <= DRAINED_WITHIN, (
            f"drained {drained[0] - started[0]:.1f} s after start\n" + logs_of(tmp_path)
        )
        tree.watch()
        running = len(tree.alive())
        # A terminal's Ctrl-C: SIGINT to the foreground process group, make's.
        ctrl_c = time.monotonic()
        os.killpg(make.pid, signal.SIGINT)
        with contextlib.suppress(AssertionError):
            wait_for(all_gone, STOPPED_WITHIN, "every process stopped")
        stopped = time.monotonic() - ctrl_c
        left = [(proc.pid, cmdline(proc.pid)) for proc in tree.alive()]
    finally:
        tree.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signal.SIGKILL)
        make.wait(timeout=10)
    print(
        f"\nup {ready[0] - started[0]:.1f} s and drained {drained[0] - started[0]:.1f} s "
        f"after start; {running} processes stopped {stopped:.1f} s after Ctrl-C"
    )
    assert not left, f"left after {STOPPED_WITHIN} s: {left}\n" + logs_of(tmp_path)
