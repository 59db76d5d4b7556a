"""The dashboard's tables: one description per table, used by the page and by its CSV
export, so the file holds what the page shows."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from leadhub.web import metrics

# Column kinds: how a value is shown (the CSV has the raw value).
TEXT, COUNT, RATE, SECONDS, WHEN, LEAD = "text", "count", "rate", "seconds", "when", "lead"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = TEXT


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: Iterable[dict[str, Any]]
    chart: dict[str, Any] | None = field(default=None)


def lead_url(lead_id: int) -> str:
    """The lead's own page."""
    return reverse("web:lead", args=[lead_id])


SPEED_COLUMNS = [Column("day", "Day")] + [
    Column(f"{m}_{p}", f"{label} {p}", SECONDS)
    for m, label in (
        ("assign", "Captured → assigned"),
        ("notify", "Assigned → notified"),
        ("accept", "Assigned → accepted"),
        ("touch", "Assigned → first touch"),
    )
    for p in ("p50", "p90", "p95")
]
COMPLIANCE = [
    Column("met", "Met", COUNT),
    Column("breached", "Breached", COUNT),
    Column("compliance", "Compliance", RATE),
]
CONVERSION = [
    Column("leads", "Leads", COUNT),
    Column("closed", "Closed", COUNT),
    Column("converted", "Converted", COUNT),
    Column("rate", "Conversion (of closed)", RATE),
]
EVENT_COLUMNS = [
    Column("at", "When", WHEN),
    Column("lead_id", "Lead", LEAD),
    Column("lead_status", "Lead status"),
    Column("rep", "Owner at breach"),
    Column("clock", "Clock"),
    Column("policy", "Policy"),
    Column("action", "What the SLA did"),
]
FAIRNESS_COLUMNS = [
    Column("pool", "Pool"),
    Column("rep", "Member"),
    Column("weight", "Weight", COUNT),
    Column("target", "Target share", RATE),
    Column("count", "Leads", COUNT),
    Column("share", "Share", RATE),
    Column("deviation", "Deviation", RATE),
    Column("score", "Score", COUNT),
    Column("score_share", "Score share", RATE),
    Column("score_deviation", "Score deviation", RATE),
]


def speed_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for day in [{"day": "Whole period", **data["overall"]}, *data["daily"]]:
        row = {"day": day["day"]}
        for m in metrics.SPEED_MEASURES:
            for p in ("p50", "p90", "p95"):
                row[f"{m}_{p}"] = day[m][p]
        rows.append(row)
    return rows


def fairness_rows(pools: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for pool in pools:
        for member in pool["members"]:
            yield {"pool": pool["pool"], **member}


def build(data: dict[str, Any]) -> dict[str, Table]:
    """Every table of the dashboard from the metrics' data (the keys of ``data`` are the
    metric names)."""
    speed, sla, acc, conv = data["speed"], data["sla"], data["acceptance"], data["conversion"]
    tables = [
        Table("speed", "Speed to lead by capture day (seconds)", SPEED_COLUMNS, speed_rows(speed)),
        Table("sla_by_policy", "SLA compliance by policy",
              [Column("policy", "Policy"), *COMPLIANCE],
              sla["by_policy"]),
        Table("sla_by_team", "SLA compliance by team", [Column("team", "Team"), *COMPLIANCE],
              sla["by_team"]),
        Table("sla_by_rep", "SLA compliance by rep", [Column("rep", "Rep"), *COMPLIANCE],
              sla["by_rep"]),
        Table("sla_events", "SLA breaches, reassignments and escalations", EVENT_COLUMNS,
              sla["events"]),
        Table("acceptance", "Acceptance by rep", [
            Column("rep", "Rep"), Column("assigned", "Assigned", COUNT),
            Column("accepted", "Accepted", COUNT), Column("declined", "Declined", COUNT),
            Column("pending", "Pending", COUNT), Column("rate", "Acceptance rate", RATE),
        ], acc["by_rep"]),
        Table("decline_reasons", "Decline reasons",
              [Column("reason", "Reason"), Column("count", "Declines", COUNT)],
              acc["decline_reasons"]),
        Table("conversion_by_rep", "Conversion by rep", [Column("rep", "Rep"), *CONVERSION],
              conv["by_rep"]),
        Table("conversion_by_rule", "Conversion by routing rule",
              [Column("rule", "Rule"), *CONVERSION], conv["by_rule"]),
        Table("conversion_by_source", "Conversion by source",
              [Column("source", "Source"), *CONVERSION], conv["by_source"]),
        Table("fairness", "Fairness: share against target per pool member", FAIRNESS_COLUMNS,
              list(fairness_rows(data["fairness"]))),
        Table("fairness_pools", "Fairness per pool", [
            Column("pool", "Pool"), Column("method", "Method"),
            Column("decisions", "Rotation leads", COUNT),
            Column("max_deviation", "Max deviation (count)", RATE),
            Column("gini", "Gini (count)", RATE),
            Column("max_score_deviation", "Max deviation (score)", RATE),
            Column("gini_score", "Gini (score)", RATE),
        ], data["fairness"]),
        Table("workload", "Workload: open leads against capacity", [
            Column("rep", "Rep"), Column("team", "Team"), Column("open", "Open leads", COUNT),
            Column("max_open", "Max open", COUNT), Column("utilisation", "Of capacity", RATE),
            Column("state", "State"),
        ], [{**r, "state": "Over capacity" if r["over"] else "Within capacity"}
            for r in data["workload"]["reps"]]),
        Table("queues", "Triage and claim queues", [
            Column("queue", "Queue"), Column("kind", "Kind"), Column("leads", "Leads", COUNT),
            Column("oldest_age", "Oldest waits", SECONDS),
        ], data["workload"]["queues"]),
    ]  # fmt: skip
    return {t.name: t for t in tables}


def charts(data: dict[str, Any]) -> list[dict[str, Any]]:
    """What dashboard.js draws: each chart's labels and series (its table has the same
    numbers)."""
    daily = data["speed"]["daily"]
    days = [d["day"] for d in daily]

    def series(measure: str, p: str) -> list[float | None]:
        return [d[measure][p] for d in daily]

    out = [
        {
            "id": "chart-speed",
            "type": "line",
            "title": "Speed to lead, seconds",
            "labels": days,
            "datasets": [
                {"label": f"{name} {p}", "data": series(m, p)}
                for m, name in (("assign", "Assigned"), ("accept", "Accepted"))
                for p in ("p50", "p90", "p95")
            ],
        },
        {
            "id": "chart-sla",
            "type": "bar",
            "title": "SLA compliance by team, %",
            "labels": [r["team"] for r in data["sla"]["by_team"]],
            "datasets": [
                {
                    "label": "Compliance %",
                    "data": [_pct(r["compliance"]) for r in data["sla"]["by_team"]],
                }
            ],
        },
        {
            "id": "chart-workload",
            "type": "bar",
            "title": "Open leads and capacity",
            "labels": [r["rep"] for r in data["workload"]["reps"]],
            "datasets": [
                {"label": "Open leads", "data": [r["open"] for r in data["workload"]["reps"]]},
                {"label": "Max open", "data": [r["max_open"] for r in data["workload"]["reps"]]},
            ],
        },
    ]
    for pool in data["fairness"]:
        out.append(
            {
                "id": f"chart-pool-{pool['pool_id']}",
                "type": "bar",
                "title": f"{pool['pool']}: share and target, %",
                "labels": [m["rep"] for m in pool["members"]],
                "datasets": [
                    {"label": "Share %", "data": [_pct(m["share"]) for m in pool["members"]]},
                    {"label": "Target %", "data": [_pct(m["target"]) for m in pool["members"]]},
                    {
                        "label": "Score share %",
                        "data": [_pct(m["score_share"]) for m in pool["members"]],
                    },
                ],
            }
        )
    return out


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)
