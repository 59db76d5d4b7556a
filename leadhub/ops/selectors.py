"""Reads of the ops app: the health of a running LeadHub, for GET /health/ and the admin.
Nothing here is about leads: the check is public."""

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from django_q.brokers import get_broker

from leadhub import lanes
from leadhub.ops.models import Heartbeat
from leadhub.ops.ticker import HEARTBEAT_NAME as TICKER

# A task that waited this long in a lane's queue makes the lane stale, however fresh its
# heartbeat: the lane is alive but not keeping up.
QUEUE_STALE_SECONDS = 300


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else round(max(0.0, (now - then).total_seconds()), 1)


@dataclass
class LaneHealth:
    workers: int
    queued: int | None = None
    oldest_waiting_seconds: float | None = None
    heartbeat_age_seconds: float | None = None
    heartbeat_host: str = ""


@dataclass
class Health:
    database: dict[str, Any]
    broker: dict[str, Any]
    lanes: dict[str, LaneHealth] = field(default_factory=dict)
    ticker: dict[str, Any] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.stale

    def as_dict(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "stale", **asdict(self)}


def lane_workers(lane: str) -> int:
    if lane == lanes.HOUSEKEEPING:
        return settings.Q_CLUSTER["workers"]
    return settings.Q_CLUSTER["ALT_CLUSTERS"][lane]["workers"]


def health(*, now: datetime | None = None) -> Health:
    """The database, the broker, each lane's queue and heartbeat, and the ticker's
    heartbeat. Stale: a heartbeat older than LEADHUB_HEARTBEAT_STALE_SECONDS (or none), a
    task waiting longer than QUEUE_STALE_SECONDS, the database or the broker not
    answering. Each stale part is named in ``stale``."""
    now = now or timezone.now()
    limit = settings.LEADHUB_HEARTBEAT_STALE_SECONDS
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        beats = {beat.name: beat for beat in Heartbeat.objects.all()}
    except DatabaseError as exc:
        return Health(
            database={"ok": False, "error": type(exc).__name__},
            broker={"ok": None, "kind": "redis" if settings.REDIS_URL else "orm"},
            stale=["database: not answering"],
        )
    report = Health(
        database={"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)},
        broker={"ok": True, "kind": "redis" if settings.REDIS_URL else "orm"},
    )
    for lane in lanes.LANES:
        facts = report.lanes[lane] = LaneHealth(workers=lane_workers(lane))
        beat = beats.get(f"lane:{lane}")
        if beat is not None:
            facts.heartbeat_age_seconds = _age(now, beat.beat_at)
            facts.heartbeat_host = beat.host
        if facts.heartbeat_age_seconds is None:
            report.stale.append(
                f"{lane} lane: no heartbeat yet (is `manage.py lane {lane}` running?)"
            )
        elif facts.heartbeat_age_seconds > limit:
            report.stale.append(
                f"{lane} lane: last heartbeat {facts.heartbeat_age_seconds:.0f} s ago"
            )
        if report.broker["ok"] is False:
            continue
        try:
            broker = get_broker(lanes.cluster_of(lane))
            facts.queued = broker.queue_size()
            facts.oldest_waiting_seconds = _age(now, broker.oldest_waiting())
        except Exception as exc:  # the broker's client raises its own errors (Redis)
            report.broker = {**report.broker, "ok": False, "error": type(exc).__name__}
            report.stale.append("broker: not answering")
            continue
        if (facts.oldest_waiting_seconds or 0) > QUEUE_STALE_SECONDS:
            report.stale.append(
                f"{lane} lane: a task has waited {facts.oldest_waiting_seconds:.0f} s"
            )
    beat = beats.get(TICKER)
    report.ticker = {
        "heartbeat_age_seconds": _age(now, beat.beat_at) if beat else None,
        "heartbeat_host": beat.host if beat else "",
        "last_run": beat.detail if beat else {},
    }
    age = report.ticker["heartbeat_age_seconds"]
    if age is None:
        report.stale.append("ticker: no heartbeat yet (is `manage.py ticker` running?)")
    elif age > limit:
        report.stale.append(f"ticker: last heartbeat {age:.0f} s ago")
    return report
