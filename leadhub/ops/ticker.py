"""The ticker: one long-running process (``manage.py ticker``, in the manner of
healthchecks' ``sendalerts``) that does the periodic work no queue should hold a worker
for, each job at its own pace:

- the SLA clocks (``sla.clocks.clocks_sweep``) every LEADHUB_SLA_SWEEP_SECONDS: reminders,
  reassignments, escalations, triage;
- the outbox sweep every second: due deliveries nobody queued, topped up to
  LEADHUB_OUTBOX_QUEUE_LIMIT in the outbox lane, by one ticker at a time (a lease);
- the routing sweep every few seconds: when a lead is still new after
  LEADHUB_ROUTING_SWEEP_AFTER_SECONDS, one ``routing_sweep`` task in the routing lane,
  never a second while one is queued or running (a lease);
- the handover check every minute: a handover task (routing lane) for each rep whose
  time off of LEADHUB_HANDOVER_TIME_OFF_DAYS or more has begun (once per time off);
- its own heartbeat, for GET /health/.

Any number of tickers may run (two during a deploy, one per machine): every clock step
and every outbox row is claimed before it is acted on, and the routing sweep's lease is
taken by one of them.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings

from leadhub import lanes
from leadhub.ops.services import ROUTING_SWEEP, heartbeat_beat, lease_release, lease_take
from routing.services import leads_pending
from routing.tasks import handovers_check
from sla.clocks import clocks_sweep
from sla.services import outbox_sweep

logger = logging.getLogger(__name__)

TICK = 1.0  # seconds: the finest pace of any job
ROUTING_SWEEP_EVERY = 5.0
HANDOVER_CHECK_EVERY = 60.0
HEARTBEAT_NAME = "ticker"
OUTBOX_SWEEP = "outbox sweep"


def sweep_clocks() -> dict[str, int]:
    report = clocks_sweep()
    return {"reminded": report.reminded, "breached": report.breached}


def sweep_outbox() -> dict[str, int]:
    """Top the outbox queue up, one ticker at a time (a lease; the row claims would make
    two at once harmless, but each would count the queue before the other filled it)."""
    if not lease_take(name=OUTBOX_SWEEP, seconds=60):
        return {"queued": 0}
    try:
        return {"queued": outbox_sweep()}
    finally:
        lease_release(name=OUTBOX_SWEEP)


def sweep_routing() -> dict[str, int]:
    """Queue one routing sweep if a lead waits too long and no sweep is queued or
    running. The lease outlasts the routing lane's task timeout; the task releases it."""
    after = timedelta(seconds=settings.LEADHUB_ROUTING_SWEEP_AFTER_SECONDS)
    if not leads_pending(older_than=after, limit=1):
        return {"queued": 0}
    hold = settings.Q_CLUSTER["ALT_CLUSTERS"][lanes.ROUTING]["timeout"] + 30
    if not lease_take(name=ROUTING_SWEEP, seconds=hold):
        return {"queued": 0}
    try:
        lanes.enqueue(lanes.ROUTING, "leadhub.ops.tasks.routing_sweep", group="routing")
    except Exception:
        lease_release(name=ROUTING_SWEEP)
        raise
    return {"queued": 1}


def check_handovers() -> dict[str, int]:
    """Queue the handovers of reps whose long time off has begun (routing lane)."""
    return {"queued": handovers_check()}


@dataclass
class Job:
    name: str
    every: float
    run: Callable[[], dict[str, int]]
    due: float = 0.0  # the ticker's clock (time.monotonic) at its next run
    last: dict[str, Any] = field(default_factory=dict)


def default_jobs() -> list[Job]:
    return [
        Job("clocks", float(settings.LEADHUB_SLA_SWEEP_SECONDS), sweep_clocks),
        Job("outbox", TICK, sweep_outbox),
        Job("routing", ROUTING_SWEEP_EVERY, sweep_routing),
        Job("handover", HANDOVER_CHECK_EVERY, check_handovers),
    ]


class Ticker:
    def __init__(
        self, jobs: list[Job] | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.jobs = jobs if jobs is not None else default_jobs()
        self.clock = clock

    def tick(self) -> None:
        """Run every job that is due; a job that fails is logged and tried at its next
        time, the others run all the same."""
        for job in self.jobs:
            if self.clock() < job.due:
                continue
            started = self.clock()
            job.due = started + job.every
            try:
                job.last = {**job.run(), "seconds": round(self.clock() - started, 3)}
            except Exception as exc:
                logger.exception("Ticker job %s failed", job.name)
                job.last = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        try:
            heartbeat_beat(name=HEARTBEAT_NAME, detail={j.name: j.last for j in self.jobs})
        except Exception:
            logger.exception("Could not record the ticker's heartbeat")

    def seconds_to_next(self) -> float:
        return max(0.0, min(job.due for job in self.jobs) - self.clock())
