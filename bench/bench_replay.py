"""Replay benchmark: ``routing.replay.replay_run`` over the last 30 days' stored leads.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/bench_replay.py                  # 10k, then 100k leads
    ... bench/bench_replay.py --sizes 10000,100000,1000000      # and 1M

PostgreSQL only (history is loaded with COPY). A set-up of 200 reps in 10 teams (each a
manager and 19 reps; five time zones; working hours for most, time off for some, a holiday
calendar for half), 10 pools (one per team: round robin, weighted round robin, skills
match, score tiers, availability first), 10 territories and 50 published rules (country
and size, source, score, title; a catch-all to the territory's pool with the manager as
fallback). Leads are spread over the last 30 days; each gets a stored routing decision
made by the pure engine over the same set-up when it is loaded (so the version in force
replays mostly as it was), loaded with COPY as well.

Timed at each size, in the same run:
- *baseline*: reading the window's leads and their decisions as the replay does
  (``routing.replay.inputs.lead_rows``) and nothing else: the floor a replay cannot beat;
- *replay, draft*: the draft (the version in force with one rule changed: a fifth of the
  leads change) — the figure the target is about;
- *replay, in force*: the version in force.
Per lead costs and the process's peak memory (RSS) are printed. Targets: 100k ≤ 10 s, and
linear in leads (the per lead cost flat from 10k to 100k), memory flat.
"""

import argparse
import random
import resource
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_intake import copy_rows, database_version, in_throwaway_database

TARGET_SECONDS_100K = 10.0
TARGET_SECONDS_1M = 100.0
# The history is generated and COPY-loaded this many leads at a time.
LOAD_CHUNK = 50_000
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles", "Europe/London"]
COUNTRIES = ["US", "US", "CA", "GB", "DE", "FR", "AT", "NL", "JP", "AU", "SG", "BR", "IN", "MX"]
SOURCES = ["website", "website", "partner", "webinar", "event", "ads"]
METHODS = [
    "round_robin",
    "weighted_round_robin",
    "skills_match",
    "score_tiers",
    "availability_first",
]
PRODUCTS = ["routing", "sla", "analytics", ""]


def set_up(rng: random.Random) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from reps.models import Holiday, HolidayCalendar, Rep, Skill, Team, TimeOff, WorkingHours
    from routing.models import Pool, PoolMember, Rule, Territory
    from routing.services import ruleset_draft, ruleset_publish

    User = get_user_model()
    now = datetime.now().astimezone()
    skills = [Skill.objects.create(name=n) for n in PRODUCTS if n]
    calendar = HolidayCalendar.objects.create(name="Bench")
    for days in (6, 20):
        Holiday.objects.create(
            calendar=calendar, date=(now - timedelta(days=days)).date(), name="H"
        )
    pools = []
    reps = []
    for t in range(10):
        zone = ZONES[t % len(ZONES)]
        team = Team.objects.create(name=f"Team {t}", region="NA", timezone=zone)
        members = []
        for i in range(20):
            n = t * 20 + i
            user = User.objects.create(username=f"rep{n}", first_name="Rep", last_name=str(n))
            rep = Rep.objects.create(
                user=user,
                team=team,
                role=Rep.Role.MANAGER if i == 0 else Rep.Role.REP,
                timezone=zone,
                languages=["en", "de"] if n % 3 == 0 else ["en"],
                tier=1 + n % 3,
                weight=1 + n % 3,
                holiday_calendar=calendar if n % 2 else None,
            )
            rep.skills.set([skills[n % len(skills)]])
            if n % 5:
                WorkingHours.objects.bulk_create(
                    [
                        WorkingHours(rep=rep, weekday=d, start=clock(8), end=clock(18))
                        for d in range(5)
                    ]
                )
            if n % 10 == 3:
                start = now - timedelta(days=rng.randint(2, 27))
                TimeOff.objects.create(rep=rep, start=start, end=start + timedelta(days=3))
            reps.append(rep)
            if i:
                members.append(rep)
        method = METHODS[t % len(METHODS)]
        settings: dict[str, Any] = {"check_hours": t % 2 == 0}
        if method == "skills_match":
            settings["skill_field"] = "product_interest"
        if method == "score_tiers":
            settings["tiers"] = [[0, 1], [50, 2], [80, 3]]
        pool = Pool.objects.create(name=f"Pool {t}", team=team, method=method, settings=settings)
        PoolMember.objects.bulk_create(
            [PoolMember(pool=pool, rep=r, position=p) for p, r in enumerate(members)]
        )
        pools.append(pool)
    for t in range(10):
        Territory.objects.create(
            name=f"Territory {t}", countries=COUNTRIES[t : t + 2], pool=pools[t]
        )
    draft = ruleset_draft()

    def when(field: str, op: str, value: Any) -> dict[str, Any]:
        return {"field": field, "op": op, "value": value}

    rules = []
    for r in range(40):
        countries = [COUNTRIES[(r + k) % len(COUNTRIES)] for k in range(2)]
        condition = {
            "all": [when("country", "in", countries), when("employees", "gte", 200 * (r + 1))]
        }
        rules.append((f"Size {r}", condition, "pool", pools[r % 10], "manager"))
    for r, source in enumerate(SOURCES[2:]):
        rules.append((f"Source {source}", when("source", "eq", source), "pool", pools[r], "pool"))
    rules.append(("Low score", when("score", "lt", 5), "nurture", None, "triage"))
    rules.append(("Students", when("title", "contains", "student"), "nurture", None, "triage"))
    rules.append(("Hot", when("score", "gte", 95), "pool", pools[3], "manager"))
    rules.append(("Japan", when("country", "eq", "JP"), "pool", pools[2], "manager"))
    rules.append(("German", when("language", "eq", "de"), "pool", pools[4], "manager"))
    rules.append(("Everyone else", {}, "territory_pool", None, "manager"))
    assert len(rules) == 50
    for position, (name, condition, action, pool, fallback) in enumerate(rules):
        Rule.objects.create(
            ruleset=draft,
            position=position,
            name=name,
            condition=condition,
            action=action,
            action_pool=pool,
            fallback=fallback,
            fallback_pool=pools[9] if fallback == "pool" else None,
        )
    version = ruleset_publish(note="bench")
    draft = ruleset_draft()
    # The draft: webinar leads go to nurture instead of a pool.
    draft.rules.filter(name="Source webinar").update(action="nurture", action_pool=None)
    return {"version": version, "draft": draft}


def load_leads(count: int, first_id: int, rng: random.Random, version) -> float:
    """``count`` leads captured over the last 30 days (ids from ``first_id``), each with a
    stored routing decision made by the engine in capture order; COPY, ``LOAD_CHUNK`` leads
    at a time (so a million leads load in flat memory). Seconds taken."""
    from django.db import connection
    from django.utils import timezone

    from leadhub.leads.models import Lead
    from routing import engine
    from routing.models import Decision
    from routing.replay.inputs import replay_world
    from routing.selectors import compiled_ruleset

    started = time.perf_counter()
    now = timezone.now()
    start = now - timedelta(days=30) + timedelta(minutes=5)
    span = (now - timedelta(minutes=5) - start).total_seconds()
    stamps = sorted(start + timedelta(seconds=span * rng.random()) for _ in range(count))
    template = Lead(company="Bench Inc", channel="api")
    fields = [f for f in Lead._meta.concrete_fields]
    base = {f.attname: getattr(template, f.attname) for f in fields}
    # The stored decisions: the engine over the set-up, in capture order, rotation kept.
    rules = compiled_ruleset(version)
    states: dict[int, engine.PoolState] = {}
    world = replace(replay_world(start, now), states=states)
    named = [
        "lead_id", "kind", "reason", "effective", "created_at", "ruleset_version", "rule_name",
        "method", "pool_id", "rep_id", "outcome", "rotation", "payload",
    ]  # fmt: skip
    # Any other column (added by later features) takes its model default.
    others = [
        f for f in Decision._meta.concrete_fields if f.attname not in named and f.attname != "id"
    ]
    defaults = tuple(f.get_default() for f in others)
    for offset in range(0, count, LOAD_CHUNK):
        leads, decisions = [], []
        for i in range(offset, min(count, offset + LOAD_CHUNK)):
            lead = bench_lead(base, first_id + i, stamps[i], rng)
            snapshot = {**lead, "account_owner_id": None}
            d = engine.decide(snapshot, rules, world, lead["captured_at"])
            if d.state_update is not None:
                pid = d.state_update.pool_id
                states[pid] = engine.apply_update(world.state_of(pid), d.state_update)
            if d.outcome == "assigned":
                lead["owner_id"] = d.rep_id
                lead["assigned_at"] = lead["captured_at"]
                lead["status"] = "disqualified" if lead["closed_at"] else "assigned"
            else:
                lead["status"] = d.outcome
                lead["closed_at"] = None
            leads.append(lead)
            decisions.append(
                (
                    lead["id"],
                    "auto",
                    "",
                    True,
                    lead["captured_at"],
                    d.ruleset_version,
                    d.rule_name,
                    d.method or d.action,
                    d.pool_id,
                    d.rep_id,
                    d.outcome,
                    d.rotation,
                    {"explanation": list(d.trace[:1])},
                )
            )
        copy_rows(
            "leads_lead",
            [f.column for f in fields],
            ([lead[f.attname] for f in fields] for lead in leads),
        )
        copy_rows(
            Decision._meta.db_table,
            [*named, *(f.column for f in others)],
            (row + defaults for row in decisions),
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('leads_lead', 'id'), max(id)) FROM leads_lead"
        )
        cursor.execute("ANALYZE leads_lead")
        cursor.execute(f"ANALYZE {Decision._meta.db_table}")
    return time.perf_counter() - started


def bench_lead(base: dict[str, Any], lead_id: int, captured: datetime, rng: random.Random):
    country = rng.choice(COUNTRIES)
    closed = rng.random() < 0.7
    return {
        **base,
        "id": lead_id,
        "email": f"lead{lead_id}@bench{lead_id % 997}.example",
        "email_domain": f"bench{lead_id % 997}.example",
        "country": country,
        "employees": rng.choice([10, 50, 300, 1200, 5000, 20000]),
        "source": rng.choice(SOURCES),
        "score": rng.randint(0, 100),
        "title": "student" if rng.random() < 0.03 else "Head of Sales",
        "product_interest": rng.choice(PRODUCTS),
        "language": "de" if country in ("DE", "AT") else "",
        "captured_at": captured,
        "updated_at": captured,
        "status": "disqualified" if closed else "new",
        "closed_at": captured + timedelta(days=2) if closed else None,
    }


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline(ruleset) -> tuple[float, int]:
    """Reading the window's leads and decisions as the replay does, and nothing else."""
    from django.utils import timezone

    from routing.replay.inputs import lead_rows, replay_world, snapshot_fields
    from routing.selectors import compiled_ruleset

    end = timezone.now()
    start = end - timedelta(days=30)
    fields = snapshot_fields(compiled_ruleset(ruleset), replay_world(start, end))
    started = time.perf_counter()
    n = sum(len(rows) for rows in lead_rows(start, end, fields=fields))
    return time.perf_counter() - started, n


def traced_peak_mb(ruleset, days: int) -> float:
    """The most memory Python held at once during a replay (tracemalloc: slow, so timed
    runs are made without it)."""
    import tracemalloc

    from routing import world
    from routing.replay import replay_run

    world.forget()
    tracemalloc.start()
    replay_run(ruleset=ruleset, days=days)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def measure(label: str, ruleset, days: int = 30) -> tuple[float, Any]:
    from routing import world
    from routing.replay import replay_run

    world.forget()
    started = time.perf_counter()
    report = replay_run(ruleset=ruleset, days=days)
    seconds = time.perf_counter() - started
    print(
        f"  {label:<18} {seconds:7.2f} s  {seconds / max(report.leads, 1) * 1e6:6.1f} µs/lead  "
        f"leads {report.leads:,}  changed {report.changed:,}  "
        f"reasons {report.summary['reasons']}  peak RSS {peak_mb():.0f} MB"
    )
    return seconds, report


def run(args: argparse.Namespace) -> None:
    import logging

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    logging.disable(logging.WARNING)
    if connection.vendor != "postgresql":
        raise SystemExit("bench_replay.py needs DATABASE_URL (PostgreSQL): history is COPY-loaded.")
    call_command("migrate", verbosity=0)
    print(f"{database_version()}, Django {django.get_version()}, Python {sys.version.split()[0]}")
    rng = random.Random(14)
    world = set_up(rng)
    results = {}
    for size in args.sizes:
        # Each size is a history of its own, routed in one pass (stored decisions that
        # agree with one another), in place of the last.
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE leads_lead, routing_decision, routing_replayreport CASCADE")
        seconds = load_leads(size, 1, rng, world["version"])
        print(
            f"{size:,} leads in the window (+{seconds:.1f} s to load); peak RSS {peak_mb():.0f} MB"
        )
        base, n = baseline(world["draft"])
        print(f"  {'baseline (read)':<18} {base:7.2f} s  {base / n * 1e6:6.1f} µs/lead")
        draft, _ = measure("replay, draft", world["draft"])
        in_force, _ = measure("replay, in force", world["version"])
        results[size] = (base, draft, in_force)
        if size == args.sizes[-1]:
            # Linearity on the same tables: the last 3 days (a tenth of the leads).
            part, report = measure("replay, draft, 3 d", world["draft"], days=3)
            print(f"  per lead 30 d / 3 d: {draft / size / (part / max(report.leads, 1)):.2f}x")
            if args.memory:
                for days in (3, 30):
                    print(
                        f"  memory, draft {days} d: {traced_peak_mb(world['draft'], days):.1f} MB"
                    )
        if args.profile:
            import cProfile
            import pstats

            from routing.replay import replay_run

            profiler = cProfile.Profile()
            profiler.runcall(replay_run, ruleset=world["draft"], days=30)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    sizes = sorted(results)
    print("\nsize      baseline   draft    in force   draft µs/lead")
    for size in sizes:
        base, draft, in_force = results[size]
        print(
            f"{size:>9,} {base:8.2f} s {draft:7.2f} s {in_force:8.2f} s {draft / size * 1e6:9.1f}"
        )
    if 100_000 in results:
        ok = results[100_000][1] <= TARGET_SECONDS_100K
        verdict = "meets" if ok else "misses"
        print(f"100k draft replay: {results[100_000][1]:.2f} s ({verdict} the 10 s target)")
    if 1_000_000 in results:
        ok = results[1_000_000][1] <= TARGET_SECONDS_1M
        verdict = "meets" if ok else "misses"
        print(f"1M draft replay: {results[1_000_000][1]:.2f} s ({verdict} the 100 s target)")
    if len(sizes) > 1:
        small, big = sizes[0], sizes[-1]
        ratio = (results[big][1] / big) / (results[small][1] / small)
        print(f"per lead cost {big:,} / {small:,}: {ratio:.2f}x (1.0 = linear)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="leads in the window at each step, comma-separated (10000,100000)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile a draft replay")
    parser.add_argument(
        "--memory", action="store_true", help="peak traced memory of 3 d and 30 d replays"
    )
    args = parser.parse_args()
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    in_throwaway_database(run, args)


if __name__ == "__main__":
    main()
