"""Intake benchmark: one lead through POST /api/leads/ against a bare ORM insert of it.

    .venv/bin/python bench/bench_intake.py                         # SQLite (temp file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/bench_intake.py                     # PostgreSQL

The API path is everything a caller pays for: token authentication, validation and
normalisation, the dedupe look-up, enrichment, account match, scoring, the INSERTs of the
lead and its event, and the response. The bare path is ``Lead.objects.create`` with the
same, already-normalised values: one INSERT in autocommit. Both run in this process against
a throwaway database (a temp SQLite file, or a database ``lh_bench_<pid>`` created on the
DATABASE_URL server and dropped at the end), interleaved lead by lead so that machine noise
hits both alike. The target (see README.md) is intake <= 3x the bare insert.

For reference it also times the capture service alone (``lead_capture``, no HTTP layer).

Options: --n LEADS per round per path (500), --rounds (5), --warmup (50), --preload N (store
N open leads first, to see how intake scales with the table), --sql (print the queries of
one intake), --profile (cProfile over 200 intakes).
"""

import argparse
import cProfile
import os
import platform
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_RATIO = 3.0
FIRST_NAMES = ["Ana", "Ben", "Chloé", "Dev", "Emeka", "Fatima", "Gus", "Hana", "Ivo", "Jun"]
LAST_NAMES = ["Ruiz", "Okafor", "Schmidt", "Tanaka", "Dubois", "Kowalski", "Singh", "Berg"]
TITLES = ["VP Sales", "Head of Marketing", "Sales Ops Manager", "CTO", "Engineer", "Intern"]
COUNTRIES = ["Germany", "US", "United Kingdom", "France", "de", "Canada", "Spain", "NL"]
SIGNALS = [["demo_request"], ["pricing page"], ["demo_request", "pricing_page"], []]


def throwaway_database() -> Callable[[], None]:
    """Point the settings at a fresh database; return the function that removes it."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        folder = tempfile.mkdtemp(prefix="lh_bench_")
        os.environ["SQLITE_PATH"] = str(Path(folder) / "bench.sqlite3")
        return lambda: shutil.rmtree(folder, ignore_errors=True)

    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = f"lh_bench_{os.getpid()}"
    admin_conninfo = dict(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname=parts.path.lstrip("/") or "postgres",
    )
    with psycopg.connect(**admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(**admin_conninfo, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    return drop


def set_up_pipeline() -> dict[str, list[str]]:
    """A realistic configuration: scoring rules, accounts with domains, enrichment rows.
    Returns the domains leads will use, by what the pipeline finds for them."""
    from leadhub.leads.models import Account, EnrichmentRecord, PipelineSettings, ScoringRule
    from leadhub.leads.services import account_save

    PipelineSettings.load()  # routing needs company and country
    rules = [
        ("Enterprise size", "employees", "gte", "1000", 20),
        ("Mid-size", "employee_band", "in", "201-500,501-1000", 10),
        ("Senior title", "title", "regex", r"(?i)\b(vp|head|chief|cto|ceo|director)\b", 15),
        ("Demo request", "intent_signals", "contains", "demo_request", 30),
        ("Pricing page", "intent_signals", "contains", "pricing_page", 10),
        ("Core markets", "country", "in", "US,CA,GB,DE", 5),
        ("Software", "industry", "eq", "Software", 10),
        ("Partner source", "source", "eq", "partner", 5),
        ("Intern", "title", "contains", "intern", -25),
        ("Has phone", "phone", "is_set", "", 5),
    ]
    ScoringRule.objects.bulk_create(
        [
            ScoringRule(name=n, field=f, operator=o, value=v, points=p, position=i)
            for i, (n, f, o, v, p) in enumerate(rules)
        ]
    )
    account_domains = []
    for i in range(200):
        domains = [f"account{i}.com"] + ([f"account{i}.de"] if i % 3 == 0 else [])
        account = Account(name=f"Account {i} GmbH", segment="mid_market", employees=300 + i)
        account_save(account=account, domains=domains)
        account_domains += domains
    enriched = [f"enriched{i}.io" for i in range(500)]
    EnrichmentRecord.objects.bulk_create(
        [
            EnrichmentRecord(
                domain=domain,
                company=f"Enriched {i} Ltd",
                industry="Software" if i % 2 else "Manufacturing",
                employees=50 + 40 * i,
                country="GB",
                city="London",
            )
            for i, domain in enumerate(enriched)
        ]
    )
    return {
        "account": account_domains,
        "enriched": enriched,
        "unknown": [f"unknown{i}.net" for i in range(300)],
        "free mail": ["gmail.com", "outlook.com", "yahoo.com"],
    }


class Leads:
    """Unique, realistic submissions: a quarter each matched to an account by domain,
    enriched from the local table, unknown, and on free mail; half with a phone."""

    def __init__(self, domains: dict[str, list[str]]) -> None:
        self.domains = domains
        self.kinds = list(domains)
        self.n = 0

    def next(self, prefix: str, kind: str = "") -> dict[str, Any]:
        self.n += 1
        i = self.n
        kind = kind or self.kinds[i % len(self.kinds)]
        pool = self.domains[kind]
        lead: dict[str, Any] = {
            "email": f"{prefix}.lead{i}@{pool[i % len(pool)]}",
            "first_name": FIRST_NAMES[i % len(FIRST_NAMES)],
            "last_name": LAST_NAMES[i % len(LAST_NAMES)],
            "title": TITLES[i % len(TITLES)],
            "country": COUNTRIES[i % len(COUNTRIES)],
            "source": "partner" if i % 5 == 0 else "website",
            "intent_signals": SIGNALS[i % len(SIGNALS)],
            "utm_source": "google",
            "utm_campaign": "q4-launch",
            "message": "We would like to see how routing works for a team of our size.",
        }
        if kind in ("unknown", "free mail"):
            lead["company"] = f"Company {i} Inc."
            lead["employees"] = ["1-10", "51-200", "250", "1,200", "10000+"][i % 5]
        if i % 2 == 0 and i < 100_000:
            # Unique per lead: dedupe would merge two open leads with the same phone.
            lead["phone"] = f"+1 212 5{i // 10_000:02d} {i % 10_000:04d}"
        return lead


def percentile(sorted_values: list[float], pct: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def describe(label: str, samples: list[float]) -> dict[str, float]:
    values = sorted(samples)
    figures = {
        "mean": statistics.fmean(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
    }
    print(
        f"  {label:<12} n={len(values):<5} "
        + "  ".join(f"{k} {v * 1000:7.3f} ms" for k, v in figures.items())
    )
    return figures


def database_version() -> str:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=500, help="leads per path per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument(
        "--preload", type=int, default=0, help="store this many open leads before measuring"
    )
    parser.add_argument("--sql", action="store_true", help="print the SQL of one intake")
    parser.add_argument("--profile", action="store_true", help="cProfile 200 intakes")
    parser.add_argument(
        "--profile-sort", default="cumulative", help="pstats sort key (cumulative, tottime)"
    )
    args = parser.parse_args()

    in_throwaway_database(run, args)


def copy_rows(table: str, columns: list[str], rows: Any) -> None:
    """Load ``rows`` (tuples in ``columns``' order) into ``table`` with PostgreSQL's COPY,
    8 MB at a time: how the benchmarks load history fast (bench_assign, bench_replay)."""
    import io
    import json

    from django.db import connection

    def text(value: Any) -> str:
        if value is None:
            return "\\N"
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")

    raw = connection.cursor().connection  # psycopg 3
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join(text(v) for v in row) + "\n")
            if buffer.tell() > 8_000_000:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
    if not raw.autocommit:
        raw.commit()


def in_throwaway_database(run: Callable[[argparse.Namespace], None], args) -> None:
    """Run ``run(args)`` production-like (DEBUG off) in a database of its own, removed
    afterwards whatever happens: every benchmark's way in."""
    # Production-like: with DEBUG on, Django would also record every query it runs.
    os.environ["DEBUG"] = "false"
    # DEBUG off needs a key of its own (leadhub/settings.py): any will do for a benchmark.
    os.environ.setdefault("SECRET_KEY", "bench-intake-" + "x" * 40)
    # Thousands of leads a minute through one user's token: past its rate limit (the
    # benchmark measures the path, not the limit, which stays in it: a cache read and write).
    os.environ.setdefault("LEADHUB_THROTTLE_INTAKE_USER", "1000000/minute")
    # WhiteNoise warns that collectstatic has not run; static files play no part here.
    warnings.filterwarnings("ignore", message="No directory at")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadhub.settings")
    drop = throwaway_database()
    try:
        run(args)
    finally:
        drop()


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    from leadhub.leads.intake import clean_lead_data
    from leadhub.leads.models import Channel, Lead
    from leadhub.leads.services import lead_capture

    call_command("migrate", verbosity=0)
    leads = Leads(set_up_pipeline())
    client = APIClient()
    user = get_user_model().objects.create_user("bench", is_staff=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=user)[1]}")

    def api_intake(payload: dict[str, Any]) -> float:
        start = time.perf_counter()
        response = client.post("/api/leads/", payload, format="json")
        elapsed = time.perf_counter() - start
        if response.status_code != 201:
            raise SystemExit(f"intake failed: {response.status_code} {response.content[:300]!r}")
        return elapsed

    def service_capture(payload: dict[str, Any]) -> float:
        start = time.perf_counter()
        result = lead_capture(data=payload, channel=Channel.API, actor=user)
        elapsed = time.perf_counter() - start
        if result.outcome != "created":
            raise SystemExit(f"capture was {result.outcome}, expected created")
        return elapsed

    def bare_insert(fields: dict[str, Any]) -> float:
        start = time.perf_counter()
        Lead.objects.create(**fields)
        return time.perf_counter() - start

    def bare_fields() -> dict[str, Any]:
        # The stored form of a lead, prepared outside the timer: the bare path is the INSERT.
        fields = clean_lead_data(leads.next("bare"))
        fields.update(status="new", score=35, score_band="standard")
        return fields

    # name: (make the input, outside the timer; run it and return the seconds it took)
    paths: dict[str, tuple[Callable[[], Any], Callable[[Any], float]]] = {
        "bare insert": (bare_fields, bare_insert),
        "service": (lambda: leads.next("svc"), service_capture),
        "API intake": (lambda: leads.next("api"), api_intake),
    }

    print(f"LeadHub intake benchmark, {time.strftime('%Y-%m-%d %H:%M')}")
    print(
        f"  Python {platform.python_version()}, Django {django.get_version()}, "
        f"{database_version()}, {os.cpu_count()} CPUs, {platform.platform()}"
    )
    if args.preload:
        for start in range(0, args.preload, 1000):
            batch = min(1000, args.preload - start)
            Lead.objects.bulk_create([Lead(**bare_fields()) for _ in range(batch)])
        print(f"  preloaded {args.preload} open leads")
    for _ in range(args.warmup):
        for make, timed in paths.values():
            timed(make())

    counts = []
    for kind in leads.kinds:
        with CaptureQueriesContext(connection) as queries:
            api_intake(leads.next("api", kind))
        counts.append(f"{len(queries.captured_queries)} ({kind} domain)")
        if args.sql:
            print(f"  SQL of one API intake, {kind} domain:")
            for number, query in enumerate(queries.captured_queries, 1):
                print(f"    {number:2}. {query['sql'][:300]}")
    print(f"  queries per API intake: {', '.join(counts)}")

    names = list(paths)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(args.rounds):
        this_round: dict[str, list[float]] = {name: [] for name in names}
        for i in range(args.n):
            inputs = {name: make() for name, (make, _) in paths.items()}
            # Rotate which path goes first so none always runs on a warmer cache.
            shift = (i + round_) % len(names)
            for name in names[shift:] + names[:shift]:
                this_round[name].append(paths[name][1](inputs[name]))
        means = ", ".join(f"{n} {statistics.fmean(v) * 1000:.3f}" for n, v in this_round.items())
        print(f"  round {round_ + 1} means (ms): {means}")
        for name, values in this_round.items():
            samples[name] += values

    print(f"Per lead, {args.rounds} rounds x {args.n} leads per path:")
    figures = {name: describe(name, values) for name, values in samples.items()}
    bare, api = figures["bare insert"], figures["API intake"]
    ratio_mean, ratio_p50 = api["mean"] / bare["mean"], api["p50"] / bare["p50"]
    service_ratio = figures["service"]["mean"] / bare["mean"]
    verdict = "met" if ratio_mean <= TARGET_RATIO else "NOT met"
    print(f"  ratio API/bare: mean {ratio_mean:.2f}x, median {ratio_p50:.2f}x")
    print(f"  ratio service/bare (no HTTP layer, for reference): mean {service_ratio:.2f}x")
    print(f"  target intake <= {TARGET_RATIO:g}x bare insert (by mean): {verdict}")
    print(f"  leads stored: {Lead.objects.count()}")

    if args.profile:
        profiler = cProfile.Profile()
        payloads = [leads.next("api") for _ in range(200)]
        profiler.enable()
        for payload in payloads:
            api_intake(payload)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(args.profile_sort).print_stats(40)


if __name__ == "__main__":
    main()
