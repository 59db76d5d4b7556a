"""The lanes work travels in (design.md §4): each is a django-q2 cluster with its own queue
and workers, so routing never waits behind a slow webhook and housekeeping never holds up
either. A leaf module: every app may import it, it imports none of them.

- ``routing``: routing captured leads, refunds, the routing sweep (milliseconds each);
- ``outbox``: one task per email, Slack or webhook delivery (seconds, retried);
- ``housekeeping``: rollups, recounts and purges, and any schedule without a lane.

The SLA clocks have no lane: the ticker process (``manage.py ticker``) acts on them.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django_q.tasks import async_task

ROUTING = "routing"
OUTBOX = "outbox"
HOUSEKEEPING = "housekeeping"
LANES = (ROUTING, OUTBOX, HOUSEKEEPING)


def cluster_of(lane: str) -> str:
    """The django-q2 cluster (and queue name) of ``lane``: housekeeping is the default
    cluster, the others are ``Q_CLUSTER["ALT_CLUSTERS"]``."""
    if lane == HOUSEKEEPING:
        return settings.Q_CLUSTER["name"]
    if lane not in settings.Q_CLUSTER["ALT_CLUSTERS"]:
        raise ValueError(f"Unknown lane {lane!r}; the lanes are {', '.join(LANES)}.")
    return lane


def lane_of(cluster: str) -> str:
    return HOUSEKEEPING if cluster == settings.Q_CLUSTER["name"] else cluster


_held = threading.local()


@contextmanager
def held() -> Iterator[list[tuple[str, str, tuple[Any, ...]]]]:
    """Queue nothing in this thread inside the block; yields the list of (lane, func, args)
    held back. For a caller that does every task's work itself as it goes (the demo's
    story routes, refunds and sweeps at the moments it plays), so that nothing is left
    queued for the workers to redo."""
    outer = getattr(_held, "tasks", None)
    _held.tasks = []
    try:
        yield _held.tasks
    finally:
        _held.tasks = outer


def enqueue(lane: str, func: str, *args: Any, **options: Any) -> str | None:
    """Queue ``func(*args)`` in ``lane``; ``options`` are django-q2's (group, hook, ...).
    Returns the task's id, or None inside ``held()``."""
    cluster = cluster_of(lane)
    held_back = getattr(_held, "tasks", None)
    if held_back is not None:
        held_back.append((lane, func, args))
        return None
    return async_task(func, *args, cluster=cluster, **options)
