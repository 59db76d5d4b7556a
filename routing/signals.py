"""Signals routing sends, so the SLA and notification layer (above it) can react."""

from django.dispatch import Signal

# Sent inside the transaction that stored a decision, after the lead got its owner:
# ``lead_id``, ``decision_id``, and the ``lead`` and ``decision`` rows themselves.
# Receivers write their rows in that transaction (an in-app notification, outbox rows, SLA
# clocks: all or nothing with the assignment) and put anything that leaves the database
# (mail, webhooks) behind ``transaction.on_commit``.
lead_routed = Signal()


def announce_routed(lead, decision) -> None:
    lead_routed.send(
        sender=None, lead_id=lead.pk, decision_id=decision.pk, lead=lead, decision=decision
    )
