"""manage.py lane NAME: run the django-q2 cluster of one lane (leadhub/lanes.py), and stop
it cleanly on SIGTERM or Ctrl-C.

The cluster runs as a child in a process group of its own, and only its main process is
told to stop. A process manager (honcho, systemd, a container runtime) that signals the
whole group would also hit the cluster's sentinel and workers, which die at once on
SIGTERM; the main process then waits forever for locks they held (measured: 13 s and two
processes left in a futex wait, against 0.8 s and none when only the main process is
told). If the cluster does not stop within STOP_SECONDS, its group is killed: a process
manager kills the wrapper soon after (honcho after 5 s), and a cluster left without its
wrapper would outlive the stop. A delivery cut short that way is retried when its claim's
lease ends (sla.services.LEASE); a routing task is queued again (ORM broker) or found by
the routing sweep."""

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from leadhub import lanes

STOP_SECONDS = 4
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: if this wrapper dies (SIGKILL), the cluster is told to
    stop (Linux; elsewhere the cluster outlives a killed wrapper)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Command(BaseCommand):
    help = "Run the workers of one lane: " + ", ".join(lanes.LANES) + "."
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", choices=lanes.LANES)

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        env = dict(os.environ)
        env.pop("Q_CLUSTER_NAME", None)
        if name != lanes.HOUSEKEEPING:
            env["Q_CLUSTER_NAME"] = lanes.cluster_of(name)
        cluster = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "qcluster"],
            env=env,
            process_group=0,
            preexec_fn=_die_with_parent,
        )

        stop_asked: list[float] = []

        def stop(signum: int, frame: Any) -> None:
            if not stop_asked:
                stop_asked.append(time.monotonic())
            with contextlib.suppress(ProcessLookupError):
                cluster.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while True:
            try:
                code = cluster.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stop_asked and time.monotonic() - stop_asked[0] > STOP_SECONDS:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(cluster.pid, signal.SIGKILL)
        if stop_asked:
            # Whatever of the cluster's group is left (a worker mid-task) goes with it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(cluster.pid, signal.SIGKILL)
            return
        raise CommandError(f"The {name} lane's cluster stopped by itself (exit {code}).")
