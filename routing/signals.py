"""Signals routing sends, so the SLA and notification layer (above it) can react."""

from django.db import transaction
from django.dispatch import Signal

# Sent after the transaction that stored a decision commits: ``lead_id``, ``decision_id``.
lead_routed = Signal()


def announce_routed(lead_id: int, decision_id: int) -> None:
    transaction.on_commit(
        lambda: lead_routed.send(sender=None, lead_id=lead_id, decision_id=decision_id)
    )
