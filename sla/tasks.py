"""django-q2 tasks of the SLA app, run in the outbox lane. Each takes ids and calls a
service; running one twice does no harm (a row is claimed before it is sent; a captured
lead is announced once). The clocks and the outbox sweep are not tasks: the ticker process
(``manage.py ticker``) runs them."""

from sla.services import notification_for_lead_created, outbox_deliver


def deliver(notification_id: int) -> str | None:
    return outbox_deliver(notification_id=notification_id)


def announce_created(lead_ids: list[int]) -> int:
    """Fan ``lead.created`` out for each lead; returns how many rows were written."""
    return sum(len(notification_for_lead_created(lead_id=lead_id)) for lead_id in lead_ids)
