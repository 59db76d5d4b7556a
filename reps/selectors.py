"""Reads over reps: who may see whom, and the snapshots the routing engine decides on."""

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta
from functools import reduce
from operator import or_
from zoneinfo import ZoneInfo

from django.db.models import Count, Prefetch, Q, QuerySet

from reps.availability import RepSnapshot, WorkInterval
from reps.models import Holiday, Rep, Team, TimeOff

REVOPS_GROUP = "RevOps"

# A snapshot answers for "now" and the moments just after it (a routing run, a preview):
# time off and holidays further out than this are left out of it.
SNAPSHOT_HORIZON = timedelta(days=7)


def user_sees_everything(user) -> bool:
    """Staff, superusers and the RevOps group see and edit every team, rep and lead."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff:
        return True
    return user.groups.filter(name=REVOPS_GROUP).exists()


def rep_of(user) -> Rep | None:
    """The user's active rep row, or None."""
    rep = getattr(user, "rep", None) if user.is_authenticated else None
    return rep if rep is not None and rep.active else None


def reps_visible_to(user) -> QuerySet[Rep]:
    """RevOps and staff see every rep; a manager the reps of their team; a rep themself;
    anyone else nobody."""
    reps = Rep.objects.select_related("user", "team")
    if user_sees_everything(user):
        return reps
    rep = rep_of(user)
    if rep is None:
        return reps.none()
    if rep.role == Rep.Role.MANAGER:
        return reps.filter(team_id=rep.team_id)
    return reps.filter(pk=rep.pk)


def teams_visible_to(user) -> QuerySet[Team]:
    """RevOps and staff see every team; a rep or manager their own team."""
    if user_sees_everything(user):
        return Team.objects.all()
    rep = rep_of(user)
    if rep is None:
        return Team.objects.none()
    return Team.objects.filter(pk=rep.team_id)


def rep_can_manage(user, rep: Rep) -> bool:
    """May ``user`` set this rep's presence and time off: the rep, their team's manager,
    RevOps."""
    if user_sees_everything(user):
        return True
    me = rep_of(user)
    if me is None:
        return False
    return me.pk == rep.pk or (me.role == Rep.Role.MANAGER and me.team_id == rep.team_id)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _period_starts(timezones: Iterable[str], now: datetime) -> dict[str, tuple[datetime, datetime]]:
    """Per time zone: the start of the local day and of the local week (Monday) at ``now``."""
    starts = {}
    for name in timezones:
        zone = ZoneInfo(name)
        today = now.astimezone(zone).date()
        monday = today - timedelta(days=today.weekday())
        starts[name] = (_local_midnight(today, zone), _local_midnight(monday, zone))
    return starts


def rep_snapshots(
    *,
    now: datetime,
    open_statuses: Collection[str],
    rep_ids: Iterable[int] | None = None,
    team_id: int | None = None,
) -> dict[int, RepSnapshot]:
    """Snapshots of the chosen reps (all reps when neither ``rep_ids`` nor ``team_id`` is
    given) at ``now``, keyed by rep id, in at most six queries however many reps there
    are (the holiday query is skipped when none of them has a calendar).

    ``open_statuses`` are the lead statuses that count against ``max_open``. The lead
    lifecycle belongs to ``leadhub.leads``, which sits above this app: the caller passes
    ``leadhub.leads.models.OPEN_STATUSES`` rather than reps keeping a copy that could
    drift. Leads are counted through the ``Rep.leads`` reverse relation, so nothing here
    imports the lead app.

    ``day_count`` and ``week_count`` are the leads the rep owns whose ``assigned_at`` falls
    in the rep's own local day / week (from Monday 00:00), up to ``now``.
    """
    reps = Rep.objects.select_related("user").order_by("pk")
    if rep_ids is not None:
        reps = reps.filter(pk__in=list(rep_ids))
    if team_id is not None:
        reps = reps.filter(team_id=team_id)
    horizon = now + SNAPSHOT_HORIZON
    reps = reps.prefetch_related(
        "working_hours",
        "skills",
        Prefetch(
            "time_off",
            queryset=TimeOff.objects.filter(end__gt=now, start__lt=horizon).order_by("start"),
        ),
    )
    rows = list(reps)
    if not rows:
        return {}

    calendars = {r.holiday_calendar_id for r in rows if r.holiday_calendar_id is not None}
    holidays: dict[int, set[date]] = defaultdict(set)
    # One UTC day either side: a rep's local date can be a day off the UTC date.
    window = ((now - timedelta(days=1)).date(), (horizon + timedelta(days=1)).date())
    for calendar_id, day in Holiday.objects.filter(
        calendar_id__in=calendars, date__range=window
    ).values_list("calendar_id", "date"):
        holidays[calendar_id].add(day)

    counts = _lead_counts([r.pk for r in rows], {r.timezone for r in rows}, now, open_statuses)
    snapshots = {}
    for rep in rows:
        open_count, day_count, week_count = counts.get(rep.pk, (0, 0, 0))
        snapshots[rep.pk] = RepSnapshot(
            id=rep.pk,
            name=rep.display_name,
            team_id=rep.team_id,
            active=rep.active,
            timezone=rep.timezone,
            presence=rep.presence,
            working_hours=tuple(
                WorkInterval(weekday=h.weekday, start=h.start, end=h.end)
                for h in sorted(rep.working_hours.all(), key=lambda h: (h.weekday, h.start))
            ),
            time_off=tuple((t.start, t.end) for t in rep.time_off.all()),
            holidays=frozenset(holidays.get(rep.holiday_calendar_id, ())),
            skills=frozenset(s.name for s in rep.skills.all()),
            languages=frozenset(rep.languages),
            tier=rep.tier,
            weight=rep.weight,
            ramp_until=rep.ramp_until,
            ramp_share=float(rep.ramp_share),
            max_open=rep.max_open,
            max_per_day=rep.max_per_day,
            max_per_week=rep.max_per_week,
            open_count=open_count,
            day_count=day_count,
            week_count=week_count,
        )
    return snapshots


def _lead_counts(
    rep_ids: list[int], timezones: set[str], now: datetime, open_statuses: Collection[str]
) -> dict[int, tuple[int, int, int]]:
    """Open, today's and this week's leads per rep, in one grouped query: the day and week
    filters are one OR-ed condition per distinct time zone, so each rep is measured against
    its own local midnight.

    The query reads only the leads that can count (open ones, and those assigned since the
    earliest week start), through the (owner, status) and (owner, assigned_at) indexes, so
    its cost does not grow with the reps' history.
    """
    if not rep_ids:
        return {}
    # The Lead model, reached through the reverse relation: this app sits below leads.
    lead_model = Rep._meta.get_field("leads").related_model
    starts = _period_starts(sorted(timezones), now)
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
