"""Routing engine benchmark: the time of one ``decide()`` over synthetic worlds.

    .venv/bin/python bench/bench_engine.py                 # the full table
    .venv/bin/python bench/bench_engine.py --n 500 --quick # a fast look

Question (from the routing issue): how long does the pure engine take to route one lead,
for 10 / 100 / 1,000 rules x 10 / 100 / 1,000 reps? Target: p99 <= 1 ms at 200 rules x
200 reps, a cell measured explicitly.

Each cell builds, from a fixed seed, a world and a rule set (nothing here is timed):

- reps across eight time zones, most with weekday 9-17 working hours, some on time off,
  away, offline, switched off or at their open-lead cap, so that a share of every pool is
  ineligible at the benchmark's instant; skills, languages, tiers, weights, a few ramping;
- seven pools, one per distribution method, each with every rep as a member (in its own
  rotation order), so every assignment weighs the whole team; an overflow pool;
- 40 territories (countries, US states, postal ranges and prefixes, nested);
- rules with realistic conditions: country in a list, employees >= N, score band =, a
  custom.* value, a regex on the title, some any / not groups, then the rule's campaign
  (utm_campaign in two codes). Actions: pools (all methods), the territory's pool, the
  account owner, nurture; fallbacks to another pool, the manager or triage.
- leads, each aimed at a rule position drawn uniformly over the rule set (so some match
  early and some late), and one lead in ten matching no rule (triage after evaluating all).

The rule set is compiled once per cell. The clock moves 7 s per lead (from a Wednesday
14:30 UTC), so nothing time-dependent can be reused from one decision to the next. Each
decision's state update is applied to the pool state before the next decision (outside the
timer), as the assignment layer would. After a warm-up, every ``decide()`` is timed alone
with ``time.perf_counter_ns``; the table shows p50 and p99 in microseconds. The 200 x 200
row also times ``decide()`` plus ``to_dict()`` (rendering the explanation and the JSON
payload that is stored per lead).
"""

import argparse
import platform
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reps.availability import RepSnapshot, WorkInterval  # noqa: E402
from routing.engine import (  # noqa: E402
    Action,
    Fallback,
    Method,
    Pool,
    PoolSettings,
    PoolState,
    Rule,
    RuleSet,
    Territory,
    World,
    apply_update,
    compile_ruleset,
    decide,
)

NOW = datetime(2026, 11, 18, 14, 30, tzinfo=UTC)  # a Wednesday
ZONES = [
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Asia/Kolkata",
    "UTC",
]
COUNTRIES = ["DE", "FR", "GB", "US", "CA", "NL", "ES", "IT", "JP", "AU", "IN", "BR", "AT", "CH"]
US_STATES = ["CA", "NY", "TX", "WA", "MA", "IL", "FL"]
SKILLS = ["payroll", "hr", "fintech", "public_sector", "healthcare", "retail"]
LANGUAGES = ["en", "de", "fr", "es", "ja"]
TITLES = ["VP Sales", "Chief Revenue Officer", "Head of HR", "Engineer", "Analyst", "Director IT"]
TITLE_PATTERNS = [r"^(vp|chief)", r"head of", r"director", r"engineer|developer"]
PLANS = ["free", "team", "business", "enterprise"]
BANDS = ["sales_ready", "standard", "nurture"]
METHODS = list(Method)


def build_reps(rng: random.Random, n: int) -> dict[int, RepSnapshot]:
    weekdays = tuple(WorkInterval(d, clock(9), clock(17)) for d in range(5))
    reps = {}
    for i in range(1, n + 1):
        roll = rng.random()
        cap = rng.choice([None, 20, 30, 50])
        reps[i] = RepSnapshot(
            id=i,
            name=f"Rep {i}",
            team_id=1 + i % 5,
            active=roll > 0.03,
            timezone=rng.choice(ZONES),
            presence="away" if roll < 0.08 else ("offline" if roll < 0.12 else "available"),
            working_hours=weekdays if rng.random() < 0.7 else (),
            time_off=((NOW - timedelta(days=1), NOW + timedelta(days=2)),)
            if rng.random() < 0.05
            else (),
            holidays=frozenset({date(2026, 12, 25)}),
            skills=frozenset(rng.sample(SKILLS, rng.randint(1, 3))),
            languages=frozenset(rng.sample(LANGUAGES, rng.randint(1, 2))),
            tier=rng.randint(1, 3),
            weight=rng.randint(1, 3),
            ramp_until=date(2026, 12, 1) if rng.random() < 0.1 else None,
            ramp_share=0.5,
            max_open=cap,
            max_per_day=rng.choice([None, 15]),
            open_count=(cap if rng.random() < 0.1 else rng.randint(0, cap - 1)) if cap else 5,
            day_count=rng.randint(0, 10),
        )
    return reps


def build_pools(rng: random.Random, reps: dict[int, RepSnapshot]) -> dict[int, Pool]:
    ids = list(reps)
    pools = {}
    for pid, method in enumerate(METHODS, start=1):
        order = ids[:]
        rng.shuffle(order)
        pools[pid] = Pool(
            pid,
            f"Pool {method}",
            method,
            tuple(order),
            PoolSettings(
                load_metric="ratio" if pid % 2 else "open",
                skill_field="product_interest",
                preferred_skills=frozenset({"fintech"}),
                language_required=method == Method.SKILLS_MATCH,
                required_skills=frozenset({"payroll"}) if pid == 5 else frozenset(),
                tiers=((0, 1), (60, 2), (85, 3)),
            ),
            team_id=1 + pid % 5,
        )
    overflow = len(pools) + 1
    pools[overflow] = Pool(overflow, "Overflow", Method.ROUND_ROBIN, tuple(ids), team_id=1)
    return pools


def build_territories() -> tuple[Territory, ...]:
    out = []
    for i, country in enumerate(COUNTRIES, start=1):
        out.append(Territory(i, country, pool_id=1 + i % 7, countries=frozenset({country})))
    us = COUNTRIES.index("US") + 1
    tid = len(out) + 1
    for state in US_STATES:
        out.append(Territory(tid, f"US-{state}", parent_id=us, states=frozenset({state})))
        tid += 1
    for low in range(0, 100000, 10000):
        out.append(
            Territory(
                tid,
                f"US-ZIP-{low}",
                parent_id=us,
                pool_id=1 + tid % 7,
                postal_ranges=((f"{low:05d}", f"{low + 9999:05d}"),),
            )
        )
        tid += 1
    de = COUNTRIES.index("DE") + 1
    for prefix in ["1", "2", "8", "80", "10"]:
        out.append(Territory(tid, f"DE-{prefix}", parent_id=de, postal_prefixes=(prefix,)))
        tid += 1
    while len(out) < 40:
        out.append(Territory(tid, f"Region {tid}", countries=frozenset({"BR", "IT"})))
        tid += 1
    return tuple(out)


def build_rules(rng: random.Random, n: int, n_pools: int) -> tuple[RuleSet, list[dict]]:
    """Rules and, per rule, field values that satisfy its realistic comparisons."""
    rules, wants = [], []
    for i in range(n):
        countries = rng.sample(COUNTRIES, rng.randint(3, 6))
        want: dict[str, Any] = {"country": countries[0]}
        parts: list[dict[str, Any]] = [{"field": "country", "op": "in", "value": countries}]
        if rng.random() < 0.6:
            threshold = rng.choice([50, 200, 1000, 5000])
            parts.append({"field": "employees", "op": "gte", "value": threshold})
            want["employees"] = threshold + rng.randint(0, 5000)
        if rng.random() < 0.4:
            band = rng.choice(BANDS)
            parts.append({"field": "score_band", "op": "eq", "value": band})
            want["score_band"] = band
        if rng.random() < 0.3:
            plan = rng.choice(PLANS)
            parts.append({"field": "custom.plan", "op": "eq", "value": plan})
            want["custom"] = {"plan": plan}
        if rng.random() < 0.3:
            pattern = rng.choice(TITLE_PATTERNS)
            title = {0: "VP Sales", 1: "Head of HR", 2: "Director IT", 3: "Engineer"}
            parts.append({"field": "title", "op": "regex", "value": pattern})
            want["title"] = title[TITLE_PATTERNS.index(pattern)]
        if rng.random() < 0.15:
            parts.append({"not": {"field": "partial", "op": "eq", "value": True}})
        if rng.random() < 0.15:
            parts.append(
                {
                    "any": [
                        {"field": "intent_signals", "op": "contains", "value": "demo"},
                        {"field": "score", "op": "gte", "value": 40},
                    ]
                }
            )
            want["score"] = 50
        codes = [f"c{i}a", f"c{i}b"]
        parts.append({"field": "utm_campaign", "op": "in", "value": codes})
        want["utm_campaign"] = codes[0]
        roll = rng.random()
        if roll < 0.7:
            action = Action("pool", 1 + i % (n_pools - 1))
        elif roll < 0.85:
            action = Action("territory_pool")
        elif roll < 0.95:
            action = Action("account_owner")
        else:
            action = Action("nurture")
        fallback = rng.choice([Fallback("pool", n_pools), Fallback("manager"), Fallback("triage")])
        rules.append(Rule(i + 1, i + 1, f"Rule {i + 1}", {"all": parts}, action, fallback))
        wants.append(want)
    return RuleSet(1, tuple(rules)), wants


def build_leads(rng: random.Random, wants: list[dict], n: int, n_reps: int) -> list[dict]:
    leads = []
    for k in range(n):
        lead: dict[str, Any] = {
            "email": f"lead{k}@example.com",
            "country": rng.choice(COUNTRIES),
            "state": rng.choice(US_STATES),
            "postal_code": f"{rng.randint(0, 99999):05d}",
            "employees": rng.randint(1, 20000),
            "score": rng.randint(0, 100),
            "score_band": rng.choice(BANDS),
            "title": rng.choice(TITLES),
            "language": rng.choice(LANGUAGES),
            "product_interest": rng.choice(SKILLS),
            "intent_signals": rng.sample(["demo_request", "pricing_page", "webinar"], 1),
            "custom": {"plan": rng.choice(PLANS)},
            "is_partial": rng.random() < 0.05,
            "utm_campaign": "none",
            "account_id": None,
            "account_owner_id": None,
        }
        if rng.random() < 0.3:
            lead["account_id"] = rng.randint(1, 500)
            lead["account_owner_id"] = rng.randint(1, n_reps)
        if rng.random() >= 0.1:
            lead.update(wants[rng.randrange(len(wants))])
            lead["is_partial"] = False
        leads.append(lead)
    return leads


def run_cell(n_rules: int, n_reps: int, n: int, warmup: int, with_dict: bool) -> dict[str, Any]:
    rng = random.Random(n_rules * 100_003 + n_reps)
    reps = build_reps(rng, n_reps)
    pools = build_pools(rng, reps)
    states = {pid: PoolState(pid) for pid in pools}
    world = World(
        reps=reps,
        pools=pools,
        states=states,
        territories=build_territories(),
        managers={t: 1 + t for t in range(1, 6)},
        performance={rid: rng.random() * 0.4 for rid in reps if rng.random() < 0.8},
        business_hours=tuple(WorkInterval(d, clock(8), clock(18)) for d in range(5)),
        business_timezone="Europe/Berlin",
    )
    ruleset, wants = build_rules(rng, n_rules, len(pools))
    compiled = compile_ruleset(ruleset)
    leads = build_leads(rng, wants, n + warmup, n_reps)
    times: list[int] = []
    outcomes: dict[str, int] = {}
    for k, lead in enumerate(leads):
        now = NOW + timedelta(seconds=7 * k)
        start = time.perf_counter_ns()
        decision = decide(lead, compiled, world, now)
        if with_dict:
            decision.to_dict()
        elapsed = time.perf_counter_ns() - start
        if decision.state_update is not None:
            pid = decision.state_update.pool_id
            states[pid] = apply_update(states[pid], decision.state_update)
        if k >= warmup:
            times.append(elapsed)
            outcomes[decision.outcome] = outcomes.get(decision.outcome, 0) + 1
    times.sort()
    return {
        "p50": times[len(times) // 2] / 1000,
        "p99": times[min(len(times) - 1, int(len(times) * 0.99))] / 1000,
        "mean": statistics.fmean(times) / 1000,
        "outcomes": outcomes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="timed decisions per cell")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="only the 200 x 200 cell")
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}, {args.n} decisions/cell")
    cells = [(r, p) for r in (10, 100, 1000) for p in (10, 100, 1000)]
    if args.quick:
        cells = []
    cells.append((200, 200))
    print(f"{'rules':>6} {'reps':>6} {'p50 µs':>9} {'p99 µs':>9} {'mean µs':>9}  outcomes")
    target = None
    for n_rules, n_reps in cells:
        r = run_cell(n_rules, n_reps, args.n, args.warmup, with_dict=False)
        outcomes = " ".join(f"{k}={v}" for k, v in sorted(r["outcomes"].items()))
        print(
            f"{n_rules:>6} {n_reps:>6} {r['p50']:>9.0f} {r['p99']:>9.0f} {r['mean']:>9.0f}  "
            f"{outcomes}"
        )
        if (n_rules, n_reps) == (200, 200):
            target = r["p99"]
    r = run_cell(200, 200, args.n, args.warmup, with_dict=True)
    print(f"   200    200 {r['p50']:>9.0f} {r['p99']:>9.0f} {r['mean']:>9.0f}  (+ to_dict)")
    verdict = "met" if target is not None and target <= 1000 else "NOT met"
    print(f"Target p99 <= 1000 µs at 200 rules x 200 reps: {verdict} ({target:.0f} µs).")


if __name__ == "__main__":
    main()
