"""Signals reps sends to the apps above it (routing caches the reps it routes to).

``reps_changed`` is sent, inside the writing transaction, by the writes the per-model
``post_save`` / ``post_delete`` signals do not cover (bulk inserts). Upper apps connect to
it together with those model signals."""

from django.dispatch import Signal

reps_changed = Signal()
# A rep was switched off (``rep_update`` with active=False on an active rep), sent inside
# the writing transaction with ``rep_id``: routing hands their open leads on after commit.
rep_deactivated = Signal()


def announce_reps_changed() -> None:
    reps_changed.send(sender=None)


def announce_rep_deactivated(rep_id: int) -> None:
    rep_deactivated.send(sender=None, rep_id=rep_id)
