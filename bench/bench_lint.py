"""Lint benchmark: ``playbook lint`` of the demo's playbook file, and of the set-up in place.

    .venv/bin/python bench/bench_lint.py                     # SQLite (a throwaway file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/bench_lint.py                 # PostgreSQL (a throwaway db)

A throwaway database is migrated and loaded with the demo (``seed_demo``: its month of
leads, the lint's sample), and the demo's playbook is exported to a file. Timed, in the same
run and process, ``--runs`` times each (the first of each is a warm-up, not counted):

- *baseline*: ``playbook_export`` — reading the whole set-up into a file's data, the least
  any lint of it must do;
- *lint, set-up*: ``routing.lint.database_lint`` (``playbook lint`` with no file: the draft,
  the version in force and the set-up, over a sample of the last 30 days' leads);
- *lint, FILE*: ``routing.lint.playbook_lint`` (``playbook lint FILE``: the file checked,
  imported inside a transaction that is rolled back, its rules and set-up linted).

Target (issue 14): lint of the demo playbook ≤ 1 s. Median and worst of the runs printed.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_intake import database_version, in_throwaway_database

TARGET_SECONDS = 1.0


def timed(label: str, func, runs: int) -> list[float]:
    func()  # warm-up: imports, the process's caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    print(
        f"  {label:<16} median {statistics.median(times):6.3f} s   worst {max(times):6.3f} s"
        f"   ({runs} runs)"
    )
    return times


def run(args: argparse.Namespace) -> None:
    import logging
    import os

    import django

    django.setup()
    from django.core.management import call_command

    from leadhub.leads.models import Lead
    from routing.lint import database_lint, playbook_lint
    from routing.models import Rule
    from routing.playbook import playbook_export

    logging.disable(logging.WARNING)
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)
    print(f"{database_version()}, Django {django.get_version()}, Python {sys.version.split()[0]}")
    print(
        f"demo seeded in {time.perf_counter() - started:.0f} s: {Lead.objects.count():,} leads, "
        f"{Rule.objects.count()} rules"
    )
    data = playbook_export()
    base = timed("baseline (export)", playbook_export, args.runs)
    setup = timed("lint, set-up", database_lint, args.runs)
    file = timed("lint, FILE", lambda: playbook_lint(data), args.runs)
    for label, times in (("set-up", setup), ("FILE", file)):
        worst = max(times)
        verdict = "meets" if worst <= TARGET_SECONDS else "misses"
        print(
            f"lint, {label}: worst {worst:.3f} s, {worst / statistics.median(base):.1f}x the "
            f"export ({verdict} the {TARGET_SECONDS:.0f} s target)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each (5)")
    in_throwaway_database(run, parser.parse_args())


if __name__ == "__main__":
    main()
