"""Signals the leads app sends, so that upper layers (routing) react to new leads without
this app importing them (design.md §4)."""

from django.db import transaction
from django.dispatch import Signal

# Sent once the transaction that stored new leads (or completed partial ones) has
# committed, with ``lead_ids``: a list of ids. Partial leads are announced when completed.
leads_captured = Signal()


def announce_captured(lead_ids: list[int]) -> None:
    """Send leads_captured after the current transaction commits (at once outside one)."""
    if lead_ids:
        ids = list(lead_ids)
        transaction.on_commit(lambda: leads_captured.send(sender=None, lead_ids=ids))


# Sent after a status change commits: ``lead_id``, ``old``, ``new`` (statuses).
lead_status_changed = Signal()


def announce_status_change(lead_id: int, old: str, new: str) -> None:
    transaction.on_commit(
        lambda: lead_status_changed.send(sender=None, lead_id=lead_id, old=old, new=new)
    )


# Sent inside the transaction that changed a lead, with the lead row (locked): ``lead``,
# ``change`` ("status", "touch", "release"), and for a status change ``old`` and ``new``.
# Receivers (the SLA clocks) write their rows in that same transaction; they must not do
# anything that leaves the database.
lead_changed = Signal()


def announce_change(lead, change: str, **data) -> None:
    lead_changed.send(sender=None, lead=lead, change=change, **data)


# Sent inside the transaction in which the owner accepted the lead (``lead_accept``), with
# the ``lead`` row (locked, now accepted; its ``owner_id`` is who accepted it). Not sent
# when a touch takes an assigned lead straight on to contacted: that is not announced as
# an acceptance. Receivers write their rows in that transaction.
lead_accepted = Signal()


def announce_accepted(lead) -> None:
    lead_accepted.send(sender=None, lead=lead)
