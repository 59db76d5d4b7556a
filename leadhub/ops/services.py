"""Writes of the ops app: leases for jobs that must not overlap, and heartbeats."""

import os
import socket
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.models import Task

from leadhub.db import delete_in_batches
from leadhub.ops.models import Heartbeat, Lease

HOST = socket.gethostname()[:255]
# The lease that keeps one routing sweep queued or running at a time.
ROUTING_SWEEP = "routing sweep"


def lease_take(*, name: str, seconds: float) -> bool:
    """Hold ``name`` for ``seconds`` unless someone holds it now; True if taken. One
    conditional UPDATE decides, so two processes asking at once get one yes."""
    now = timezone.now()
    until = now + timedelta(seconds=seconds)
    if Lease.objects.filter(name=name, until__lte=now).update(until=until):
        return True
    if Lease.objects.filter(name=name).exists():
        return False
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, until=until)
    except IntegrityError:
        return False  # created by another process a moment ago: theirs
    return True


def lease_release(*, name: str) -> None:
    Lease.objects.filter(name=name).update(until=timezone.now())


def heartbeat_beat(*, name: str, detail: dict[str, Any] | None = None) -> None:
    """Record that a process of kind ``name`` is alive now."""
    fields: dict[str, Any] = {"beat_at": timezone.now(), "host": HOST, "pid": os.getpid()}
    if detail is not None:
        fields["detail"] = detail
    if Heartbeat.objects.filter(name=name).update(**fields):
        return
    try:
        with transaction.atomic():
            Heartbeat.objects.create(name=name, **fields)
    except IntegrityError:
        Heartbeat.objects.filter(name=name).update(**fields)


def task_records_purge(*, before: datetime) -> int:
    """Delete django-q2's records of tasks that finished before ``before`` (successes and
    failures), in batches; returns how many."""
    return delete_in_batches(Task.objects.filter(stopped__lt=before))
