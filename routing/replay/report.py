"""The replay's figures, counted lead by lead as the replay goes (nothing per lead is kept)
and summed up at the end. Pure: no ORM.

Definitions:

- *changed*: the replayed decision's owner, pool or outcome differs from the lead's stored
  routing decision (its first automatic one);
- *share per rep*: the rep's leads ÷ all assigned leads, before (stored) and after (replay);
- *fairness per pool*: over the leads the pool's method chose (rotation leads; named-rep,
  account-owner and manager leads are not the pool's to share), each member's share
  against its target share (its weight ÷ the members' weights: the pool's override, else
  the rep's weight; equal shares in methods without weights). ``max_deviation`` is the
  largest |share - target| in percentage points; ``gini`` the Gini coefficient of the
  members' leads per unit of weight (0: perfectly proportional; 1: one member has all);
- *SLA load*: a rep's assigned leads ÷ the rep's business hours in the window (whole hours
  whose middle falls inside their working hours, outside time off and holidays; a rep with
  no working hours set works every hour), before and after;
- *uncovered*: leads no rule matched, and leads whose rule wanted the territory's pool
  when no territory covers them, with their countries.
"""

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from reps.availability import RepSnapshot, in_working_hours, local_now
from routing import engine

NO_TERRITORY = "no territory covers the lead"
WEIGHTED = frozenset({engine.Method.WEIGHTED_ROUND_ROBIN, engine.Method.PERFORMANCE_WEIGHTED})


class Tally:
    """Counts of one replay, before (stored) and after (replayed)."""

    def __init__(self, world: engine.World) -> None:
        self.world = world
        self.leads = 0
        self.unrouted = 0
        self.changed = Counter[str]()  # owner / pool / outcome / any
        self.outcomes = {"before": Counter[str](), "after": Counter[str]()}
        self.reps = {"before": Counter[int](), "after": Counter[int]()}
        self.rotation = {"before": Counter[tuple[int, int]](), "after": Counter[tuple[int, int]]()}
        self.uncovered = {"no_rule": Counter[str](), "no_territory": Counter[str]()}
        self.uncovered_before = 0
        self.reasons: dict[str, int] = {}

    def add(self, lead: Mapping[str, Any], stored: Any, decision: engine.Decision) -> None:
        self.leads += 1
        after = self.outcomes["after"]
        after[decision.outcome] += 1
        if decision.rep_id is not None and decision.outcome == engine.ASSIGNED:
            self.reps["after"][decision.rep_id] += 1
            if decision.state_update is not None:
                self.rotation["after"][(decision.pool_id, decision.rep_id)] += 1
        if decision.rule_id is None:
            self.uncovered["no_rule"][lead.get("country") or "?"] += 1
        elif decision.fallback_reason == NO_TERRITORY:
            self.uncovered["no_territory"][lead.get("country") or "?"] += 1
        if stored is None:
            self.unrouted += 1
            self.changed["any"] += 1
            return
        self.outcomes["before"][stored.outcome] += 1
        if stored.rep_id is not None and stored.outcome == engine.ASSIGNED:
            self.reps["before"][stored.rep_id] += 1
            if stored.rotation and stored.pool_id is not None:
                self.rotation["before"][(stored.pool_id, stored.rep_id)] += 1
        if stored.rule_id is None and not stored.rule_name and stored.outcome == engine.TRIAGE:
            self.uncovered_before += 1
        owner = stored.rep_id != decision.rep_id
        pool = stored.pool_id != decision.pool_id
        outcome = stored.outcome != decision.outcome
        self.changed["owner"] += owner
        self.changed["pool"] += pool
        self.changed["outcome"] += outcome
        self.changed["any"] += owner or pool or outcome

    def summary(self, start: datetime, end: datetime) -> dict[str, Any]:
        reps = self.world.reps
        return {
            "leads": self.leads,
            "unrouted": self.unrouted,
            "changed": self.changed["any"],
            "changed_owner": self.changed["owner"],
            "changed_pool": self.changed["pool"],
            "changed_outcome": self.changed["outcome"],
            "reasons": dict(sorted(self.reasons.items(), key=lambda kv: -kv[1])),
            "outcomes": {k: dict(v) for k, v in self.outcomes.items()},
            "triage": {k: v["triage"] for k, v in self.outcomes.items()},
            "nurture": {k: v["nurture"] for k, v in self.outcomes.items()},
            "share_per_rep": self._shares(),
            "fairness": [self._fairness(pool) for pool in self.world.pools.values()],
            "sla_load": sla_load(reps, self.reps, start, end),
            "uncovered": {
                "no_rule": sum(self.uncovered["no_rule"].values()),
                "no_territory": sum(self.uncovered["no_territory"].values()),
                "before": self.uncovered_before,
                "countries": dict(
                    (self.uncovered["no_rule"] + self.uncovered["no_territory"]).most_common(20)
                ),
            },
        }

    def _shares(self) -> list[dict[str, Any]]:
        before, after = self.reps["before"], self.reps["after"]
        total_b, total_a = sum(before.values()) or 1, sum(after.values()) or 1
        rows = []
        for rid in sorted(set(before) | set(after)):
            rep = self.world.reps.get(rid)
            rows.append(
                {
                    "rep_id": rid,
                    "rep": rep.name if rep else f"#{rid}",
                    "before": before[rid],
                    "after": after[rid],
                    "share_before": round(before[rid] / total_b, 4),
                    "share_after": round(after[rid] / total_a, 4),
                }
            )
        return rows

    def _fairness(self, pool: engine.Pool) -> dict[str, Any]:
        members = tuple(dict.fromkeys(pool.member_ids))
        weights = {rid: target_weight(pool, self.world.reps.get(rid), rid) for rid in members}
        row: dict[str, Any] = {"pool_id": pool.id, "pool": pool.name, "method": pool.method}
        for when in ("before", "after"):
            counts = {rid: self.rotation[when][(pool.id, rid)] for rid in members}
            row[when] = fairness(counts, weights)
        return row


def target_weight(pool: engine.Pool, rep: RepSnapshot | None, rid: int) -> float:
    if pool.method not in WEIGHTED:
        return 1.0
    override = pool.settings.weights.get(rid)
    if override is not None:
        return float(override)
    return float(rep.weight) if rep else 0.0


def fairness(counts: Mapping[int, int], weights: Mapping[int, float]) -> dict[str, Any]:
    """Max deviation from target share (percentage points) and the Gini coefficient of
    leads per unit of weight, over the members with a positive weight."""
    members = [rid for rid in counts if weights.get(rid, 0) > 0]
    total = sum(counts[rid] for rid in members)
    total_weight = sum(weights[rid] for rid in members)
    if not members or not total:
        return {"leads": total, "max_deviation": 0.0, "gini": 0.0}
    deviation = max(abs(counts[rid] / total - weights[rid] / total_weight) for rid in members)
    return {
        "leads": total,
        "max_deviation": round(100 * deviation, 2),
        "gini": round(gini([counts[rid] / weights[rid] for rid in members]), 4),
    }


def gini(values: list[float]) -> float:
    """The Gini coefficient: Σ_i (2i - n - 1) x_i ÷ (n Σ x), x sorted ascending."""
    xs = sorted(values)
    n, total = len(xs), sum(xs)
    if n == 0 or total == 0:
        return 0.0
    return sum((2 * i - n - 1) * x for i, x in enumerate(xs, start=1)) / (n * total)


def business_hours(
    rep: RepSnapshot, start: datetime, end: datetime, cache: dict | None = None
) -> int:
    """Whole hours of the window whose middle falls in the rep's working hours, outside
    their time off and holidays. ``cache`` shares the working hours of reps with the same
    schedule and time zone."""
    cache = {} if cache is None else cache
    key = (rep.timezone, rep.working_hours)
    if key not in cache:
        hours = []
        at = start + timedelta(minutes=30)
        while at < end:
            local = local_now(rep, at)
            if in_working_hours(rep.working_hours, local):
                hours.append((at, local.date()))
            at += timedelta(hours=1)
        cache[key] = hours
    if not rep.holidays and not rep.time_off:
        return len(cache[key])
    return sum(
        1
        for at, day in cache[key]
        if day not in rep.holidays and not any(s <= at < e for s, e in rep.time_off)
    )


def sla_load(
    reps: Mapping[int, RepSnapshot],
    assigned: Mapping[str, Counter],
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    """Leads per rep per business hour, before and after (see the module's definition)."""
    rows = []
    cache: dict = {}
    for rid in sorted(set(assigned["before"]) | set(assigned["after"])):
        rep = reps.get(rid)
        hours = business_hours(rep, start, end, cache) if rep else 0
        before, after = assigned["before"][rid], assigned["after"][rid]
        rows.append(
            {
                "rep_id": rid,
                "rep": rep.name if rep else f"#{rid}",
                "business_hours": hours,
                "before": round(before / hours, 3) if hours else None,
                "after": round(after / hours, 3) if hours else None,
            }
        )

    def peak(when: str) -> float | None:
        values = [r[when] for r in rows if r[when] is not None]
        return max(values) if values else None

    return {"per_rep": rows, "max_before": peak("before"), "max_after": peak("after")}
