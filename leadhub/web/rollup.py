# The SQL here is assembled from table names and fixed fragments only; every value is a
# query parameter.
# ruff: noqa: S608
"""The speed-to-lead rollup: a daily histogram of the four durations, so the dashboard's
speed metric does not re-read (and re-join, and sort) every lead of the period.

``SpeedBucket`` rows: per capture day (UTC), owner's team (null: no owner), measure
(``assign``, ``notify``, ``accept``, ``touch``; plus ``lead``, bucket 0: the leads captured,
so a day with leads but no durations is still listed, as the live computation lists it)
and bucket, how many leads.

Buckets are log-spaced with ratio 1.02: a duration of x seconds > 0 is in bucket
``1 + floor(ln(x + 1) / ln 1.02)``, x = 0 in bucket 0, and x < 0 (clock skew) in the
mirror image, minus that. A bucket stands for the geometric middle of its (x + 1) range,
so the value read back is within a factor √1.02 of x + 1: **|error| ≤ 0.995 % of
(x + 1 s)**, i.e. under 1 % of the value plus 0.01 s, and exact for 0. Percentiles are
interpolated between the two ranks around p·(n - 1), as
``percentile_cont`` does, with each rank's value read from its bucket; an interpolation of
values each within that bound is within it too. ``n`` is exact. Durations up to 1 day take
≈ 580 buckets per measure.

Which filters it serves (``serves``): no rep, source or rule filter (a team filter and the
manager's scope are fine: rows are per owner's team), a period of whole UTC days, and a
rollup that has been built (``SpeedRollupState`` exists). Anything else is computed live
and exactly by ``metrics.speed``. Today is always live: its own row is exact and its
durations join the period's histogram, so the page is exact for today and at most one
refresh interval (5 minutes) behind for earlier days.

Keeping it current: ``tasks.speed_rollup`` (every 5 minutes, schedule in migration 0003)
refreshes the capture days of the leads whose ``updated_at`` moved since the largest one it
saw last time (the watermark, less 2 minutes for transactions that committed late): a
lead's durations change when it is assigned, accepted or touched, and each of those saves
the lead. Not followed: an in-app notification written without saving its lead, and a rep
moving to another team (their leads stay in the old team's rows) - both are caught by
``manage.py rebuild_speed_rollup``. A refresh of a day deletes its rows and writes them
again from one aggregate query over that day's leads (≈ 5,500 at 1M leads over 180 days):
on PostgreSQL the buckets are computed in SQL (``LN``); on SQLite (math functions are a
compile-time option) the day's durations are bucketed in Python.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from leadhub.web.metrics.common import (
    LEAD,
    PERCENTILES,
    SPEED_MEASURES,
    MetricFilter,
    Scope,
    _aware,
    _day,
    _percentiles,
    _pg,
    _rows,
    _summary,
    _when,
    _Where,
    _where,
    day_start,
)
from leadhub.web.metrics.speed_to_lead import speed_base, speed_result
from leadhub.web.models import SpeedBucket, SpeedRollupState

RATIO = 1.02
_LOG_RATIO = math.log(RATIO)
LEADS = "lead"  # the per-day lead count, bucket 0
LAG = timedelta(minutes=2)


def bucket_of(seconds: float) -> int:
    if seconds == 0:
        return 0
    b = 1 + math.floor(math.log(abs(seconds) + 1) / _LOG_RATIO)
    return b if seconds > 0 else -b


def value_of(bucket: int) -> float:
    if bucket == 0:
        return 0.0
    value = RATIO ** (abs(bucket) - 0.5) - 1
    return value if bucket > 0 else -value


def _bucket_sql(column: str) -> str:
    return f"CAST(SIGN({column}) * (1 + FLOOR(LN(ABS({column}) + 1) / LN({RATIO}))) AS INTEGER)"


# --- Computing and storing ------------------------------------------------------------


def histogram(start: datetime, end: datetime) -> dict[tuple[str, int | None, str, int], int]:
    """``{(day, team_id, measure, bucket): leads}`` over the leads captured in
    [start, end): one aggregate query."""
    where = _Where()
    where.add("l.captured_at >= %s AND l.captured_at < %s", _when(start), _when(end))
    base = speed_base(where.sql, team=True)
    out: dict[tuple[str, int | None, str, int], int] = defaultdict(int)
    if _pg():
        parts = ["SELECT day, team, 'lead', 0, COUNT(*) FROM b GROUP BY 1, 2"] + [
            f"SELECT day, team, '{m}', {_bucket_sql(m)}, COUNT(*) FROM b "
            f"WHERE {m} IS NOT NULL GROUP BY 1, 2, 4"
            for m in SPEED_MEASURES
        ]
        for day, team, measure, bucket, n in _rows(
            f"WITH b AS ({base}) " + " UNION ALL ".join(parts), where.params
        ):
            out[(day, team, measure, bucket)] += n
        return out
    for day, *values, team in _rows(base, where.params):
        out[(day, team, LEADS, 0)] += 1
        for measure, value in zip(SPEED_MEASURES, values, strict=True):
            if value is not None:
                out[(day, team, measure, bucket_of(value))] += 1
    return out


def speed_rollup_refresh(days: Iterable[date]) -> int:
    """Recompute each day's rows (delete, then write); returns the rows written."""
    written = 0
    for day in sorted(set(days)):
        with transaction.atomic():
            counts = histogram(day_start(day), day_start(day + timedelta(days=1)))
            SpeedBucket.objects.filter(day=day).delete()
            rows = [
                SpeedBucket(day=day, team_id=team, metric=m, bucket=b, count=n)
                for (_, team, m, b), n in counts.items()
            ]
            SpeedBucket.objects.bulk_create(rows, batch_size=2000)
            written += len(rows)
    return written


def _changed_days(since: datetime | None) -> tuple[list[date], datetime | None]:
    """The capture days of the leads updated after ``since`` (all when None), and the
    largest ``updated_at`` among them."""
    where = _Where()
    if since is not None:
        where.add("l.updated_at > %s", _when(since))
    rows = _rows(
        f"SELECT {_day('l.captured_at')}, MAX(l.updated_at) FROM {LEAD} l "
        f"WHERE {where.sql} GROUP BY 1",
        where.params,
    )
    latest = [_aware_dt(r[1]) for r in rows]
    return [date.fromisoformat(r[0]) for r in rows], max(latest) if latest else None


def _aware_dt(value: Any) -> datetime:
    return _aware(value)  # type: ignore[return-value]


def speed_rollup_rebuild(days: int | None = None) -> int:
    """Every capture day's rows from scratch (``days``: only the last ``days`` days, up to
    today, and the state is left alone); returns the rows written."""
    started = timezone.now()
    if days is not None:
        today = started.date()
        return speed_rollup_refresh(today - timedelta(days=i) for i in range(days))
    state = SpeedRollupState.objects.first()
    all_days, latest = _changed_days(None)
    SpeedBucket.objects.all().delete()
    written = speed_rollup_refresh(all_days)
    _save_state(state, latest, started)
    return written


def speed_rollup_tick() -> int:
    """The task's work: refresh the days of leads updated since the watermark (the whole
    rollup when it was never built); returns the rows written."""
    state = SpeedRollupState.objects.first()
    if state is None:
        return speed_rollup_rebuild()
    started = timezone.now()
    since = state.watermark - LAG if state.watermark else None
    days, latest = _changed_days(since)
    written = speed_rollup_refresh(days)
    _save_state(state, latest, started)
    return written


def _save_state(state: SpeedRollupState | None, latest: datetime | None, at: datetime) -> None:
    state = state or SpeedRollupState()
    if latest is not None and (state.watermark is None or latest > state.watermark):
        state.watermark = latest
    state.refreshed_at = at
    state.save()


# --- Reading --------------------------------------------------------------------------


def _whole_day(when: datetime) -> bool:
    return when == day_start(when.date())


def _fits(f: MetricFilter) -> bool:
    return (
        f.rep_id is None
        and not f.source
        and not f.rule_name
        and _whole_day(f.start)
        and _whole_day(f.end)
    )


def serves(f: MetricFilter) -> bool:
    """Whether the rollup answers this filter (see the module's docstring)."""
    return _fits(f) and SpeedRollupState.objects.exists()


def as_of(f: MetricFilter) -> datetime | None:
    """When the rollup's figures (days before today) were refreshed, if it serves ``f``;
    None when ``f`` is computed live."""
    if not _fits(f):
        return None
    state = SpeedRollupState.objects.first()
    return state.refreshed_at if state else None


def speed(f: MetricFilter, scope: Scope) -> dict[str, Any]:
    """``metrics.speed`` from the rollup for the days before today and live for today."""
    teams = {f.team_id} if f.team_id is not None else set()
    if scope.team_ids is not None:
        teams |= set(scope.team_ids)
    if len(teams) > 1:  # a team filter outside the scope: no lead matches both
        return speed_result({})
    team = next(iter(teams), None)
    today = timezone.now().date()
    first, last = f.start.date(), f.end.date()  # last excluded
    hist: dict[str, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    for day, measure, bucket, n in _stored_rows(first, min(last, today), team):
        per = hist[day][measure]
        per[bucket] = per.get(bucket, 0) + n
    daily: dict[str, dict] = defaultdict(dict)
    for day, measures in hist.items():
        daily[day] = {m: _hist_summary(measures.get(m, {})) for m in SPEED_MEASURES}
    if first <= today < last:
        start = day_start(today)
        live = MetricFilter(start=start, end=start + timedelta(days=1), team_id=f.team_id)
        where = _where(live, scope, time="l.captured_at", rep="l.owner_id")
        exact = _percentiles(speed_base(where.sql), where.params, SPEED_MEASURES)
        exact.pop("all", None)
        daily.update(exact)
        for (day, t, measure, bucket), n in histogram(start, live.end).items():
            if team is None or t == team:
                per = hist[day][measure]
                per[bucket] = per.get(bucket, 0) + n
    total: dict[str, dict[int, int]] = defaultdict(dict)
    for measures in hist.values():
        for measure, counts in measures.items():
            per = total[measure]
            for bucket, n in counts.items():
                per[bucket] = per.get(bucket, 0) + n
    if hist:
        daily["all"] = {m: _hist_summary(total.get(m, {})) for m in SPEED_MEASURES}
    return speed_result(daily)


def _stored_rows(first: date, last: date, team: int | None) -> list[tuple]:
    """``(day, measure, bucket, leads)`` of the stored days in [first, last)."""
    table = SpeedBucket._meta.db_table
    where = _Where()
    where.add("day >= %s AND day < %s", first, last)
    if team is not None:
        where.add("team_id = %s", team)
    return [
        (day if isinstance(day, str) else day.isoformat(), measure, bucket, int(n))
        for day, measure, bucket, n in _rows(
            f"SELECT day, metric, bucket, SUM(count) FROM {table} WHERE {where.sql} "
            f"GROUP BY day, metric, bucket",
            where.params,
        )
    ]


def _value_at(items: list[tuple[int, int]], rank: int) -> float:
    """The value of the ``rank``-th (from 0) duration of a sorted histogram."""
    seen = 0
    for bucket, n in items:
        seen += n
        if rank < seen:
            return value_of(bucket)
    return value_of(items[-1][0])


def _hist_summary(counts: dict[int, int]) -> dict[str, Any]:
    n = sum(counts.values())
    if not n:
        return _summary([None] * len(PERCENTILES), 0)
    items = sorted(counts.items())
    values: list[float | None] = []
    for p in PERCENTILES:
        h = p * (n - 1)
        low = math.floor(h)
        frac = h - low
        a = _value_at(items, low)
        b = _value_at(items, low + 1) if frac else a
        values.append(a + frac * (b - a))
    return _summary(values, n)
