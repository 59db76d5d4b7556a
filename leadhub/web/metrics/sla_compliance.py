# The SQL here is assembled from table names and fixed fragments only; every value is a
# query parameter.
# ruff: noqa: S608
"""**SLA compliance**, over clocks *started* in the period (team and rep: the clock's rep):
met ÷ (met + breached). A clock is breached when it ended ``breached`` or when an SLA
``breach`` event names it (``data.clock_id``): a breach that reassigned, escalated or
triaged the lead ends its clock ``stopped`` by the new decision. Clocks stopped for any
other reason (the lead closed, released, reassigned by hand) and clocks still running count
neither way. With it, the period's breach events and their counts by what the ladder did.

The lead is joined only for a source or rule filter (the clock has its rep and start); "a
breach event names the clock" is one hashed set of the breach events since the period's
start (index on kind, at) instead of a JSON look-up per stopped clock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.utils import timezone

from leadhub.leads.models import OPEN_STATUSES
from leadhub.web.metrics.common import (
    CLOCK,
    EVENT,
    LEAD,
    MetricFilter,
    Scope,
    _aware,
    _json_int,
    _json_text,
    _rate,
    _rows,
    _when,
    _where,
    scope_of,
)
from reps.models import Rep
from sla.models import SlaPolicy


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


def _outcome_rows(f: MetricFilter, scope: Scope) -> list[tuple]:
    """(policy_id, rep_id, met, breached) of the period's ended clocks: one query."""
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
    return _rows(sql, outcome_params + where.params)


def compliance_total(f: MetricFilter, user) -> dict[str, Any]:
    """The period's met, breached and compliance over every policy, team and rep: the
    ``total`` of :func:`sla` from the same query, without the breakdowns and events."""
    rows = _outcome_rows(f, scope_of(user))
    return _compliance(sum(int(r[2] or 0) for r in rows), sum(int(r[3] or 0) for r in rows))


def open_breaches(f: MetricFilter, user) -> int:
    """Leads breaching now, whatever the period: still open, with a clock running or
    paused past its due time or ended ``breached``. Team, rep and scope apply to the
    clock's rep, source and rule to the lead."""
    where = _where(f, scope_of(user), time=None, rep="c.rep_id")
    statuses = sorted(OPEN_STATUSES)
    marks = ", ".join(["%s"] * len(statuses))
    sql = (
        f"SELECT COUNT(DISTINCT c.lead_id) FROM {CLOCK} c JOIN {LEAD} l ON l.id = c.lead_id "
        f"WHERE l.status IN ({marks}) AND (c.status = 'breached' OR "
        f"(c.status IN ('running', 'paused') AND c.due_at < %s)) AND {where.sql}"
    )
    return int(_rows(sql, [*statuses, _when(timezone.now()), *where.params])[0][0] or 0)


def sla(f: MetricFilter, user, *, events_limit: int | None = 50) -> dict[str, Any]:
    """Compliance per policy, team and rep; breach counts by what the ladder did; the
    latest breach events (``events_limit``; None for all of them)."""
    rows = _outcome_rows(f, scope_of(user))
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
