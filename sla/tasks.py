"""django-q2 tasks of the SLA app: the outbox and the clock sweep. Each takes ids (or
nothing) and calls services; running one twice does no harm (a row is claimed before it is
sent; a captured lead is announced once; a clock step is claimed before it is done)."""

import time

from django.conf import settings

from sla import clocks
from sla.services import notification_for_lead_created, outbox_deliver, outbox_sweep

SWEEP_SCHEDULE = "sla: deliver due notifications"
CLOCKS_SCHEDULE = "sla: act on due SLA clocks"
# The clock ticker is started every minute and must end well inside the task timeout
# (Q_CLUSTER "timeout", 60 s): it stops starting sweeps after this many seconds.
TICKER_SECONDS = 45


def deliver(notification_id: int) -> str | None:
    return outbox_deliver(notification_id=notification_id)


def sweep() -> int:
    return outbox_sweep()


def announce_created(lead_ids: list[int]) -> int:
    """Fan ``lead.created`` out for each lead; returns how many rows were written."""
    return sum(len(notification_for_lead_created(lead_id=lead_id)) for lead_id in lead_ids)


def clocks_sweep() -> dict[str, int]:
    """One pass over the due clocks."""
    report = clocks.clocks_sweep()
    return {"reminded": report.reminded, "breached": report.breached, "skipped": report.skipped}


def clocks_ticker() -> int:
    """Scheduled every minute (django-q2's finest schedule): sweep now, then again every
    LEADHUB_SLA_SWEEP_SECONDS until the minute is nearly up, so a clock acts within that
    many seconds of its time. Returns the steps done. Two tickers overlapping (a slow
    minute) is harmless: every step is claimed before it is done."""
    interval = settings.LEADHUB_SLA_SWEEP_SECONDS
    started = time.monotonic()
    done = 0
    while True:
        done += clocks.clocks_sweep().done
        if interval >= 60 or time.monotonic() - started + interval > TICKER_SECONDS:
            return done
        time.sleep(interval)
