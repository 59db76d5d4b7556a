# The SQL here is assembled from table names and fixed fragments only; every value is a
# query parameter.
# ruff: noqa: S608
"""**Acceptance**, over leads *assigned* in the period (their current assignment) and
decline events in the period: rate = accepted ÷ (accepted + declined); leads neither
accepted nor declined yet are "pending". Decline reasons from the decline events.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from leadhub.web.metrics.common import (
    EVENT,
    LEAD,
    MetricFilter,
    _json_int,
    _json_text,
    _rate,
    _rep_names,
    _rows,
    _where,
    scope_of,
)


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
