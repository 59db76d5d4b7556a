# The SQL here is assembled from table names and fixed fragments only; every value is a
# query parameter.
# ruff: noqa: S608
"""**Workload**, now: each rep's open leads (``RepLoad``) against ``max_open``; the triage
queue and each claim queue with its size and the age of its oldest lead (since the decision
that put it there).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from leadhub.web.metrics.common import (
    DECISION,
    LEAD,
    MetricFilter,
    _rate,
    _rows,
    _Where,
    scope_of,
)
from reps.models import Rep, RepLoad
from routing.models import Pool


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
