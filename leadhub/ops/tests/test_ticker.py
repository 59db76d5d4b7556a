"""The ticker's jobs, leases and heartbeats, in this process (the ticker as a process,
killed and restarted, is in test_processes.py)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from leadhub import lanes
from leadhub.leads.tests.factories import LeadFactory
from leadhub.ops import ticker
from leadhub.ops.models import Heartbeat, Lease
from leadhub.ops.services import ROUTING_SWEEP, heartbeat_beat, lease_release, lease_take
from leadhub.ops.tasks import routing_sweep

pytestmark = pytest.mark.django_db


def test_a_lease_is_held_by_one_taker_until_released_or_over():
    with time_machine.travel("2026-03-02 12:00:00+00:00", tick=False) as clock:
        assert lease_take(name="job", seconds=60) is True
        assert lease_take(name="job", seconds=60) is False
        lease_release(name="job")
        assert lease_take(name="job", seconds=60) is True
        clock.shift(timedelta(seconds=59))
        assert lease_take(name="job", seconds=60) is False
        clock.shift(timedelta(seconds=2))
        assert lease_take(name="job", seconds=60) is True
    assert Lease.objects.count() == 1


def test_a_heartbeat_row_per_kind_moves_with_each_beat():
    with time_machine.travel("2026-03-02 12:00:00+00:00", tick=False) as clock:
        heartbeat_beat(name="ticker", detail={"clocks": {"reminded": 2}})
        clock.shift(timedelta(seconds=5))
        heartbeat_beat(name="ticker")
        beat = Heartbeat.objects.get()
        assert beat.beat_at == timezone.now()
    assert (beat.name, beat.detail) == ("ticker", {"clocks": {"reminded": 2}})
    assert beat.pid and beat.host


def test_each_job_runs_at_its_own_pace_and_a_failing_job_does_not_stop_the_others():
    runs = []

    def boom():
        raise RuntimeError("database went away")

    jobs = [
        ticker.Job("often", 1.0, lambda: runs.append("often") or {"done": 1}),
        ticker.Job("rarely", 15.0, lambda: runs.append("rarely") or {"done": 2}),
        ticker.Job("broken", 1.0, boom),
    ]
    now = [100.0]
    tick = ticker.Ticker(jobs, clock=lambda: now[0])
    tick.tick()
    assert tick.seconds_to_next() == 1.0
    now[0] += 0.5
    tick.tick()  # nothing due
    now[0] += 0.5
    tick.tick()
    assert runs == ["often", "rarely", "often"]
    detail = Heartbeat.objects.get(name="ticker").detail
    assert detail["often"]["done"] == 1
    assert detail["broken"] == {"error": "RuntimeError: database went away"}
    assert tick.seconds_to_next() == 1.0


def test_the_routing_sweep_is_queued_once_while_one_is_queued_or_running(monkeypatch, settings):
    settings.LEADHUB_ROUTING_SWEEP_AFTER_SECONDS = 10
    queued = []
    monkeypatch.setattr(lanes, "enqueue", lambda lane, func, **kw: queued.append((lane, func)))
    assert ticker.sweep_routing() == {"queued": 0}  # nobody waits
    lead = LeadFactory(status="new", captured_at=timezone.now() - timedelta(minutes=1))
    assert ticker.sweep_routing() == {"queued": 1}
    assert ticker.sweep_routing() == {"queued": 0}  # one is queued: not a second
    assert queued == [("routing", "leadhub.ops.tasks.routing_sweep")]
    routing_sweep()  # the task runs (nothing routes this lead: no rules) and lets go
    assert lease_take(name=ROUTING_SWEEP, seconds=1) is True
    lead.refresh_from_db()
    assert lead.status == "triage"


def test_a_failed_enqueue_lets_the_next_tick_try_again(monkeypatch):
    LeadFactory(status="new", captured_at=timezone.now() - timedelta(minutes=1))

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(lanes, "enqueue", broker_down)
    with pytest.raises(ConnectionError):
        ticker.sweep_routing()
    assert lease_take(name=ROUTING_SWEEP, seconds=1) is True


def test_the_ticker_command_runs_every_job_once_and_beats(capsys):
    from django.core.management import call_command

    call_command("ticker", "--once")
    beat = Heartbeat.objects.get(name="ticker")
    assert set(beat.detail) == {"clocks", "outbox", "routing", "handover"}
    assert "Ticker stopped." in capsys.readouterr().out


def test_one_outbox_sweep_runs_at_a_time(monkeypatch):
    calls = []
    monkeypatch.setattr(ticker, "outbox_sweep", lambda: calls.append(1) or 3)
    assert lease_take(name=ticker.OUTBOX_SWEEP, seconds=60)  # another ticker is sweeping
    assert ticker.sweep_outbox() == {"queued": 0}
    lease_release(name=ticker.OUTBOX_SWEEP)
    assert ticker.sweep_outbox() == {"queued": 3}
    assert ticker.sweep_outbox() == {"queued": 3}  # released after each run
    assert calls == [1, 1]
