"""Database helpers every app may use (a leaf module, like leadhub.lanes)."""

from collections.abc import Callable, Hashable, Iterable, Sequence

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


def rows_replace(
    rows: models.QuerySet,
    wanted: Iterable[models.Model],
    *,
    key: Callable[[models.Model], Hashable],
    fields: Sequence[str] = (),
) -> None:
    """Make ``rows`` (a parent's set of child rows) hold ``wanted`` (unsaved instances,
    their parent set): a stored row whose ``key`` is wanted stays, its ``fields`` updated
    where they differ; the other stored rows are deleted and the other wanted ones created.

    Row by row, each write a ``save`` or ``delete`` with its model signals, so the audit
    log records each change (``bulk_create`` sends none), and writing the same set again
    writes nothing: a delete-everything-then-insert would record every row twice on each
    playbook import. The sets are a parent's few rows (a week of hours, a pool's members).
    """
    wanted = list(wanted)
    keys = [key(row) for row in wanted]
    if len(set(keys)) != len(keys):
        raise ValueError("rows_replace: two wanted rows have the same key.")
    wanted_keys = set(keys)
    stored: dict[Hashable, models.Model] = {}
    for row in rows:
        if key(row) in stored or key(row) not in wanted_keys:
            row.delete()
        else:
            stored[key(row)] = row
    for k, new in zip(keys, wanted, strict=True):
        row = stored.get(k)
        if row is None:
            new.save()
            continue
        changed = []
        for name in fields:
            attname = row._meta.get_field(name).attname
            if getattr(row, attname) != getattr(new, attname):
                setattr(row, attname, getattr(new, attname))
                changed.append(name)
        if changed:
            row.save(update_fields=changed)
