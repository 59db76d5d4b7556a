"""A/B experiment overhead: ``lead_route`` with an experiment running against without one.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/bench_experiment.py                 # PostgreSQL
    .venv/bin/python bench/bench_experiment.py                     # SQLite (temp file)

The world of ``bench_assign.py`` (20 reps, 4 pools, 4 territories, 10 published rules) is
published twice (versions 1 and 2, the same rules), and one experiment splits *every* lead
50/50 between the two versions: the worst case (each route places the lead, hashes it,
decides with an arm's compiled rules and stores the arm), while the routing work itself is
the same in both modes, so the difference is what experiments cost.

Timed: ``--n`` routes per mode, interleaved lead by lead (ABBA), so that the machine's
drift falls on both modes alike. Without: ``routing.services.core`` is given no running
experiment (its ``running_experiments`` replaced by one returning none, for that route
only); with: the real one, from the process's cached set-up. The database, the caches and
the leads' mix are the same for both. Target: with / without <= 1.05 (issue 14). Also
printed: the statements per route in each mode (over ``--count-n`` routes each), and the
pure engine's cost of the same decisions (``decide`` against
``decide_with_experiments``), free of database noise.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_assign import Submissions, capture, set_up_world, time_route
from bench_intake import database_version, describe, in_throwaway_database

TARGET_RATIO = 1.05


def set_up_experiment() -> int:
    from django.utils import timezone

    from routing.experiments.services import experiment_save
    from routing.models import RuleSet
    from routing.services import ruleset_draft, ruleset_publish

    ruleset_draft()
    ruleset_publish(note="bench: the same rules again")
    now = timezone.now()
    experiment = experiment_save(
        name="Bench",
        segment={},
        arm_a_ruleset=RuleSet.objects.get(version=1),
        arm_b_ruleset=RuleSet.objects.get(version=2),
        split=50,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    return experiment.pk


def route_in_mode(lead_id: int, on: bool) -> float:
    """Seconds of one ``lead_route``, with the running experiment or with none."""
    from routing.services import core, lead_route

    real = core.running_experiments
    if not on:
        core.running_experiments = tuple
    try:
        started = time.perf_counter()
        decision = lead_route(lead_id=lead_id)
        elapsed = time.perf_counter() - started
    finally:
        core.running_experiments = real
    assert decision is not None and (decision.experiment_id is not None) == on
    return elapsed


def statements(subs: Submissions, n: int) -> dict[bool, float]:
    """Statements per route in each mode, over ``n`` routes each, interleaved."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts: dict[bool, list[int]] = {False: [], True: []}
    for i, pk in enumerate(capture(subs, 2 * n)):
        with CaptureQueriesContext(connection) as ctx:
            route_in_mode(pk, i % 2 == 0)
        counts[i % 2 == 0].append(len(ctx.captured_queries))
    return {on: statistics.fmean(c) for on, c in counts.items()}


def engine_only(subs: Submissions, n: int) -> tuple[float, float]:
    """Microseconds per decision, pure engine: without and with the running experiment."""
    from django.utils import timezone

    from leadhub.leads.models import Lead
    from routing.engine import decide
    from routing.engine.experiments import decide_with_experiments
    from routing.selectors import lead_snapshot
    from routing.world import routing_inputs, running_experiments

    ids = capture(subs, n)
    snapshots = [lead_snapshot(lead) for lead in Lead.objects.filter(pk__in=ids)]
    now = timezone.now()
    inputs = routing_inputs(now=now)
    experiments = running_experiments()
    assert experiments and experiments[0].running(now)
    best = {}
    for name, call in (
        ("without", lambda s: decide(s, inputs.rules, inputs.world, now)),
        (
            "with",
            lambda s: decide_with_experiments(s, inputs.rules, inputs.world, now, experiments),
        ),
    ):
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            for s in snapshots:
                call(s)
            runs.append((time.perf_counter() - started) / len(snapshots) * 1e6)
        best[name] = min(runs)
    return best["without"], best["with"]


def run(args: argparse.Namespace) -> None:
    import logging

    import django

    django.setup()
    from django.core.management import call_command

    logging.getLogger("django-q").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    print(f"{database_version()}, Python {sys.version.split()[0]}, Django {django.__version__}")
    set_up_world()
    set_up_experiment()
    subs = Submissions()
    time_route(capture(subs, args.warmup))
    samples: dict[bool, list[float]] = {False: [], True: []}
    for i, pk in enumerate(capture(subs, 2 * args.n)):
        on = i % 4 in (1, 2)  # ABBA
        samples[on].append(route_in_mode(pk, on))
    print(f"Per route, {args.n} per mode, interleaved lead by lead (ABBA):")
    off = describe("without an experiment", samples[False])
    on = describe("with an experiment (every lead placed)", samples[True])
    ratio = on["mean"] / off["mean"]
    verdict = "meets" if ratio <= TARGET_RATIO else "misses"
    print(
        f"  ratio with / without: mean {ratio:.3f}x, p50 {on['p50'] / off['p50']:.3f}x "
        f"({verdict} the {TARGET_RATIO:.2f}x target)"
    )
    count = statements(subs, args.count_n)
    print(f"  statements per route: without {count[False]:.2f}, with {count[True]:.2f}")
    without, with_ = engine_only(subs, args.engine_n)
    print(
        f"  pure engine per decision: without {without:.1f} us, with {with_:.1f} us "
        f"(+{with_ - without:.1f} us, {with_ / without:.3f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="routes per mode")
    parser.add_argument("--count-n", type=int, default=50, help="routes per mode, statements")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--engine-n", type=int, default=2000, help="decisions, pure engine part")
    args = parser.parse_args()
    # Leads are captured beforehand and routed by the timer, not by the capture.
    os.environ["LEADHUB_ROUTE_AT_CAPTURE"] = "false"
    in_throwaway_database(run, args)


if __name__ == "__main__":
    main()
