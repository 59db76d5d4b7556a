# The SQL here is assembled from table names and fixed fragments only; every value is a
# query parameter.
# ruff: noqa: S608
"""**Fairness**, per pool, over decisions in the period counted in the pool's rotation
(``rotation``; owner-routed and manual decisions are not) and not refunded: each member's
share of the count and of the score sum, the target share from the weights (the pool
member's weight, else the rep's), deviation = share - target, the largest absolute
deviation, and the Gini coefficient of share ÷ target over the members (0: every member got
exactly their weighted share; equal weights: the plain Gini of counts). For fairness the
rule filter keeps the decisions from that rule.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from leadhub.web.metrics.common import (
    DECISION,
    LEAD,
    MetricFilter,
    Scope,
    _rep_names,
    _rows,
    _where,
    scope_of,
)
from reps.models import Rep
from routing.models import Pool, PoolMember


def gini(values: list[float]) -> float | None:
    """The Gini coefficient: mean absolute difference over twice the mean (0 = equal)."""
    n = len(values)
    total = sum(values)
    if n == 0 or total == 0:
        return None
    ordered = sorted(values)
    weighted = sum((2 * (i + 1) - n - 1) * x for i, x in enumerate(ordered))
    return weighted / (n * total)


def fairness(f: MetricFilter, user) -> list[dict[str, Any]]:
    """Per pool: each member's count and score share against the weighted target."""
    scope = scope_of(user)
    pools = Pool.objects.select_related("team").order_by("name")
    if scope.team_ids is not None:
        pools = pools.filter(team_id__in=scope.team_ids)
    if f.team_id is not None:
        pools = pools.filter(team_id=f.team_id)
    if f.rep_id is not None:
        pools = pools.filter(members__rep_id=f.rep_id)
    pools = list(pools.exclude(method=Pool.Method.CLAIM_QUEUE))
    if not pools:
        return []
    where = _where(
        MetricFilter(f.start, f.end, source=f.source, rule_name=f.rule_name),
        Scope(None),
        time="d.created_at",
        rep="d.rep_id",
        rule="d.rule_name",
    )
    marks = ", ".join(["%s"] * len(pools))
    rows = _rows(
        f"SELECT d.pool_id, d.rep_id, COUNT(*), COALESCE(SUM(l.score), 0) "
        f"FROM {DECISION} d JOIN {LEAD} l ON l.id = d.lead_id "
        f"WHERE d.rotation AND d.refunded_at IS NULL AND d.rep_id IS NOT NULL "
        f"AND d.pool_id IN ({marks}) AND {where.sql} GROUP BY d.pool_id, d.rep_id",
        [p.pk for p in pools] + where.params,
    )
    got: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    for pool_id, rep_id, n, score in rows:
        got[pool_id][rep_id] = (n, int(score))
    weights: dict[int, dict[int, int]] = defaultdict(dict)
    for m in PoolMember.objects.filter(pool__in=pools).select_related("rep"):
        weights[m.pool_id][m.rep_id] = m.weight or m.rep.weight
    team_reps: dict[int, dict[int, int]] = defaultdict(dict)
    for r in Rep.objects.filter(team_id__in={p.team_id for p in pools}, active=True):
        team_reps[r.team_id][r.pk] = r.weight
    names = _rep_names(
        {rep for d in got.values() for rep in d}
        | {rep for d in weights.values() for rep in d}
        | {rep for d in team_reps.values() for rep in d}
    )
    out = []
    for pool in pools:
        members = weights.get(pool.pk) or team_reps.get(pool.team_id, {})
        out.append(_pool_fairness(pool, members, got.get(pool.pk, {}), names))
    return out


def _pool_fairness(
    pool: Pool, weights: dict[int, int], got: dict[int, tuple[int, int]], names: dict[int, str]
) -> dict[str, Any]:
    total_weight = sum(weights.values())
    total_n = sum(n for n, _ in got.values())
    total_score = sum(s for _, s in got.values())
    members = []
    for rep_id in sorted(set(weights) | set(got), key=lambda r: names.get(r, "")):
        n, score = got.get(rep_id, (0, 0))
        target = weights.get(rep_id, 0) / total_weight if total_weight else 0.0
        share = n / total_n if total_n else None
        score_share = score / total_score if total_score else None
        members.append(
            {
                "rep_id": rep_id,
                "rep": names.get(rep_id, ""),
                "weight": weights.get(rep_id, 0),
                "target": target,
                "count": n,
                "share": share,
                "deviation": None if share is None else share - target,
                "score": score,
                "score_share": score_share,
                "score_deviation": None if score_share is None else score_share - target,
            }
        )

    def summary(key: str, dev: str) -> tuple[float | None, float | None]:
        devs = [abs(m[dev]) for m in members if m[dev] is not None]
        ratios = [m[key] / m["target"] for m in members if m["target"] and m[key] is not None]
        return (max(devs) if devs else None, gini(ratios) if ratios else None)

    max_dev, gini_count = summary("share", "deviation")
    max_score_dev, gini_score = summary("score_share", "score_deviation")
    return {
        "pool_id": pool.pk,
        "pool": pool.name,
        "method": pool.method,
        "team_id": pool.team_id,
        "decisions": total_n,
        "score": total_score,
        "max_deviation": max_dev,
        "gini": gini_count,
        "max_score_deviation": max_score_dev,
        "gini_score": gini_score,
        "members": members,
    }
