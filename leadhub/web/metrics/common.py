# The SQL here is assembled from table names and fixed fragments only; every value is a
# query parameter.
# ruff: noqa: S608
"""What every metric shares: the filter (:class:`MetricFilter`), who may see what
(:func:`scope_of`), and the SQL pieces the metrics assemble their queries from (the
filter's conditions, the vendor's date and JSON functions, percentiles on PostgreSQL and
SQLite alike)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from leadhub.leads.models import Lead, LeadEvent
from reps.models import Rep
from reps.selectors import rep_of, user_sees_everything
from routing.models import Decision
from sla.models import Notification, SlaClock

PERCENTILES = (0.5, 0.9, 0.95)
SPEED_MEASURES = ("assign", "notify", "accept", "touch")
DEFAULT_DAYS = 30

LEAD = Lead._meta.db_table
EVENT = LeadEvent._meta.db_table
DECISION = Decision._meta.db_table
NOTIFICATION = Notification._meta.db_table
CLOCK = SlaClock._meta.db_table
REP = Rep._meta.db_table


@dataclass(frozen=True)
class MetricFilter:
    """What to measure; ``end`` is exclusive."""

    start: datetime
    end: datetime
    team_id: int | None = None
    rep_id: int | None = None
    source: str = ""
    rule_name: str = ""

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, **kwargs: Any) -> MetricFilter:
        end = day_start(timezone.now().date() + timedelta(days=1))
        return cls(start=end - timedelta(days=days), end=end, **kwargs)


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True)
class Scope:
    """The teams a user's metrics cover: ``None`` for every team."""

    team_ids: frozenset[int] | None

    def allows_team(self, team_id: int | None) -> bool:
        return self.team_ids is None or team_id in self.team_ids


def scope_of(user) -> Scope:
    """RevOps see every team, a manager their own; reps and anyone else may not look.
    Kept on the user object, which lives as long as its request: a page composing several
    metrics (the headline) asks the groups once."""
    scope = getattr(user, "_metric_scope", None)
    if scope is None:
        scope = user._metric_scope = _scope_of(user)
    return scope


def _scope_of(user) -> Scope:
    if user_sees_everything(user):
        return Scope(None)
    me = rep_of(user)
    if me is None or me.role != Rep.Role.MANAGER:
        raise PermissionDenied("Only managers and RevOps see the metrics.")
    return Scope(frozenset({me.team_id}))


# --- SQL pieces -----------------------------------------------------------------------


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _seconds(later: str, earlier: str) -> str:
    if _pg():
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def _day(column: str) -> str:
    if _pg():
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    return f"substr({column}, 1, 10)"


def _when(value: datetime) -> Any:
    """A datetime parameter as the ORM would send it (SQLite: naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def _aware(value: Any) -> datetime | None:
    """A datetime read by raw SQL: SQLite gives naive UTC text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _json_text(column: str, key: str) -> str:
    return f"({column} ->> '{key}')" if _pg() else f"json_extract({column}, '$.{key}')"


def _json_int(column: str, key: str) -> str:
    return f"({column} ->> '{key}')::integer" if _pg() else f"json_extract({column}, '$.{key}')"


class _Where:
    """Collects SQL conditions and their parameters."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[Any] = []

    def add(self, sql: str, *params: Any) -> None:
        self.parts.append(sql)
        self.params.extend(params)

    @property
    def sql(self) -> str:
        return " AND ".join(self.parts) or "TRUE"


def _where(
    f: MetricFilter,
    scope: Scope,
    *,
    time: str | None,
    rep: str,
    lead: str = "l",
    rule: str | None = None,
) -> _Where:
    """Conditions for the filter and the scope. ``time``: the column the period applies to;
    ``rep``: the rep column the team / rep filters and the scope apply to; ``lead``: the
    lead alias the source and rule filters apply to (the rule: ``Lead.routed_rule``, its
    first automatic decision's); ``rule``: a decision's rule_name column to filter instead."""
    where = _Where()
    if time:
        where.add(f"{time} >= %s AND {time} < %s", _when(f.start), _when(f.end))
    teams: list[int] = []
    if f.team_id is not None:
        teams.append(f.team_id)
    if scope.team_ids is not None:
        teams.extend(sorted(scope.team_ids))
    for team_id in teams:
        where.add(f"{rep} IN (SELECT id FROM {REP} WHERE team_id = %s)", team_id)
    if f.rep_id is not None:
        where.add(f"{rep} = %s", f.rep_id)
    if f.source:
        where.add(f"{lead}.source = %s", f.source)
    if f.rule_name:
        where.add(f"{rule or lead + '.routed_rule'} = %s", f.rule_name)
    return where


def _rows(sql: str, params: list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _percentiles(base: str, params: list[Any], measures: tuple[str, ...]) -> dict[str, dict]:
    """p50/p90/p95 and n of each measure column of ``base`` (a SELECT of ``day`` and the
    measures), over all its rows (key ``"all"``) and per ``day``:
    ``{"all" | day: {measure: {"p50", "p90", "p95", "n"}}}``. Nulls are left out, as
    ``percentile_cont`` does."""
    out: dict[str, dict] = defaultdict(dict)
    if _pg():
        # One pass: GROUPING SETS reads and joins the rows once for both groupings.
        array = "ARRAY[" + ", ".join(str(p) for p in PERCENTILES) + "]"
        columns = ", ".join(
            f"percentile_cont({array}) WITHIN GROUP (ORDER BY b.{m}), COUNT(b.{m})"
            for m in measures
        )
        sql = (
            f"SELECT CASE WHEN GROUPING(b.day) = 1 THEN 'all' ELSE b.day END, {columns} "
            f"FROM ({base}) b GROUP BY GROUPING SETS ((b.day), ())"
        )
        for row in _rows(sql, params):
            for i, m in enumerate(measures):
                values, n = row[1 + 2 * i], row[2 + 2 * i]
                out[row[0]][m] = _summary(values or [None] * len(PERCENTILES), n)
        return out
    # SQLite has no percentile_cont: rank each group's values with window functions and
    # keep, per percentile, the two ranks it falls between (1 + p(n - 1), floor and ceil),
    # so the interpolation is the same as PostgreSQL's.
    for grp in ("'all'", "day"):
        for m in measures:
            picks = ", ".join(
                f"MAX(CASE WHEN rn = 1 + CAST({p} * (n - 1) AS INTEGER) THEN v END), "
                f"MAX(CASE WHEN rn = 2 + CAST({p} * (n - 1) AS INTEGER) THEN v END)"
                for p in PERCENTILES
            )
            sql = (
                f"WITH b AS ({base}), r AS (SELECT {grp} AS grp, {m} AS v, "
                f"ROW_NUMBER() OVER (PARTITION BY {grp} ORDER BY {m}) AS rn, "
                f"COUNT(*) OVER (PARTITION BY {grp}) AS n FROM b WHERE {m} IS NOT NULL) "
                f"SELECT grp, MAX(n), {picks} FROM r GROUP BY grp"
            )
            for row in _rows(sql, params):
                n = row[1]
                values = []
                for i, p in enumerate(PERCENTILES):
                    low, high = row[2 + 2 * i], row[3 + 2 * i]
                    h = p * (n - 1)
                    frac = h - math.floor(h)
                    values.append(low if high is None or frac == 0 else low + frac * (high - low))
                out[row[0]][m] = _summary(values, n)
    return out


def _summary(values: list[float | None], n: int) -> dict[str, Any]:
    p50, p90, p95 = (None if v is None else round(float(v), 3) for v in values)
    return {"p50": p50, "p90": p90, "p95": p95, "n": n}


def _rep_names(rep_ids) -> dict[int, str]:
    return {
        r.pk: r.display_name
        for r in Rep.objects.select_related("user").filter(pk__in=[i for i in rep_ids if i])
    }
