# The SQL here is assembled from table names and fixed fragments only; every value is a
# query parameter.
# ruff: noqa: S608
"""The manager's metrics, computed in the database with aggregates (never a Python loop
over leads): the dashboard pages and ``/api/metrics/...`` both call these functions, so the
numbers on the page are the API's numbers.

Every function takes a validated :class:`MetricFilter` and the requesting user and returns
plain data (dicts, lists, numbers; durations in seconds, rates from 0 to 1, ``None`` when
there is nothing to divide). :func:`scope_of` decides what the user may see: RevOps every
team, a manager their own team, anyone else nothing (``PermissionDenied``).

Definitions (the period is ``start`` ≤ t < ``end``, UTC days):

- **Speed to lead**, over leads *captured* in the period, from the timestamps that the
  lead's services stamp in the same transaction as its events: system latency ``assign`` =
  assigned_at - captured_at and ``notify`` = the in-app notification of the lead's
  effective decision - assigned_at; human response ``accept`` = accepted_at - assigned_at
  and ``touch`` = first_touch_at - assigned_at. A reassigned lead counts its current
  assignment. p50 / p90 / p95 are linear-interpolated percentiles (PostgreSQL's
  ``percentile_cont``; on SQLite the same interpolation from ``ROW_NUMBER()`` and ``COUNT``
  window functions, so only one or two rows per group leave the database).
- **SLA compliance**, over clocks *started* in the period (team and rep: the clock's rep):
  met ÷ (met + breached). A clock is breached when it ended ``breached`` or when an SLA
  ``breach`` event names it (``data.clock_id``): a breach that reassigned, escalated or
  triaged the lead ends its clock ``stopped`` by the new decision. Clocks stopped for any
  other reason (the lead closed, released, reassigned by hand) and clocks still running
  count neither way.
- **Acceptance**, over leads *assigned* in the period (their current assignment) and
  decline events in the period: rate = accepted ÷ (accepted + declined); leads neither
  accepted nor declined yet are "pending". Decline reasons from the decline events.
- **Conversion**, over leads *captured* in the period: rate = converted ÷ closed
  (converted, disqualified or junk), by owner, by routing path (the rule of the lead's
  automatic decision; "(no rule)" when none) and by source.
- **Fairness**, per pool, over decisions in the period counted in the pool's rotation
  (``rotation``; owner-routed and manual decisions are not) and not refunded: each
  member's share of the count and of the score sum, the target share from the weights
  (the pool member's weight, else the rep's), deviation = share - target, the largest
  absolute deviation, and the Gini coefficient of share ÷ target over the members (0:
  every member got exactly their weighted share; equal weights: the plain Gini of counts).
- **Workload**, now: each rep's open leads (``RepLoad``) against ``max_open``; the triage
  queue and each claim queue with its size and the age of its oldest lead (since the
  decision that put it there).

Filters: ``team``/``rep`` narrow to leads owned by (clocks of, decisions for) those reps,
``source`` to the lead's source, ``rule`` to leads whose first automatic decision came from
that rule (``Lead.routed_rule``; for fairness: decisions from that rule).

How it stays fast (1,000,000 leads, 30 days ≈ 165,000 of them; bench/bench_dashboard.py
and its section in bench/README.md): every number except speed is computed live and
exactly, each metric reading its rows once and only the tables it needs.

- Speed: without a rep, source or rule filter, the days before today come from a daily
  histogram rollup (``leadhub.web.rollup``: log buckets, percentiles within 1 % + 0.01 s,
  ``n`` exact, refreshed every 5 minutes) and today is live; with one of those filters (a
  small set of leads) it is live and exact: one ``GROUPING SETS ((day), ())`` pass gives
  the period's and each day's percentiles.
- SLA: the lead is joined only for a source or rule filter (the clock has its rep and
  start); "a breach event names the clock" is one hashed set of the breach events since
  the period's start (index on kind, at) instead of a JSON look-up per stopped clock.
- Conversion: the rule of a lead's first automatic decision is stamped on the lead by
  routing (``routed_rule``, backfilled by ``routing`` migration 0006) instead of a
  correlated sub-query per lead; the three groupings share one read of the leads.
- The dashboard page loads each metric's section with its own request, so no request
  waits for the sum of them (``views_dashboard.section``).

The speed rollup is per day and owner's team only: grouped by everything the filters need
(day, rep, source, rule) a day holds ≈ 14 leads per cell at this volume, so buckets per
cell would store about as many rows as there are leads; those filters stay live.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from leadhub.leads.models import Lead, LeadEvent
from reps.models import Rep, RepLoad
from reps.selectors import rep_of, user_sees_everything
from routing.models import Decision, Pool, PoolMember
from sla.models import Notification, SlaClock, SlaPolicy

PERCENTILES = (0.5, 0.9, 0.95)
SPEED_MEASURES = ("assign", "notify", "accept", "touch")
DEFAULT_DAYS = 30
NO_RULE = "(no rule)"

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
    """RevOps see every team, a manager their own; reps and anyone else may not look."""
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


# --- Speed to lead --------------------------------------------------------------------


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
    from leadhub.web import rollup

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


# --- SLA ------------------------------------------------------------------------------


def _clock_outcome(f: MetricFilter) -> tuple[str, list[Any]]:
    """The clock's outcome ('met', 'breached' or NULL) as SQL over ``c``, and its
    parameters. A breach event is written after its clock started, so the events that can
    name a clock of the period are the breach events from the period's start on: one
    index range on (kind, at), hashed once, instead of a JSON look-up per stopped clock."""
    breached = (
        f"SELECT {_json_int('e.data', 'clock_id')} FROM {EVENT} e WHERE e.kind = 'sla' "
        f"AND e.at >= %s AND {_json_text('e.data', 'step')} = 'breach'"
    )
    sql = (
        "CASE WHEN c.status = 'met' THEN 'met' "
        f"WHEN c.status = 'breached' OR (c.status = 'stopped' AND c.id IN ({breached})) "
        "THEN 'breached' END"
    )
    return sql, [_when(f.start)]


def _compliance(met: int, breached: int) -> dict[str, Any]:
    return {"met": met, "breached": breached, "compliance": _rate(met, met + breached)}


def sla(f: MetricFilter, user, *, events_limit: int | None = 50) -> dict[str, Any]:
    """Compliance per policy, team and rep; breach counts by what the ladder did; the
    latest breach events (``events_limit``; None for all of them)."""
    scope = scope_of(user)
    where = _where(f, scope, time="c.started_at", rep="c.rep_id")
    outcome, outcome_params = _clock_outcome(f)
    # The lead is joined only for the filters on it: the clock has its rep and start.
    join = f"JOIN {LEAD} l ON l.id = c.lead_id" if f.source or f.rule_name else ""
    sql = (
        f"SELECT policy_id, rep_id, "
        f"SUM(CASE WHEN outcome = 'met' THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN outcome = 'breached' THEN 1 ELSE 0 END) FROM "
        f"(SELECT c.policy_id, c.rep_id, {outcome} AS outcome FROM {CLOCK} c {join} "
        f"WHERE {where.sql} AND c.status IN ('met', 'breached', 'stopped')) o "
        f"GROUP BY policy_id, rep_id"
    )
    rows = _rows(sql, outcome_params + where.params)
    policies = dict(SlaPolicy.objects.values_list("pk", "name"))
    reps = {
        r.pk: r
        for r in Rep.objects.select_related("user", "team").filter(
            pk__in={row[1] for row in rows if row[1] is not None}
        )
    }
    by_policy: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_team: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    by_rep: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    total = [0, 0]
    for policy_id, rep_id, met, breached in rows:
        met, breached = int(met or 0), int(breached or 0)
        rep = reps.get(rep_id)
        keys = (
            (by_policy, policies.get(policy_id, "(no policy)")),
            (by_team, (rep.team_id, rep.team.name) if rep else (None, "(no team)")),
            (by_rep, (rep_id, rep.display_name) if rep else (None, "(no rep)")),
        )
        for bucket, key in keys:
            bucket[key][0] += met
            bucket[key][1] += breached
        total[0] += met
        total[1] += breached
    events, counts = sla_events(f, user, limit=events_limit)
    return {
        "total": _compliance(*total),
        "by_policy": [{"policy": name, **_compliance(*v)} for name, v in sorted(by_policy.items())],
        "by_team": [
            {"team_id": k[0], "team": k[1], **_compliance(*v)}
            for k, v in sorted(by_team.items(), key=lambda kv: kv[0][1])
        ],
        "by_rep": [
            {"rep_id": k[0], "rep": k[1], **_compliance(*v)}
            for k, v in sorted(by_rep.items(), key=lambda kv: kv[0][1])
        ],
        "breaches": counts,
        "events": events,
    }


def _sla_events_query(f: MetricFilter, scope: Scope, *, lead: bool = True) -> tuple[str, list[Any]]:
    """FROM and WHERE of the period's breach events; ``lead=False`` joins the lead only
    for the filters on it (every event has its lead)."""
    rep = _json_int("e.data", "rep")
    where = _where(f, scope, time="e.at", rep=rep)
    join = f"JOIN {LEAD} l ON l.id = e.lead_id" if lead or f.source or f.rule_name else ""
    return (
        f"FROM {EVENT} e {join} "
        f"WHERE e.kind = 'sla' AND {_json_text('e.data', 'step')} = 'breach' AND {where.sql}",
        where.params,
    )


def sla_events(f: MetricFilter, user, *, limit: int | None = 50) -> tuple[list[dict], dict]:
    """The SLA breach events of the period, newest first, and their counts by action
    (``reassigned``, ``escalated``, ``triaged``, ``recorded``)."""
    scope = scope_of(user)
    body, params = _sla_events_query(f, scope, lead=False)
    counts = {"total": 0, "reassigned": 0, "escalated": 0, "triaged": 0, "recorded": 0}
    for action, n in _rows(
        f"SELECT {_json_text('e.data', 'action')}, COUNT(*) {body} GROUP BY 1", params
    ):
        counts[action or "recorded"] = counts.get(action or "recorded", 0) + n
        counts["total"] += n
    body, params = _sla_events_query(f, scope)
    events = list(_sla_event_rows(body, params, limit))
    return events, counts


def iter_sla_events(f: MetricFilter, user) -> Iterator[dict]:
    """Every breach event of the period, newest first, fetched in chunks (CSV export)."""
    body, params = _sla_events_query(f, scope_of(user))
    return _sla_event_rows(body, params, None)


def _sla_event_rows(body: str, params: list[Any], limit: int | None) -> Iterator[dict]:
    sql = (
        f"SELECT e.at, e.lead_id, l.status, l.owner_id, {_json_int('e.data', 'rep')}, "
        f"{_json_text('e.data', 'clock')}, {_json_text('e.data', 'policy')}, "
        f"{_json_text('e.data', 'action')} {body} ORDER BY e.at DESC, e.id DESC"
        + (f" LIMIT {int(limit)}" if limit is not None else "")
    )
    names = dict((r.pk, r.display_name) for r in Rep.objects.select_related("user").only("user"))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(2000):
            for at, lead_id, status, owner_id, rep_id, clock, policy, action in chunk:
                yield {
                    "at": _aware(at),
                    "lead_id": lead_id,
                    "lead_status": status,
                    "open": status not in ("converted", "disqualified", "junk"),
                    "owner_id": owner_id,
                    "rep_id": rep_id,
                    "rep": names.get(rep_id, ""),
                    "clock": clock or "",
                    "policy": policy or "",
                    "action": action or "recorded",
                }


# --- Acceptance -----------------------------------------------------------------------


def acceptance(f: MetricFilter, user) -> dict[str, Any]:
    """Accepted, declined and pending per rep; decline reasons."""
    scope = scope_of(user)
    where = _where(f, scope, time="l.assigned_at", rep="l.owner_id")
    assigned = _rows(
        f"SELECT l.owner_id, COUNT(*), COUNT(l.accepted_at), "
        f"SUM(CASE WHEN l.accepted_at IS NULL AND l.status = 'assigned' THEN 1 ELSE 0 END) "
        f"FROM {LEAD} l WHERE {where.sql} AND l.owner_id IS NOT NULL GROUP BY l.owner_id",
        where.params,
    )
    decline_rep = _json_int("e.data", "rep")
    dwhere = _where(f, scope, time="e.at", rep=decline_rep)
    declines = _rows(
        f"SELECT {decline_rep}, {_json_text('e.data', 'reason')}, COUNT(*) "
        f"FROM {EVENT} e JOIN {LEAD} l ON l.id = e.lead_id "
        f"WHERE e.kind = 'declined' AND {dwhere.sql} GROUP BY 1, 2",
        dwhere.params,
    )
    per_rep: dict[int, dict[str, int]] = defaultdict(
        lambda: {"assigned": 0, "accepted": 0, "pending": 0, "declined": 0}
    )
    for rep_id, n, accepted, pending in assigned:
        per_rep[rep_id].update(assigned=n, accepted=accepted, pending=int(pending or 0))
    reasons: dict[str, int] = defaultdict(int)
    for rep_id, reason, n in declines:
        per_rep[rep_id]["declined"] += n
        reasons[(reason or "").strip() or "(no reason)"] += n
    names = _rep_names(per_rep)
    rows = [
        {
            "rep_id": rep_id,
            "rep": names.get(rep_id, ""),
            **v,
            "rate": _rate(v["accepted"], v["accepted"] + v["declined"]),
        }
        for rep_id, v in per_rep.items()
    ]
    rows.sort(key=lambda r: r["rep"])
    total = {k: sum(r[k] for r in rows) for k in ("assigned", "accepted", "pending", "declined")}
    return {
        "total": {**total, "rate": _rate(total["accepted"], total["accepted"] + total["declined"])},
        "by_rep": rows,
        "decline_reasons": [
            {"reason": reason, "count": n}
            for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }


def _rep_names(rep_ids) -> dict[int, str]:
    return {
        r.pk: r.display_name
        for r in Rep.objects.select_related("user").filter(pk__in=[i for i in rep_ids if i])
    }


# --- Conversion -----------------------------------------------------------------------


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


# --- Fairness -------------------------------------------------------------------------


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


# --- Workload -------------------------------------------------------------------------


def workload(f: MetricFilter, user) -> dict[str, Any]:
    """Open leads against capacity per rep, now; the triage and claim queues."""
    scope = scope_of(user)
    reps = Rep.objects.select_related("user", "team").filter(active=True)
    if scope.team_ids is not None:
        reps = reps.filter(team_id__in=scope.team_ids)
    if f.team_id is not None:
        reps = reps.filter(team_id=f.team_id)
    if f.rep_id is not None:
        reps = reps.filter(pk=f.rep_id)
    reps = list(reps)
    loads = dict(
        RepLoad.objects.filter(rep__in=[r.pk for r in reps]).values_list("rep_id", "open_leads")
    )
    rows = []
    for r in reps:
        open_leads = loads.get(r.pk, 0)
        rows.append(
            {
                "rep_id": r.pk,
                "rep": r.display_name,
                "team_id": r.team_id,
                "team": r.team.name,
                "open": open_leads,
                "max_open": r.max_open,
                "utilisation": _rate(open_leads, r.max_open) if r.max_open else None,
                "over": bool(r.max_open and open_leads > r.max_open),
            }
        )
    return {"reps": rows, "queues": queues(f, user)}


def queues(f: MetricFilter, user) -> list[dict[str, Any]]:
    """The triage queue and each claim queue: leads waiting and the oldest wait (seconds,
    since the decision that put the lead there; its capture when it has none)."""
    scope = scope_of(user)
    now = timezone.now()
    where = _Where()
    if f.source:
        where.add("l.source = %s", f.source)
    rows = _rows(
        f"SELECT l.status, d.pool_id, COUNT(*), MIN(COALESCE(d.created_at, l.captured_at)) "
        f"FROM {LEAD} l LEFT JOIN {DECISION} d ON d.lead_id = l.id AND d.effective "
        f"WHERE l.status IN ('triage', 'queued') AND {where.sql} GROUP BY l.status, d.pool_id",
        where.params,
    )
    pools = {p.pk: p for p in Pool.objects.filter(pk__in={r[1] for r in rows if r[1]})}
    out: dict[tuple, dict[str, Any]] = {}
    for status, pool_id, n, oldest in rows:
        if isinstance(oldest, str):  # SQLite returns MIN() of a datetime as text
            oldest = datetime.fromisoformat(oldest).replace(tzinfo=UTC)
        if status == "triage":
            key, name, team_id = ("triage", None), "Triage", None
        else:
            pool = pools.get(pool_id)
            if pool is not None and not scope.allows_team(pool.team_id):
                continue
            if f.team_id is not None and (pool is None or pool.team_id != f.team_id):
                continue
            key, name = ("claim", pool_id), pool.name if pool else "(no queue)"
            team_id = pool.team_id if pool else None
        entry = out.setdefault(
            key,
            {"queue": name, "kind": key[0], "pool_id": key[1], "team_id": team_id, "leads": 0,
             "oldest_at": None},
        )  # fmt: skip
        entry["leads"] += n
        if oldest is not None and (entry["oldest_at"] is None or oldest < entry["oldest_at"]):
            entry["oldest_at"] = oldest
    result = []
    for entry in sorted(out.values(), key=lambda e: (e["kind"] != "triage", e["queue"])):
        oldest = entry["oldest_at"]
        result.append({**entry, "oldest_age": (now - oldest).total_seconds() if oldest else None})
    return result
