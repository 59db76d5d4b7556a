# The SQL here is assembled from table names and fixed fragments only; every value is a
# query parameter.
# ruff: noqa: S608
"""**Speed to lead**, over leads *captured* in the period, from the timestamps that the
lead's services stamp in the same transaction as its events: system latency ``assign`` =
assigned_at - captured_at and ``notify`` = the in-app notification of the lead's effective
decision - assigned_at; human response ``accept`` = accepted_at - assigned_at and ``touch``
= first_touch_at - assigned_at. A reassigned lead counts its current assignment. p50 / p90
/ p95 are linear-interpolated percentiles (PostgreSQL's ``percentile_cont``; on SQLite the
same interpolation from ``ROW_NUMBER()`` and ``COUNT`` window functions, so only one or two
rows per group leave the database).

Without a rep, source or rule filter, the days before today come from a daily histogram
rollup (``leadhub.web.rollup``: log buckets, percentiles within 1 % + 0.01 s, ``n`` exact,
refreshed every 5 minutes) and today is live; with one of those filters (a small set of
leads) it is live and exact: one ``GROUPING SETS ((day), ())`` pass gives the period's and
each day's percentiles.

The rollup is per day and owner's team only: grouped by everything the filters need (day,
rep, source, rule) a day holds ≈ 14 leads per cell at 1,000,000 leads, so buckets per cell
would store about as many rows as there are leads; those filters stay live.
"""

from __future__ import annotations

from typing import Any

from leadhub.web.metrics.common import (
    DECISION,
    LEAD,
    NOTIFICATION,
    PERCENTILES,
    REP,
    SPEED_MEASURES,
    MetricFilter,
    _day,
    _percentiles,
    _seconds,
    _summary,
    _where,
    scope_of,
)


def speed_base(where_sql: str, *, team: bool = False) -> str:
    """A SELECT of each lead's capture ``day`` and its four durations (``team``: and its
    owner's team) over the leads ``where_sql`` (on alias ``l``) keeps."""
    owner_team = ", o.team_id AS team" if team else ""
    owner_join = f"LEFT JOIN {REP} o ON o.id = l.owner_id " if team else ""
    return (
        f"SELECT {_day('l.captured_at')} AS day, "
        f"{_seconds('l.assigned_at', 'l.captured_at')} AS assign, "
        f"{_seconds('n.created_at', 'l.assigned_at')} AS notify, "
        f"{_seconds('l.accepted_at', 'l.assigned_at')} AS accept, "
        f"{_seconds('l.first_touch_at', 'l.assigned_at')} AS touch{owner_team} "
        f"FROM {LEAD} l "
        f"LEFT JOIN {DECISION} d ON d.lead_id = l.id AND d.effective "
        f"AND d.outcome = 'assigned' AND l.assigned_at IS NOT NULL "
        f"LEFT JOIN {NOTIFICATION} n ON n.decision_id = d.id AND n.channel = 'in_app' "
        f"{owner_join}WHERE {where_sql}"
    )


def speed(f: MetricFilter, user) -> dict[str, Any]:
    """Percentiles of the four durations over the period and per capture day: from the
    rollup (days before today) and live (today) when ``rollup.serves`` the filter, else
    live and exact."""
    from leadhub.web import rollup  # rollup imports this module

    scope = scope_of(user)
    if rollup.serves(f):
        return rollup.speed(f, scope)
    where = _where(f, scope, time="l.captured_at", rep="l.owner_id")
    daily = _percentiles(speed_base(where.sql), where.params, SPEED_MEASURES)
    return speed_result(daily)


def speed_result(daily: dict[str, dict]) -> dict[str, Any]:
    """The response: ``daily`` as ``_percentiles`` gives it (its ``"all"`` the overall)."""
    overall = daily.pop("all", {})
    empty = {m: _summary([None] * len(PERCENTILES), 0) for m in SPEED_MEASURES}
    return {
        "overall": {**empty, **overall},
        "daily": [{"day": day, **empty, **daily[day]} for day in sorted(daily)],
    }
