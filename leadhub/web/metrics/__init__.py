"""The manager's metrics, computed in the database with aggregates (never a Python loop
over leads): the dashboard pages and ``/api/metrics/...`` both call these functions, so the
numbers on the page are the API's numbers.

Every function takes a validated :class:`MetricFilter` and the requesting user and returns
plain data (dicts, lists, numbers; durations in seconds, rates from 0 to 1, ``None`` when
there is nothing to divide). :func:`scope_of` decides what the user may see: RevOps every
team, a manager their own team, anyone else nothing (``PermissionDenied``).

One module per metric, each with its definition and what keeps it fast; the period is
``start`` ≤ t < ``end``, UTC days:

- ``speed_to_lead``: :func:`speed`, p50 / p90 / p95 of system latency and human response;
- ``sla_compliance``: :func:`sla`, met ÷ (met + breached), and the breach events;
- ``acceptance_rate``: :func:`acceptance`, accepted ÷ (accepted + declined), decline reasons;
- ``conversion_rate``: :func:`conversion`, converted ÷ closed by rep, rule and source;
- ``pool_fairness``: :func:`fairness`, each member's share against the weighted target;
- ``current_workload``: :func:`workload`, open leads against capacity, and the queues;
- ``headline``: :func:`headline`, the dashboard's first few numbers, composed from those.

``common`` holds what they share: the filter, the scope and the SQL pieces.

Filters: ``team``/``rep`` narrow to leads owned by (clocks of, decisions for) those reps,
``source`` to the lead's source, ``rule`` to leads whose first automatic decision came from
that rule (``Lead.routed_rule``; for fairness: decisions from that rule).

How it stays fast (1,000,000 leads, 30 days ≈ 165,000 of them; bench/bench_dashboard.py
and its section in bench/README.md): every number except speed is computed live and
exactly, each metric reading its rows once and only the tables it needs; speed reads a
daily rollup for the days before today when no rep, source or rule filter asks for a small
set of leads. The dashboard page loads each metric's section with its own request, so no
request waits for the sum of them (``views_dashboard.section``).

The modules are named apart from their functions on purpose: ``metrics.speed`` is the
function, and ``leadhub.web.metrics.speed_to_lead`` the module one patches or imports from.
"""

from leadhub.web.metrics.acceptance_rate import acceptance
from leadhub.web.metrics.common import (
    DEFAULT_DAYS,
    PERCENTILES,
    SPEED_MEASURES,
    MetricFilter,
    Scope,
    day_start,
    scope_of,
)
from leadhub.web.metrics.conversion_rate import NO_RULE, conversion
from leadhub.web.metrics.current_workload import queues, workload
from leadhub.web.metrics.headline import headline
from leadhub.web.metrics.pool_fairness import fairness, gini
from leadhub.web.metrics.sla_compliance import (
    compliance_total,
    iter_sla_events,
    open_breaches,
    sla,
    sla_events,
)
from leadhub.web.metrics.speed_to_lead import speed, speed_base, speed_result

__all__ = [
    "DEFAULT_DAYS",
    "NO_RULE",
    "PERCENTILES",
    "SPEED_MEASURES",
    "MetricFilter",
    "Scope",
    "acceptance",
    "compliance_total",
    "conversion",
    "day_start",
    "fairness",
    "gini",
    "headline",
    "iter_sla_events",
    "open_breaches",
    "queues",
    "scope_of",
    "sla",
    "sla_events",
    "speed",
    "speed_base",
    "speed_result",
    "workload",
]
