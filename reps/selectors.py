"""Reads over reps: who may see whom, and the snapshots the routing engine decides on."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from reps.availability import RepSnapshot, WorkInterval
from reps.load import lead_counts, load_counts
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


def rep_snapshots(
    *,
    now: datetime,
    rep_ids: Iterable[int] | None = None,
    team_id: int | None = None,
) -> dict[int, RepSnapshot]:
    """Snapshots of the chosen reps (all reps when neither ``rep_ids`` nor ``team_id`` is
    given) at ``now``, keyed by rep id, in at most five queries however many reps there
    are and however many leads they have had (the holiday query is skipped when none of
    them has a calendar).

    ``open_count``, ``day_count`` and ``week_count`` come from the rep's ``RepLoad``
    counters (see ``reps.load``): open leads, and leads given to the rep in their own local
    day / week (from Monday 00:00).
    """
    reps = Rep.objects.select_related("user", "load").order_by("pk")
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

    # A rep whose counter row is not made yet (it is made by the first write that needs
    # it) is counted from the leads: a selector writes nothing.
    missing = [r for r in rows if not hasattr(r, "load")]
    counted = lead_counts([r.pk for r in missing], {r.timezone for r in missing}, now)
    snapshots = {}
    for rep in rows:
        if hasattr(rep, "load"):
            open_count, day_count, week_count = load_counts(rep.load, rep.timezone, now)
        else:
            open_count, day_count, week_count = counted.get(rep.pk, (0, 0, 0))
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
            max_escalated=(
                rep.max_escalated
                if rep.max_escalated is not None
                else settings.LEADHUB_MANAGER_MAX_ESCALATED
            ),
            open_count=open_count,
            day_count=day_count,
            week_count=week_count,
        )
    return snapshots
