"""A rep's load (open leads, leads today, leads this week), kept as counters in ``RepLoad``.

The lead app calls ``rep_load_gain``, ``rep_load_loss`` and ``rep_load_open`` inside the
transaction that assigns a lead or changes its status, so the counters move with the leads
and routing reads them in O(1). ``rep_loads_recount`` rebuilds them from the leads (the
scheduled reconciliation, and after a bulk load that went around the services).

The counters mean exactly what the recount measures:
- open: the rep's leads whose status is open;
- day / week: the rep's leads whose ``assigned_at`` falls in the rep's own local day / week
  (from Monday 00:00), whatever their status now. A lead handed to another rep leaves the
  old owner's counts, as it leaves the recount's.

Concurrency: every change is a single ``UPDATE`` of the rep's row with arithmetic in SQL,
in the caller's transaction, so it takes the row lock until commit. The recount locks the
row first and counts after, so it sees every change committed before it, and a change
still in flight lands on top of the recounted value (PostgreSQL re-reads a row after
waiting for its lock).
"""

from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache, reduce
from operator import or_
from zoneinfo import ZoneInfo

from django.apps import apps
from django.db import transaction
from django.db.models import Case, Count, F, Q, Value, When
from django.utils import timezone

from reps.models import Rep, RepLoad


@lru_cache(maxsize=4096)
def _starts(zone_name: str, today: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(zone_name)
    monday = today - timedelta(days=today.weekday())
    return (
        datetime.combine(today, time(0), tzinfo=zone),
        datetime.combine(monday, time(0), tzinfo=zone),
    )


def period_starts(zone_name: str, at: datetime) -> tuple[datetime, datetime]:
    """The start of the local day and of the local week (Monday) at ``at`` in the zone."""
    return _starts(zone_name, at.astimezone(ZoneInfo(zone_name)).date())


def load_counts(load: RepLoad | None, zone_name: str, now: datetime) -> tuple[int, int, int]:
    """(open, today, this week) from a counter row as of ``now``: a day or week counted
    before the current one counts zero."""
    if load is None:
        return 0, 0, 0
    day, week = period_starts(zone_name, now)
    return (
        load.open_leads,
        load.day_leads if load.day_start == day else 0,
        load.week_leads if load.week_start == week else 0,
    )


def rep_load_gain(*, rep_id: int, zone_name: str, at: datetime, is_open: bool = True) -> None:
    """A lead was given to the rep at ``at`` (now)."""
    day, week = period_starts(zone_name, at)
    updated = RepLoad.objects.filter(rep_id=rep_id).update(
        open_leads=F("open_leads") + int(is_open),
        day_leads=Case(When(day_start=day, then=F("day_leads") + 1), default=Value(1)),
        day_start=day,
        week_leads=Case(When(week_start=week, then=F("week_leads") + 1), default=Value(1)),
        week_start=week,
    )
    if not updated:
        _create_missing([rep_id])


def rep_load_loss(*, rep_id: int, was_open: bool, assigned_at: datetime | None) -> None:
    """A lead assigned to the rep at ``assigned_at`` was taken away from them."""
    if assigned_at is None:
        changes = {}
    else:
        changes = {
            "day_leads": Case(
                When(day_start__lte=assigned_at, then=F("day_leads") - 1),
                default=F("day_leads"),
            ),
            "week_leads": Case(
                When(week_start__lte=assigned_at, then=F("week_leads") - 1),
                default=F("week_leads"),
            ),
        }
    if was_open:
        changes["open_leads"] = F("open_leads") - 1
    if changes and not RepLoad.objects.filter(rep_id=rep_id).update(**changes):
        _create_missing([rep_id])


def rep_load_open(*, rep_id: int, delta: int) -> None:
    """One of the rep's leads closed (-1) or opened again (+1)."""
    if delta and not RepLoad.objects.filter(rep_id=rep_id).update(
        open_leads=F("open_leads") + delta
    ):
        _create_missing([rep_id])


def _create_missing(rep_ids: Iterable[int], now: datetime | None = None) -> None:
    """Rows for reps that have none (made outside the services, e.g. a bulk insert),
    counted from their leads."""
    rep_ids = list(rep_ids)
    RepLoad.objects.bulk_create([RepLoad(rep_id=r) for r in rep_ids], ignore_conflicts=True)
    rep_loads_recount(rep_ids=rep_ids, now=now)


def rep_loads_ensure(rep_ids: Collection[int], *, now: datetime | None = None) -> None:
    """Make sure each of these reps has a counter row (counted as of ``now`` when new)."""
    have = set(RepLoad.objects.filter(rep_id__in=list(rep_ids)).values_list("rep_id", flat=True))
    if missing := set(rep_ids) - have:
        _create_missing(sorted(missing), now)


def rep_loads_recount(
    *, rep_ids: Iterable[int] | None = None, now: datetime | None = None
) -> dict[int, tuple[int, int, int]]:
    """Rebuild the counters of these reps (all when None) from their leads; returns what
    changed, rep id → (open, today, this week) as stored before. Each rep is locked and
    recounted in its own short transaction, so routing waits for one rep at a time."""
    now = now or timezone.now()
    query = Rep.objects.order_by("pk")
    if rep_ids is not None:
        query = query.filter(pk__in=list(rep_ids))
    drift = {}
    for rep_id, zone_name in query.values_list("pk", "timezone"):
        with transaction.atomic():
            load, _ = RepLoad.objects.select_for_update().get_or_create(rep_id=rep_id)
            before = load_counts(load, zone_name, now)
            counted = lead_counts([rep_id], {zone_name}, now).get(rep_id, (0, 0, 0))
            day, week = period_starts(zone_name, now)
            load.open_leads, load.day_leads, load.week_leads = counted
            load.day_start, load.week_start, load.recounted_at = day, week, now
            load.save()
            if before != counted:
                drift[rep_id] = before
    return drift


def lead_counts(
    rep_ids: list[int], timezones: set[str], now: datetime, open_statuses: Collection[str] = ()
) -> dict[int, tuple[int, int, int]]:
    """Open, today's and this week's leads per rep, counted from the leads in one grouped
    query (the recount's source of truth; routing reads the counters instead). The day and
    week filters are one OR-ed condition per distinct time zone, so each rep is measured
    against its own local midnight. Only leads that can count are read (open ones, and
    those assigned since the earliest week start), through the (owner, status) and
    (owner, assigned_at) indexes.
    """
    if not rep_ids:
        return {}
    # The Lead model, reached through the reverse relation: this app sits below leads,
    # which owns the lifecycle; its open statuses are the lead model's ``OPEN_STATUSES``.
    lead_model = Rep._meta.get_field("leads").related_model
    if not open_statuses:
        open_statuses = apps.get_app_config("leads").models_module.OPEN_STATUSES
    starts = {tz: period_starts(tz, now) for tz in sorted(timezones)}
    in_day = reduce(
        or_, (Q(owner__timezone=tz, assigned_at__gte=day) for tz, (day, _w) in starts.items())
    )
    in_week = reduce(
        or_, (Q(owner__timezone=tz, assigned_at__gte=week) for tz, (_d, week) in starts.items())
    )
    earliest = min(week for _day, week in starts.values())
    is_open = Q(status__in=sorted(open_statuses))
    recent = Q(assigned_at__gte=earliest, assigned_at__lte=now)
    rows = (
        lead_model.objects.filter(is_open | recent, owner_id__in=rep_ids)
        .order_by()
        .values("owner_id")
        .annotate(
            open=Count("pk", filter=is_open),
            day=Count("pk", filter=in_day & recent),
            week=Count("pk", filter=in_week & recent),
        )
    )
    return {row["owner_id"]: (row["open"], row["day"], row["week"]) for row in rows}
