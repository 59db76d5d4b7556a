"""django-q2 tasks of the outbox. Each takes ids and calls one service; running one twice
does no harm (a row is claimed before it is sent; a captured lead is announced once)."""

from sla.services import notification_for_lead_created, outbox_deliver, outbox_sweep

SWEEP_SCHEDULE = "sla: deliver due notifications"


def deliver(notification_id: int) -> str | None:
    return outbox_deliver(notification_id=notification_id)


def sweep() -> int:
    return outbox_sweep()


def announce_created(lead_ids: list[int]) -> int:
    """Fan ``lead.created`` out for each lead; returns how many rows were written."""
    return sum(len(notification_for_lead_created(lead_id=lead_id)) for lead_id in lead_ids)
