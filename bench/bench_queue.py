"""The rep's queue page with 200 open leads: server time and queries.

    .venv/bin/python bench/bench_queue.py                          # SQLite (temp file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/bench_queue.py                      # PostgreSQL

Target ("Pages for people"): the queue page for a rep with 200 open leads in <= 100 ms,
with a fixed number of queries (the count is pinned in leadhub/web/tests/test_queue.py).

Set-up, in a throwaway database (as bench_intake.py): a team of 5 reps in a round-robin
pool, an SLA policy (accept 60 min, touch 8 h, a reminder), a claim queue with 20 waiting
leads, and --history closed leads of other reps; then --open leads routed to the rep
through ``lead_route`` (so each has its decision, events, notifications and two running
clocks), a third of them accepted. Timed: GET /queue/ and the poll with nothing changed,
through Django's test client signed in as the rep (the whole request: middleware, session,
view, templates), --runs times after 3 warm-ups. DEBUG is off.
"""

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_intake import database_version, describe, in_throwaway_database

TARGET_MS = 100.0


def set_up(open_leads: int, history: int) -> object:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from leadhub.leads.models import Lead
    from leadhub.leads.services import lead_accept, lead_capture
    from reps.load import rep_loads_recount
    from reps.models import Rep, Team
    from routing.models import Pool, PoolMember, Rule
    from routing.services import lead_route, ruleset_draft, ruleset_publish
    from sla.models import SlaPolicy, SlaStep

    User = get_user_model()
    team = Team.objects.create(name="Inside", region="NA", timezone="America/New_York")
    reps = []
    for i in range(5):
        user = User.objects.create(username=f"rep{i}", first_name="Rep", last_name=str(i))
        reps.append(Rep.objects.create(user=user, team=team, timezone="America/New_York"))
    me = reps[0]
    pool = Pool.objects.create(name="Me", team=team, settings={"check_hours": False})
    PoolMember.objects.create(pool=pool, rep=me, position=0)
    queue = Pool.objects.create(name="Partners", team=team, method="claim_queue")
    PoolMember.objects.bulk_create(
        [PoolMember(pool=queue, rep=r, position=n) for n, r in enumerate(reps)]
    )
    draft = ruleset_draft()
    Rule.objects.create(
        ruleset=draft,
        position=0,
        name="Partners",
        condition={"field": "source", "op": "eq", "value": "partner"},
        action="pool",
        action_pool=queue,
    )
    Rule.objects.create(
        ruleset=draft, position=1, name="Everyone", condition={}, action="pool", action_pool=pool
    )
    ruleset_publish()
    policy = SlaPolicy.objects.create(name="Inbound", accept_minutes=60, touch_minutes=480)
    SlaStep.objects.create(policy=policy, position=1, action="remind", minutes=10)
    now = timezone.now()
    Lead.objects.bulk_create(
        Lead(
            email=f"old{i}@history.example",
            first_name="Old",
            last_name=str(i),
            status="converted",
            owner=reps[1 + i % 4],
            captured_at=now - timedelta(days=1 + i % 90),
            assigned_at=now - timedelta(days=1 + i % 90),
        )
        for i in range(history)
    )
    rep_loads_recount()

    def capture(i: int, source: str) -> int:
        data = {
            "email": f"buyer{i}@prospect{i}.example",
            "first_name": "Pat",
            "last_name": f"Buyer{i}",
            "company": f"Company {i}",
            "country": "US",
            "source": source,
        }
        return lead_capture(data=data, channel="api").lead.pk

    for i in range(20):
        lead_route(lead_id=capture(100_000 + i, "partner"))
    for i in range(open_leads):
        lead_id = capture(i, "website")
        lead_route(lead_id=lead_id)
        if i % 3 == 0:
            lead_accept(lead_id=lead_id, rep_id=me.pk)
    return me


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--open", type=int, default=200, help="open leads of the rep")
    parser.add_argument("--history", type=int, default=20_000, help="closed leads of others")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="cProfile 10 page loads")
    args = parser.parse_args()
    in_throwaway_database(run, args)


def run(args: argparse.Namespace) -> None:
    import logging

    import django

    django.setup()
    from django.conf import settings

    # DEBUG off picks the manifest storage, which needs collectstatic; the plain storage
    # builds the same URLs without a manifest (production's is a dict look-up, as cheap).
    settings.STORAGES["staticfiles"]["BACKEND"] = (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    logging.getLogger("django-q").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    print(f"{database_version()}, Python {sys.version.split()[0]}, Django {django.__version__}")
    started = time.perf_counter()
    me = set_up(args.open, args.history)
    print(f"Set-up: {args.open} open leads for the rep, {args.history:,} others' leads, "
          f"20 in a claim queue ({time.perf_counter() - started:.0f} s)")  # fmt: skip
    client = Client()
    client.force_login(me.user)

    def timed(url: str, expect: int) -> list[float]:
        samples = []
        for n in range(args.runs + 3):
            began = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - began
            assert response.status_code == expect, (url, response.status_code)
            if n >= 3:
                samples.append(elapsed)
        return samples

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(10):
            client.get("/queue/")
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return
    page = timed("/queue/", 200)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/queue/")
    size, count = len(response.content), len(queries)  # before the next request resets them
    found = re.search(r'id="queue-version" name="v" value="([^"]*)"', response.content.decode())
    version = found.group(1) if found else ""
    poll = timed(f"/queue/poll/?v={version}", 204) if version else []
    print(f"GET /queue/: {count} queries, {size / 1024:.0f} KB")
    stats = describe("queue page", page)
    if poll:
        describe("poll, unchanged", poll)
    p50 = statistics.median(page) * 1000
    verdict = "meets" if stats["p50"] * 1000 <= TARGET_MS else "misses"
    print(f"  p50 {p50:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
