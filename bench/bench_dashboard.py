# The load is SQL built from integers this script computes; the statements are long.
# ruff: noqa: S608, E501
"""Dashboard benchmark: every metrics endpoint and the dashboard page over 1,000,000 stored
leads, server time, against the 500 ms target.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/bench_dashboard.py                  # PostgreSQL only

In a throwaway database (``lh_bench_<pid>``, dropped at the end; see bench_intake.py):
2 teams of 10 (a manager each), a round-robin pool per team, one SLA policy, then ``--n``
leads (1,000,000) captured over the last 180 days (≈ 170,000 in the dashboard's default 30
days), written by ``INSERT ... SELECT FROM generate_series`` inside PostgreSQL (faster than
COPY from Python: no row leaves the server). Per lead: the automatic decision (one of 4
rules, in the pool's rotation, 2% refunded), its in-app notification, the ``captured`` and
``assigned`` events, an accept clock (85% met, 5% breached, 10% stopped, half of those by
an SLA reassignment with its breach event), 3% declines with one of 5 reasons; 80% accepted,
60% touched, 70% closed (a fifth of them converted), the rest open, 1% in triage and 1%
queued; the lead's ``routed_rule`` as routing stamps it. Then ANALYZE, then the speed
rollup is built (``leadhub.web.rollup.speed_rollup_rebuild``, timed).

Timed, through the Django test client (in-process WSGI, no network) signed in as RevOps
(every team) and as a manager (one team): each ``/api/metrics/<name>/``, ``/dashboard/``
and each of the page's sections (``/dashboard/sections/<name>/``, the requests the page
makes as it loads), default filters, ``--runs`` times after one warm-up; p50 / p95 / max
per path.

Options: --n (1,000,000), --runs (5), --days (180), --explain (EXPLAIN ANALYZE of each
metric's SQL), --keep (leave the database, print its name), --reuse NAME (time against a
database a ``--keep`` run loaded: migrate it, skip the 4-minute load, keep it).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_intake import database_version, throwaway_database

TARGET_MS = 500.0
PATHS = [
    "/api/metrics/speed/",
    "/api/metrics/sla/",
    "/api/metrics/acceptance/",
    "/api/metrics/conversion/",
    "/api/metrics/fairness/",
    "/api/metrics/workload/",
    "/dashboard/",
    # The page loads each section with its own request (htmx): each is timed on its own.
    *(f"/dashboard/sections/{name}/" for name in
      ("speed", "sla", "acceptance", "conversion", "fairness", "workload")),
]  # fmt: skip


def set_up() -> dict:
    from django.contrib.auth import get_user_model

    from reps.models import Rep, RepLoad, Team
    from routing.models import Pool, PoolMember
    from sla.models import SlaPolicy

    User = get_user_model()
    revops = User.objects.create_user("revops", is_staff=True)
    teams, pools, managers = [], [], []
    for t in range(2):
        team = Team.objects.create(name=f"Team {t}")
        pool = Pool.objects.create(name=f"Pool {t}", team=team, method="round_robin")
        for r in range(10):
            user = User.objects.create_user(f"rep{t}_{r}", first_name=f"Rep {t}.{r}")
            rep = Rep.objects.create(
                user=user, team=team, role="manager" if r == 0 else "rep", max_open=50
            )
            PoolMember.objects.create(pool=pool, rep=rep, position=r, weight=1 + r % 2)
            RepLoad.objects.create(rep=rep, open_leads=(r * 7) % 60)
            if r == 0:
                managers.append(user)
        teams.append(team)
        pools.append(pool)
    SlaPolicy.objects.create(name="Standard", accept_minutes=15, touch_minutes=120)
    return {"revops": revops, "manager": managers[0], "pools": pools}


def load(n: int, days: int) -> float:
    """Everything in SQL: a lead i belongs to rep ``reps[i % 20]`` and that rep's pool."""
    from django.db import connection

    from reps.models import Rep
    from routing.models import Pool
    from sla.models import SlaPolicy

    reps = list(Rep.objects.order_by("pk").values_list("pk", "team_id"))
    pool_of_team = dict(Pool.objects.values_list("team_id", "pk"))
    rep_ids = "ARRAY[" + ",".join(str(r) for r, _ in reps) + "]"
    pool_ids = "ARRAY[" + ",".join(str(pool_of_team[t]) for _, t in reps) + "]"
    policy = SlaPolicy.objects.get().pk
    started = time.perf_counter()
    statements = [
        "SELECT setseed(0.42)",
        # The leads, with the per-lead random draws kept in columns of a temp table.
        f"""CREATE TEMP TABLE g AS SELECT i,
              now() - (random() * interval '{days} days') AS captured,
              random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5
            FROM generate_series(1, {n}) i""",
        f"""INSERT INTO leads_lead (id, email, email_domain, first_name, last_name, phone, title,
              company, website, industry, employee_band, country, state, city, postal_code,
              timezone, language, source, product_interest, message, pages, intent_signals,
              utm_source, utm_medium, utm_campaign, custom, is_partial, score, score_band,
              status, owner_id, channel, form_session, captured_at, updated_at, assigned_at,
              accepted_at, first_touch_at, closed_at, routed_rule)
            SELECT i, '', '', '', '', '', '', 'Bench Inc', '', '', '', 'US', '', '', '', '', '',
              (ARRAY['web_form','partner','event','ads','referral'])[1 + i % 5], '', '',
              '[]', '[]', '', '', '', '{{}}', false, (r5 * 100)::int, 'standard',
              CASE WHEN r4 < 0.01 THEN 'triage' WHEN r4 < 0.02 THEN 'queued'
                   WHEN r4 < 0.16 THEN 'converted' WHEN r4 < 0.72 THEN 'disqualified'
                   WHEN r4 < 0.76 THEN 'junk' WHEN r1 < 0.8 THEN 'accepted' ELSE 'assigned' END,
              CASE WHEN r4 < 0.02 THEN NULL ELSE ({rep_ids})[1 + i % 20] END,
              'api', '', captured, captured,
              CASE WHEN r4 < 0.02 THEN NULL ELSE captured + r2 * interval '5 seconds' END,
              CASE WHEN r4 >= 0.02 AND r1 < 0.8
                   THEN captured + r2 * interval '5 seconds' + r3 * interval '1 hour' END,
              CASE WHEN r4 >= 0.02 AND r1 < 0.6
                   THEN captured + r2 * interval '5 seconds' + r3 * interval '3 hours' END,
              CASE WHEN r4 >= 0.02 AND r4 < 0.76 THEN captured + interval '2 days' END,
              CASE WHEN r4 >= 0.02
                   THEN (ARRAY['Enterprise','Inbound','Partners','Default'])[1 + (i / 7) % 4] END
            FROM g""",
        f"""INSERT INTO routing_decision (id, lead_id, kind, effective, created_at, reason,
              rule_name, method, pool_id, rep_id, outcome, rotation, refunded_at, payload)
            SELECT i, i, 'auto', true, captured + r2 * interval '5 seconds', '',
              (ARRAY['Enterprise','Inbound','Partners','Default'])[1 + (i / 7) % 4],
              'round_robin', ({pool_ids})[1 + i % 20], ({rep_ids})[1 + i % 20], 'assigned',
              true, CASE WHEN r3 < 0.02 THEN captured + interval '3 days' END, '{{}}'
            FROM g WHERE r4 >= 0.02""",
        f"""INSERT INTO sla_notification (channel, event, rep_id, address, lead_id,
              decision_id, title, payload, status, attempts, next_attempt_at, last_error,
              sent_at, created_at)
            SELECT 'in_app', 'lead.assigned', ({rep_ids})[1 + i % 20], '', i, i, 'New lead',
              '{{}}', 'sent', 0, captured, '', captured + r2 * interval '5 seconds'
                + r1 * interval '2 seconds', captured + r2 * interval '5 seconds'
                + r1 * interval '2 seconds'
            FROM g WHERE r4 >= 0.02""",
        """INSERT INTO leads_leadevent (lead_id, kind, at, data)
            SELECT i, 'captured', captured, '{}' FROM g
            UNION ALL
            SELECT i, 'assigned', captured + r2 * interval '5 seconds',
              jsonb_build_object('decision', i) FROM g WHERE r4 >= 0.02""",
        f"""INSERT INTO sla_slaclock (id, lead_id, policy_id, kind, rep_id, status, started_at,
              due_at, next_at, stage, reminded, breaches, ended_at, end_reason)
            SELECT i, i, {policy}, 'accept', ({rep_ids})[1 + i % 20],
              CASE WHEN r5 < 0.85 THEN 'met' WHEN r5 < 0.90 THEN 'breached' ELSE 'stopped' END,
              captured, captured + interval '15 minutes', captured + interval '15 minutes',
              0, false, 0, captured + r3 * interval '1 hour', ''
            FROM g WHERE r4 >= 0.02""",
        f"""INSERT INTO leads_leadevent (lead_id, kind, at, data)
            SELECT i, 'sla', captured + interval '15 minutes',
              jsonb_build_object('step', 'breach', 'clock', 'accept', 'clock_id', i,
                'policy', 'Standard', 'rep', ({rep_ids})[1 + i % 20], 'due_at', '',
                'rung', 1, 'action', CASE WHEN r5 < 0.90 THEN 'recorded' WHEN r3 < 0.5
                  THEN 'reassigned' ELSE 'escalated' END)
            FROM g WHERE r4 >= 0.02 AND r5 >= 0.85 AND (r5 < 0.90 OR r1 < 0.5)""",
        f"""INSERT INTO leads_leadevent (lead_id, kind, at, data)
            SELECT i, 'declined', captured + interval '1 minute',
              jsonb_build_object('rep', ({rep_ids})[1 + (i + 1) % 20], 'reason',
                (ARRAY['Too busy','Wrong territory','Wrong language','Duplicate',
                       'Not a fit'])[1 + i % 5])
            FROM g WHERE r3 < 0.03""",
        "SELECT setval(pg_get_serial_sequence('leads_lead', 'id'), (SELECT max(id) FROM leads_lead))",
        "SELECT setval(pg_get_serial_sequence('routing_decision', 'id'), (SELECT max(id) FROM routing_decision))",
        "SELECT setval(pg_get_serial_sequence('sla_slaclock', 'id'), (SELECT max(id) FROM sla_slaclock))",
        "DROP TABLE g",
        "ANALYZE",
    ]
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    return time.perf_counter() - started


def time_paths(user, runs: int) -> dict[str, list[float]]:
    from django.test import Client

    client = Client()
    client.force_login(user)
    times: dict[str, list[float]] = {p: [] for p in PATHS}
    for path in PATHS:
        assert client.get(path).status_code == 200, path  # warm-up
    for _ in range(runs):
        for path in PATHS:
            started = time.perf_counter()
            response = client.get(path)
            times[path].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, path
    return times


def report(title: str, times: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print(f"| path | p50 | p95 | max | ≤ {TARGET_MS:.0f} ms |")
    print("|---|---:|---:|---:|---|")
    for path, values in times.items():
        values = sorted(values)
        p50 = statistics.median(values)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        verdict = "yes" if p95 <= TARGET_MS else "**no**"
        print(f"| `{path}` | {p50:.0f} ms | {p95:.0f} ms | {values[-1]:.0f} ms | {verdict} |")


def explain() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leadhub.web import metrics

    f = metrics.MetricFilter.last_days()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="revops")
    for name in ("speed", "sla", "acceptance", "conversion", "fairness", "workload"):
        with CaptureQueriesContext(connection) as queries:
            getattr(metrics, name)(f, user)
        for q in queries.captured_queries:
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
                plan = "\n".join(row[0] for row in cursor.fetchall())
            took = (time.perf_counter() - started) * 1000
            if took > 20:
                print(f"\n--- {name}: {took:.0f} ms\n{q['sql'][:300]}\n{plan}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", metavar="NAME", default="")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("bench_dashboard.py needs DATABASE_URL=postgres://... (the 1M load is SQL).")
    if args.reuse:
        parts = urlsplit(url)
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{args.reuse}"))
        drop = None
    else:
        drop = throwaway_database()
    try:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadhub.settings")
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        settings.DEBUG = False
        settings.ALLOWED_HOSTS = ["*"]
        call_command("migrate", verbosity=0)
        print(database_version())
        from django.contrib.auth import get_user_model

        from leadhub.leads.models import Lead, LeadEvent
        from sla.models import SlaClock

        if args.reuse:
            users = get_user_model().objects
            people = {
                "revops": users.get(username="revops"),
                "manager": users.get(username="rep0_0"),
            }
            took = 0.0
        else:
            people = set_up()
            took = load(args.n, args.days)
        print(
            f"{Lead.objects.count():,} leads, {LeadEvent.objects.count():,} events, "
            f"{SlaClock.objects.count():,} clocks; loaded in {took:.0f} s"
        )
        from leadhub.web.rollup import speed_rollup_rebuild

        started = time.perf_counter()
        rows = speed_rollup_rebuild()
        print(
            f"speed rollup built: {rows:,} rows in {time.perf_counter() - started:.1f} s "
            "(every capture day, one query each)"
        )
        if args.explain:
            explain()
        report("RevOps (every team), default filters (last 30 days)",
               time_paths(people["revops"], args.runs))  # fmt: skip
        report("Manager (one team of two)", time_paths(people["manager"], args.runs))
    finally:
        if args.keep or drop is None:
            from django.db import connections

            connections.close_all()
            print(f"Kept {os.environ['DATABASE_URL'].rsplit('/', 1)[1]}")
        else:
            drop()


if __name__ == "__main__":
    main()
