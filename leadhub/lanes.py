"""The lanes work travels in (design.md §4): each is a django-q2 cluster with its own queue
and workers, so routing never waits behind a slow webhook and housekeeping never holds up
either. A leaf module: every app may import it, it imports none of them.

- ``routing``: routing captured leads, refunds, the routing sweep (milliseconds each);
- ``outbox``: one task per email, Slack or webhook delivery (seconds, retried);
- ``housekeeping``: rollups, recounts and purges, and any schedule without a lane.

The SLA clocks have no lane: the ticker process (``manage.py ticker``) acts on them.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string
from django_q.tasks import async_task

logger = logging.getLogger(__name__)

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


def attempt(lane: str, func: str, *args: Any, **options: Any) -> None:
    """Run ``func(*args)`` here and now, in the calling process, and queue it in ``lane``
    only if that fails: for work whose latency is the product (routing a lead the moment it
    is captured), with the lane's workers and the sweeps as the safety net. If even the
    queue fails, the error is logged, not raised: the caller's own work is committed, and
    the sweep finds what was left undone. Held back like ``enqueue`` inside ``held()``."""
    held_back = getattr(_held, "tasks", None)
    if held_back is not None:
        held_back.append((lane, func, args))
        return
    try:
        import_string(func)(*args)
        return
    except Exception:
        logger.exception("%s%r failed in this process; queued in the %s lane", func, args, lane)
    try:
        enqueue(lane, func, *args, **options)
    except Exception:
        logger.exception("Could not queue %s%r; the sweep will do it", func, args)
