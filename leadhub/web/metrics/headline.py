# The SQL here is assembled from table names and fixed fragments only; every value is a
# query parameter.
# ruff: noqa: S608
"""**The headline**: the few numbers a sales manager asks first, composed from the metrics
beside it: the median time to first touch today against the seven days before, SLA
compliance over the chosen period, the leads breaching now, and the triage backlog with the
age of its oldest lead. Today and the week are UTC days, as every metric's.

Speed is the speed metric's own query (``speed_base`` and ``_percentiles``) over today and
the week before, its days grouped into those two: one query on PostgreSQL, two on SQLite.
With compliance, open breaches, the queues and who may look (``scope_of``, asked once),
five queries on PostgreSQL (six on SQLite), plus one naming the claim queues when there are
any (``test_headline_queries``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.utils import timezone

from leadhub.web.metrics.common import MetricFilter, _percentiles, _where, day_start, scope_of
from leadhub.web.metrics.current_workload import queues
from leadhub.web.metrics.sla_compliance import compliance_total, open_breaches
from leadhub.web.metrics.speed_to_lead import speed_base

WEEK = 7


def touch_medians(f: MetricFilter, user) -> dict[str, dict[str, Any]]:
    """Median seconds from assignment to first touch (and ``n``) of the leads captured
    today (``"today"``) and in the seven days before (``"week"``), for ``f``'s filters."""
    today = day_start(timezone.now().date())
    week = replace(f, start=today - timedelta(days=WEEK), end=today + timedelta(days=1))
    where = _where(week, scope_of(user), time="l.captured_at", rep="l.owner_id")
    base = (
        "SELECT CASE WHEN s.day = %s THEN 'today' ELSE 'week' END AS day, s.touch "
        f"FROM ({speed_base(where.sql)}) s"
    )
    found = _percentiles(base, [today.date().isoformat(), *where.params], ("touch",))
    empty = {"p50": None, "n": 0}
    return {key: found[key]["touch"] if key in found else empty for key in ("today", "week")}


def headline(f: MetricFilter, user) -> dict[str, Any]:
    """``touch_today`` / ``touch_week`` (median seconds to first touch, None without
    touched leads) and ``touch_today_n``; ``sla`` (the period's met, breached,
    compliance); ``open_breaches``; ``triage`` (leads waiting) and ``triage_oldest``
    (seconds); ``period`` (the first and last day of ``f``)."""
    touch = touch_medians(f, user)
    triage = next((q for q in queues(f, user) if q["kind"] == "triage"), None)
    return {
        "touch_today": touch["today"]["p50"],
        "touch_today_n": touch["today"]["n"],
        "touch_week": touch["week"]["p50"],
        "sla": compliance_total(f, user),
        "open_breaches": open_breaches(f, user),
        "triage": triage["leads"] if triage else 0,
        "triage_oldest": triage["oldest_age"] if triage else None,
        "period": (f.start.date(), (f.end - timedelta(days=1)).date()),
    }
