"""Database helpers every app may use (a leaf module, like leadhub.lanes)."""

from django.db import models

PURGE_BATCH = 1000


def delete_in_batches(queryset: models.QuerySet, *, batch: int | None = None) -> int:
    """Delete the rows of ``queryset`` ``batch`` (PURGE_BATCH) at a time, each batch its
    own statement and transaction, so a purge of a million rows never holds a long lock
    nor one huge transaction. Returns how many rows of the queryset's model were deleted."""
    model = queryset.model
    size = batch or PURGE_BATCH
    deleted = 0
    while ids := list(queryset.order_by().values_list("pk", flat=True)[:size]):
        _total, per_model = model.objects.filter(pk__in=ids).delete()
        deleted += per_model.get(model._meta.label, 0)
    return deleted
