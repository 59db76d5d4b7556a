"""What a replay reads: the world over a past window, the pools' rotation at its start,
the reps' load at its start, and the leads in capture order with their stored routing
decision. Reads only; a replay writes nothing but its report.

The set-up (pools and their members, territories, reps' settings and working hours, the
managers) is today's: it is not versioned. What moves with the clock is evaluated at each
lead's capture instant by the engine itself: working hours, time off and holidays (loaded
here for the whole window, not only ``reps.selectors.SNAPSHOT_HORIZON``), ramp-up weights.
Presence is not stored over time, so every rep is taken as available.
"""

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from auditlog.models import LogEntry
from django.db import connection
from django.db.models import Count, Q

from leadhub.leads.models import OPEN_STATUSES, Lead
from reps.availability import Presence, RepSnapshot
from reps.load import lead_counts
from reps.models import Holiday, Rep, TimeOff
from routing import engine
from routing.models import Decision
from routing.selectors import routing_world

# Leads are read from the database this many at a time (and their decisions with them).
CHUNK = 2000

# The lead fields as the engine reads them (``routing.selectors.lead_snapshot``), read with
# ``values()`` rather than as model instances: a replay reads every lead of the window.
LEAD_FIELDS = tuple(f.attname for f in Lead._meta.concrete_fields)
# Costly to read (long text, JSON, timestamps) and read by the engine only when a rule's
# condition or a pool's skill field names them: left out of the snapshot otherwise.
HEAVY_FIELDS = frozenset(
    {
        "message",
        "pages",
        "intent_signals",
        "custom",
        "updated_at",
        "assigned_at",
        "accepted_at",
        "first_touch_at",
        "form_session",
    }
)
# A stored decision's fields the replay reads for every lead, in ``Stored``'s order.
DECISION_FIELDS = (
    "id",
    "ruleset_version",
    "rule_id",
    "rule_name",
    "method",
    "pool_id",
    "rep_id",
    "outcome",
    "rotation",
)


@dataclass(frozen=True)
class Stored:
    """A lead's stored routing decision: its first automatic one (what the rules decided
    when it was captured; later moves by hand, claims and SLA steps are not routing)."""

    pk: int
    ruleset_version: int | None
    rule_id: int | None
    rule_name: str
    method: str
    pool_id: int | None
    rep_id: int | None
    outcome: str
    rotation: bool


@dataclass(frozen=True)
class LeadRow:
    snapshot: dict[str, Any]
    stored: Stored | None
    # Kinds of the lead's later decisions (manual, claim, sla, ...), for the report.
    moved_by: tuple[str, ...]


def replay_world(start: datetime, end: datetime) -> engine.World:
    """Today's set-up, with every rep's time off and holidays over the whole window and
    presence "available" (not stored over time)."""
    world = routing_world(now=start)
    rep_ids = list(world.reps)
    time_off: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for rep_id, t_start, t_end in (
        TimeOff.objects.filter(rep_id__in=rep_ids, end__gt=start, start__lt=end)
        .order_by("rep_id", "start")
        .values_list("rep_id", "start", "end")
    ):
        time_off[rep_id].append((t_start, t_end))
    calendars = dict(
        Rep.objects.filter(pk__in=rep_ids, holiday_calendar__isnull=False).values_list(
            "pk", "holiday_calendar_id"
        )
    )
    holidays: dict[int, set[date]] = defaultdict(set)
    window = ((start - timedelta(days=1)).date(), (end + timedelta(days=1)).date())
    for calendar_id, day in Holiday.objects.filter(
        calendar_id__in=set(calendars.values()), date__range=window
    ).values_list("calendar_id", "date"):
        holidays[calendar_id].add(day)
    reps = {
        rid: replace(
            rep,
            presence=Presence.AVAILABLE,
            time_off=tuple(time_off.get(rid, ())),
            holidays=frozenset(holidays.get(calendars.get(rid), ())),
            open_count=0,
            day_count=0,
            week_count=0,
            escalated_count=0,
        )
        for rid, rep in world.reps.items()
    }
    return replace(world, reps=reps, states={})


def state_from_candidates(pool_id: int, candidates: list[dict[str, Any]]) -> engine.PoolState:
    """A pool's rotation state as a stored decision read it, from its candidates: they are
    listed in rotation order after the pointer (so the pointer is the last one), with the
    figures the method compared (credits, rotation counts, last assignment)."""
    rows = [c for c in candidates if c.get("pool_id") == pool_id]
    assigned, credits, last = {}, {}, {}
    for c in rows:
        metrics = c.get("metrics") or {}
        rid = c["rep_id"]
        if metrics.get("credit"):
            credits[rid] = metrics["credit"]
        if "assigned" in metrics:
            assigned[rid] = metrics["assigned"]
        if metrics.get("last_assigned_at"):
            last[rid] = datetime.fromisoformat(metrics["last_assigned_at"])
    return engine.PoolState(
        pool_id=pool_id,
        last_rep_id=rows[-1]["rep_id"] if rows else None,
        assigned=assigned,
        credits=credits,
        last_assigned_at=last,
    )


def states_at(pool_ids: list[int], start: datetime, end: datetime) -> dict[int, engine.PoolState]:
    """Each pool's rotation state at ``start``, as its first decision in the window read it
    (one query per pool, on the (pool, created_at) index). A pool with no decision in the
    window starts fresh: its rotation begins at its first member."""
    states = {}
    for pool_id in pool_ids:
        payload = (
            Decision.objects.filter(pool_id=pool_id, created_at__gte=start, created_at__lt=end)
            .order_by("created_at", "pk")
            .values_list("payload", flat=True)
            .first()
        )
        if payload:
            states[pool_id] = state_from_candidates(pool_id, payload.get("candidates") or [])
    return states


@dataclass(frozen=True)
class Load:
    """The reps' load at the window's start: open leads, and leads given in each rep's
    local day and week up to the start; and when each lead open at the start closed."""

    open: dict[int, int]
    day: dict[int, int]
    week: dict[int, int]
    closings: list[tuple[datetime, int]]


def load_at(reps: dict[int, RepSnapshot], start: datetime) -> Load:
    """Counted from the leads (who owns them now), as ``reps.load.lead_counts`` does."""
    before = Lead.objects.filter(owner_id__isnull=False, assigned_at__lt=start)
    still_open = (
        before.filter(closed_at__isnull=True, status__in=sorted(OPEN_STATUSES))
        .order_by()
        .values("owner_id")
        .annotate(n=Count("pk"))
    )
    open_counts = {row["owner_id"]: row["n"] for row in still_open}
    closings = []
    for owner_id, closed_at in before.filter(closed_at__gt=start).values_list(
        "owner_id", "closed_at"
    ):
        open_counts[owner_id] = open_counts.get(owner_id, 0) + 1
        closings.append((closed_at, owner_id))
    # Open leads are counted above, as of the start; lead_counts' own open count is as of
    # now, so it is asked for no open status at all.
    counted = lead_counts(list(reps), {r.timezone for r in reps.values()}, start, ("",))
    return Load(
        open=open_counts,
        day={rid: c[1] for rid, c in counted.items()},
        week={rid: c[2] for rid, c in counted.items()},
        closings=closings,
    )


def _named(node: Any, names: set[str]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("field"), str):
            names.add(node["field"].split(".")[0])
        for value in node.values():
            _named(value, names)
    elif isinstance(node, list):
        for value in node:
            _named(value, names)


def snapshot_fields(rules: engine.CompiledRuleSet, world: engine.World) -> tuple[str, ...]:
    """The lead fields a replay reads: all but the heavy ones no rule or pool names."""
    names: set[str] = set()
    for compiled in rules.rules:
        _named(dict(compiled.rule.condition), names)
    names |= {p.settings.skill_field for p in world.pools.values()}
    return tuple(f for f in LEAD_FIELDS if f not in HEAVY_FIELDS or f in names)


def lead_rows(
    start: datetime,
    end: datetime,
    chunk: int = CHUNK,
    fields: tuple[str, ...] = LEAD_FIELDS,
) -> Iterator[list[LeadRow]]:
    """The leads captured in [start, end), in capture order, ``chunk`` at a time, each with
    its stored routing decision: one query (the leads joined to their decisions, a row per
    decision, so one snapshot of both), fetched ``chunk`` rows at a time; nothing is kept
    between chunks."""
    rows = (
        Lead.objects.filter(captured_at__gte=start, captured_at__lt=end)
        .order_by("captured_at", "pk", "decisions__created_at", "decisions__id")
        .values_list(
            *fields,
            "account__owner_id",
            "decisions__kind",
            *(f"decisions__{f}" for f in DECISION_FIELDS),
        )
        .iterator(chunk_size=chunk)
    )
    with _timestamps_in_c():
        yield from _grouped(rows, fields, chunk)


def _grouped(rows: Iterator[tuple], fields: tuple[str, ...], chunk: int) -> Iterator[list[LeadRow]]:
    """The joined rows grouped by lead, ``chunk`` leads at a time."""
    n = len(fields)
    at_id = fields.index("id")
    auto = Decision.Kind.AUTO
    batch: list[LeadRow] = []
    snapshot: dict[str, Any] | None = None
    stored: Stored | None = None
    moved: list[str] = []
    for values in rows:
        if snapshot is None or values[at_id] != snapshot["id"]:
            if snapshot is not None:
                batch.append(LeadRow(snapshot, stored, tuple(moved)))
                if len(batch) == chunk:
                    yield batch
                    batch = []
            snapshot = dict(zip(fields, values, strict=False))
            snapshot["account_owner_id"] = values[n]
            stored, moved = None, []
        kind = values[n + 1]
        if kind is None:  # no decision
            continue
        if kind != auto:
            moved.append(kind)
        elif stored is None:  # the first automatic one
            stored = Stored(*values[n + 2 :])
    if snapshot is not None:
        batch.append(LeadRow(snapshot, stored, tuple(moved)))
    if batch:
        yield batch


@dataclass(frozen=True)
class StoredDetail:
    """What only a changed lead's classification and listing read of its stored decision
    (kept out of the per-lead read: a payload is large, and each timestamp costs a parse)."""

    payload: dict[str, Any]
    created_at: datetime


def stored_details(decision_ids: list[int]) -> dict[int, StoredDetail]:
    """The full stored decisions (candidates, explanation, when made) of a few leads."""
    rows = Decision.objects.filter(pk__in=decision_ids).values_list("pk", "payload", "created_at")
    return {pk: StoredDetail(payload or {}, created_at) for pk, payload, created_at in rows}


@contextmanager
def _timestamps_in_c() -> Iterator[None]:
    """On PostgreSQL, while a replay reads: timestamps parsed by psycopg's own loader,
    written in C, instead of the pure-Python one Django registers on each connection (a
    regular expression per value: half of a replay's read time). The C class cannot be
    subclassed, so a thin Python loader calls it and carries the ``timezone`` Django
    checks. Both give aware datetimes in the session's zone, UTC: the same instants.
    Django's loader is put back after the read, whatever happens (a test checks both)."""
    if connection.vendor != "postgresql":
        yield
        return
    from psycopg import adapters, pq
    from psycopg.adapt import Loader as Loader_
    from psycopg.postgres import types

    connection.ensure_connection()
    mapping = connection.connection.adapters
    oid = types["timestamptz"].oid
    django_loader = mapping.get_loader(oid, pq.Format.TEXT)
    fast = adapters.get_loader(oid, pq.Format.TEXT)

    class Loader(Loader_):
        # Django compares this with the connection's zone on every cursor it opens, and
        # registers its own loader on the cursor when they differ.
        timezone = django_loader.timezone

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._fast = fast(oid, context).load

        def load(self, data: Any) -> datetime:
            return self._fast(data)

    mapping.register_loader(oid, Loader)
    try:
        yield
    finally:
        mapping.register_loader(oid, django_loader)


# The set-up a replay takes as today's (``replay_world``), by django-auditlog's model names.
SETUP_MODELS = {
    "reps": ("rep", "workinghours", "team"),
    "routing": ("pool", "poolmember", "territory"),
}
# Changes that are not the set-up's: presence is not replayed at all (every rep is online).
NOT_SETUP = frozenset({"presence", "presence_changed_at"})
ACTIONS = {
    LogEntry.Action.CREATE: "added",
    LogEntry.Action.UPDATE: "changed",
    LogEntry.Action.DELETE: "removed",
}


def setup_changes(start: datetime, limit: int = 20) -> dict[str, Any]:
    """The changes to the set-up since ``start`` that the audit log recorded: the replay
    decides with today's set-up, so a lead decided before one of them may differ for it
    (the report's reason "setup"). Their count, and the latest ``limit`` of them, newest
    first."""
    which = Q()
    for app, models in SETUP_MODELS.items():
        which |= Q(content_type__app_label=app, content_type__model__in=models)
    entries = (
        LogEntry.objects.filter(which, timestamp__gte=start)
        .order_by("-timestamp", "-pk")
        .values_list("timestamp", "action", "content_type__model", "object_repr", "changes")
    )
    count, listed = 0, []
    for at, action, model, name, changes in entries.iterator(chunk_size=CHUNK):
        fields = sorted(set(changes or {}) - NOT_SETUP)
        if action == LogEntry.Action.UPDATE and not fields:
            continue
        count += 1
        if len(listed) < limit:
            listed.append(
                {
                    "at": at.isoformat(),
                    "what": f"{model} {name}",
                    "action": ACTIONS.get(action, str(action)),
                    "fields": fields if action == LogEntry.Action.UPDATE else [],
                }
            )
    return {"count": count, "listed": listed}
