"""Latency benchmark: from capture to assigned, through a running routing lane.

    .venv/bin/python bench/bench_latency.py                        # SQLite (temp file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/bench_latency.py                    # PostgreSQL

For each broker (``--broker orm``, ``redis`` or ``both``, the default) it makes a throwaway
database (as bench_intake.py does), the routing set-up of bench_assign.py (20 reps, 4 pools,
10 rules), and starts the routing lane as production does, ``manage.py lane routing`` (the
``routing`` cluster of Q_CLUSTER["ALT_CLUSTERS"]: LEADHUB_ROUTING_WORKERS workers, 2 by
default), on it: the ORM broker in that database, or Redis at REDIS_URL
(redis://127.0.0.1:6379/14 by default, flushed first). Nothing else is needed: the capture's
on-commit hook queues each lead's routing task in that lane, and this set-up has no outbox
traffic (no rep email, no webhook). Then this process captures leads through
``lead_capture`` at ``--rate`` per second for ``--seconds``, as intake would. When every lead
has been decided it reports assigned_at - captured_at over the assigned leads: p50, p90,
p99, max. (bench_lanes.py measures the same with every Procfile process under load.)

Targets on the ORM broker: p50 <= 100 ms, p99 <= 300 ms. The ORM broker polls: an idle
pusher sleeps the routing lane's "poll" (Q_POLL, 0.05 s) between looks at the queue, so a
lead arriving while it sleeps waits up to that long before a worker sees it; Redis blocks on
the list and wakes at once.
"""

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_assign import Submissions, set_up_world
from bench_intake import database_version, in_throwaway_database, percentile

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
TARGET_P50, TARGET_P99 = 0.100, 0.300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--broker", choices=["orm", "redis", "both"], default="both")
    parser.add_argument("--rate", type=float, default=50.0, help="leads per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    args = parser.parse_args()

    if args.broker == "both":
        # One process per broker: the broker is fixed when the settings are read.
        for broker in ("orm", "redis"):
            argv = [sys.executable, __file__, "--broker", broker, "--rate", str(args.rate)]
            argv += ["--seconds", str(args.seconds), "--redis-url", args.redis_url]
            subprocess.run(argv, check=True)  # noqa: S603 (this script, its own arguments)
        return

    os.environ.pop("REDIS_URL", None)
    # What is measured is the routing lane: a lead captured on its own would otherwise be
    # routed by this process right after its commit (LEADHUB_ROUTE_AT_CAPTURE).
    os.environ["LEADHUB_ROUTE_AT_CAPTURE"] = "false"
    if args.broker == "redis":
        os.environ["REDIS_URL"] = args.redis_url
    in_throwaway_database(run, args)


@contextlib.contextmanager
def cluster(log: Path):
    """The routing lane (``manage.py lane routing``); on exit SIGTERM, which the command
    passes to its cluster (killing the cluster's group if it does not stop in time)."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "lane", "routing"],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # The command did not stop: its death signal (PR_SET_PDEATHSIG) stops the
            # cluster, which runs in a process group of its own.
            proc.kill()
            proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def wait_decided(ids: list[int], timeout: float) -> bool:
    from leadhub.leads.models import Lead

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Lead.objects.filter(pk__in=ids, status="new").exists():
            return True
        time.sleep(0.2)
    return False


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import F

    from leadhub.leads.models import Lead
    from leadhub.leads.services import lead_capture

    logging.getLogger("django-q").setLevel(logging.WARNING)
    if args.broker == "redis":
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
    call_command("migrate", verbosity=0)
    set_up_world()
    subs = Submissions()
    q = settings.Q_CLUSTER["ALT_CLUSTERS"]["routing"]
    print(
        f"{database_version()}, broker {args.broker}"
        + (f" ({args.redis_url})" if args.broker == "redis" else f" (poll {q['poll']} s)")
        + f", routing lane with {q['workers']} workers, {args.rate:g} leads/s for "
        + f"{args.seconds:g} s"
    )
    log = Path(tempfile.mkstemp(prefix="lh_bench_lane_routing_", suffix=".log")[1])
    with cluster(log):
        # Warm-up: the cluster has started and routed a few when these are decided.
        warm = [lead_capture(data=subs.next(), channel="api").lead.pk for _ in range(5)]
        if not wait_decided(warm, 60):
            sys.exit(f"The routing lane routed nothing within 60 s; see {log}")
        ids = []
        count = int(args.rate * args.seconds)
        start = time.monotonic()
        late = 0
        for i in range(count):
            due = start + i / args.rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                late += 1
            ids.append(lead_capture(data=subs.next(), channel="api").lead.pk)
        sent = time.monotonic() - start
        done = wait_decided(ids, 120)
    log.unlink(missing_ok=True)
    leads = Lead.objects.filter(pk__in=ids)
    assigned = sorted(
        (a - c).total_seconds()
        for a, c in leads.exclude(assigned_at=None)
        .annotate(c=F("captured_at"))
        .values_list("assigned_at", "c")
    )
    others = leads.filter(assigned_at=None).exclude(status="new").count()
    print(
        f"  sent {count} leads in {sent:.1f} s ({count / sent:.1f}/s, {late} behind schedule); "
        f"{len(assigned)} assigned, {others} decided otherwise"
        + ("" if done else f", {leads.filter(status='new').count()} NOT DECIDED in 120 s")
    )
    if not assigned:
        return
    p50, p90, p99 = (percentile(assigned, p) for p in (50, 90, 99))
    print(
        f"  capture -> assigned: p50 {p50 * 1000:.0f} ms  p90 {p90 * 1000:.0f} ms  "
        f"p99 {p99 * 1000:.0f} ms  max {assigned[-1] * 1000:.0f} ms"
    )
    if args.broker == "orm":
        verdict = "meets" if p50 <= TARGET_P50 and p99 <= TARGET_P99 else "misses"
        print(f"  ({verdict} the ORM targets p50 <= 100 ms, p99 <= 300 ms)")


if __name__ == "__main__":
    main()
