# The SQL here is assembled from table names and fixed fragments only; every value is a
# query parameter.
# ruff: noqa: S608
"""**Conversion**, over leads *captured* in the period: rate = converted ÷ closed
(converted, disqualified or junk), by owner, by routing path (the rule of the lead's
automatic decision; "(no rule)" when none) and by source.

The rule of a lead's first automatic decision is stamped on the lead by routing
(``routed_rule``, backfilled by ``routing`` migration 0006) instead of a correlated
sub-query per lead; the three groupings share one read of the leads.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from leadhub.web.metrics.common import (
    LEAD,
    MetricFilter,
    _rate,
    _rep_names,
    _rows,
    _where,
    scope_of,
)

NO_RULE = "(no rule)"


def conversion(f: MetricFilter, user) -> dict[str, Any]:
    """Converted ÷ closed by rep, by routing path (rule) and by source."""
    scope = scope_of(user)
    where = _where(f, scope, time="l.captured_at", rep="l.owner_id")
    counts = (
        "COUNT(*), "
        "SUM(CASE WHEN status IN ('converted', 'disqualified', 'junk') THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'converted' THEN 1 ELSE 0 END)"
    )
    # One read of the period's leads for the three groupings. A lead's routing path is
    # its first automatic decision's rule, stamped on it by routing (``routed_rule``), so
    # a lead routed again later does not count twice.
    grouped: dict[str, list[tuple]] = defaultdict(list)
    for kind, key, *values in _rows(
        f"WITH b AS (SELECT l.owner_id, COALESCE(l.routed_rule, '') AS rule, l.source, "
        f"l.status FROM {LEAD} l WHERE {where.sql}) "
        f"SELECT 'rep', CAST(owner_id AS TEXT), {counts} FROM b GROUP BY owner_id "
        f"UNION ALL SELECT 'rule', rule, {counts} FROM b GROUP BY rule "
        f"UNION ALL SELECT 'source', source, {counts} FROM b GROUP BY source",
        where.params,
    ):
        grouped[kind].append((key, *values))

    def row(**key: Any) -> Any:
        def make(leads: int, closed: int, converted: int) -> dict[str, Any]:
            closed, converted = int(closed or 0), int(converted or 0)
            return {
                **key,
                "leads": leads,
                "closed": closed,
                "converted": converted,
                "rate": _rate(converted, closed),
            }

        return make

    by_rep = [(None if k is None else int(k), *v) for k, *v in grouped["rep"]]
    names = _rep_names(r[0] for r in by_rep)
    reps = [row(rep_id=k, rep=names.get(k, "(unassigned)"))(*v) for k, *v in by_rep]
    rules = [row(rule=k or NO_RULE)(*v) for k, *v in grouped["rule"]]
    sources = [row(source=k or "(none)")(*v) for k, *v in grouped["source"]]
    total = row()(*(sum(r[k] for r in reps) for k in ("leads", "closed", "converted")))
    return {
        "total": total,
        "by_rep": sorted(reps, key=lambda r: r["rep"]),
        "by_rule": sorted(rules, key=lambda r: r["rule"]),
        "by_source": sorted(sources, key=lambda r: r["source"]),
    }
