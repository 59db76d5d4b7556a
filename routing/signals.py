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


# Sent inside the transaction that gave a manager the escalated lead that fills their
# ceiling (``reps.availability.escalations_left``): ``rep_id`` and ``ceiling``. Sent once
# per filling, not per lead turned away after it.
escalation_ceiling_reached = Signal()


def announce_escalation_ceiling(*, rep_id: int, ceiling: int | None) -> None:
    escalation_ceiling_reached.send(sender=None, rep_id=rep_id, ceiling=ceiling)
