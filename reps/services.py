"""Every write to reps goes through here: presence, time off, working hours, settings.

Services raise ``django.core.exceptions.ValidationError`` for bad input; the API turns it
into a 400 and the admin into form errors. Nothing here writes lead events: reps sit below
the lead app, which learns about a rep only when it routes to one.
"""

from collections.abc import Iterable
from datetime import datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.timezone import is_naive, now

from leadhub.db import rows_replace
from reps.availability import Presence
from reps.models import Rep, Skill, Team, TimeOff, WorkingHours, check_working_hours
from reps.signals import announce_rep_deactivated, announce_reps_changed

# Fields rep_update may set, besides skills (a many-to-many set by names).
REP_FIELDS = frozenset(
    {
        "team",
        "role",
        "active",
        "timezone",
        "languages",
        "tier",
        "weight",
        "ramp_until",
        "ramp_share",
        "max_open",
        "max_per_day",
        "max_per_week",
        "max_escalated",
        "holiday_calendar",
    }
)


def rep_set_presence(*, rep: Rep, presence: str, actor: Any) -> Rep:
    """Set the rep's presence. Setting the presence it already has changes nothing (the
    time it last changed stays). ``actor`` is the user asking; the caller has checked they
    may."""
    if presence not in {p.value for p in Presence}:
        raise ValidationError(
            {"presence": f"{presence!r} is not one of: {', '.join(p.value for p in Presence)}."}
        )
    if rep.presence != presence:
        rep.presence = presence
        rep.presence_changed_at = now()
        rep.save(update_fields=["presence", "presence_changed_at"])
    return rep


@transaction.atomic
def time_off_add(*, rep: Rep, start: datetime, end: datetime, reason: str, actor: Any) -> TimeOff:
    """Add a period of time off; refused when it ends before it starts or overlaps one the
    rep already has. The rep row is locked so two requests cannot add overlapping periods."""
    if is_naive(start) or is_naive(end):
        raise ValidationError("Give start and end with a time zone (e.g. 2026-12-24T00:00Z).")
    if end <= start:
        raise ValidationError({"end": "The end must be after the start."})
    Rep.objects.select_for_update().get(pk=rep.pk)
    clash = rep.time_off.filter(start__lt=end, end__gt=start).order_by("start").first()
    if clash is not None:
        raise ValidationError(
            f"Overlaps time off from {clash.start:%Y-%m-%d %H:%M} to "
            f"{clash.end:%Y-%m-%d %H:%M} UTC ({clash.reason or 'no reason'})."
        )
    return TimeOff.objects.create(rep=rep, start=start, end=end, reason=reason)


def time_off_remove(*, time_off: TimeOff, actor: Any) -> None:
    time_off.delete()


@transaction.atomic
def working_hours_set(*, rep: Rep, intervals: Iterable[tuple[int, time, time]]) -> None:
    """Replace the rep's whole week with ``intervals`` of (weekday, start, end), local to
    the rep. An empty week means no working-hours limit."""
    intervals = list(intervals)
    check_working_hours(intervals)
    Rep.objects.select_for_update().get(pk=rep.pk)
    rows_replace(
        rep.working_hours.all(),
        (
            WorkingHours(rep=rep, weekday=weekday, start=start, end=end)
            for weekday, start, end in intervals
        ),
        # Intervals of a day never overlap: their start tells them apart.
        key=lambda row: (row.weekday, row.start),
        fields=["end"],
    )
    announce_reps_changed()


@transaction.atomic
def rep_update(
    *,
    rep: Rep,
    skills: Iterable[str] | None = None,
    working_hours: Iterable[tuple[int, time, time]] | None = None,
    **fields: Any,
) -> Rep:
    """Change the rep's settings (team, caps, tier, weight, ramp, languages, calendar...).
    ``skills`` (names; unknown ones are refused: skills are a list RevOps keep, not free
    text) and ``working_hours`` replace the rep's whole set when given."""
    unknown = set(fields) - REP_FIELDS
    if unknown:
        raise TypeError(f"rep_update cannot set: {', '.join(sorted(unknown))}")
    # Read from the table, not the instance: a form may have set it already.
    was_active = (
        Rep.objects.filter(pk=rep.pk).values_list("active", flat=True).first()
        if "active" in fields and rep.pk
        else None
    )
    for name, value in fields.items():
        setattr(rep, name, value)
    rep.full_clean(exclude=["user"])
    if fields:
        rep.save(update_fields=list(fields))
    if was_active and not rep.active:
        announce_rep_deactivated(rep.pk)
    if skills is not None:
        names = sorted(set(skills))
        found = list(Skill.objects.filter(name__in=names))
        missing = sorted(set(names) - {s.name for s in found})
        if missing:
            raise ValidationError({"skills": f"Unknown skills: {', '.join(missing)}."})
        rep.skills.set(found)
    if working_hours is not None:
        working_hours_set(rep=rep, intervals=working_hours)
    return rep


@transaction.atomic
def rep_create(
    *,
    user: Any,
    team: Team,
    skills: Iterable[str] = (),
    working_hours: Iterable[tuple[int, time, time]] = (),
    **fields: Any,
) -> Rep:
    """Make ``user`` a rep of ``team`` with the given settings."""
    unknown = set(fields) - REP_FIELDS
    if unknown:
        raise TypeError(f"rep_create cannot set: {', '.join(sorted(unknown))}")
    rep = Rep(user=user, team=team, **fields)
    rep.full_clean()
    rep.save()
    return rep_update(rep=rep, skills=skills, working_hours=working_hours)


def team_create(*, name: str, region: str = "", timezone: str = "UTC") -> Team:
    team = Team(name=name, region=region, timezone=timezone)
    team.full_clean()
    team.save()
    return team


def team_update(*, team: Team, **fields: Any) -> Team:
    unknown = set(fields) - {"name", "region", "timezone"}
    if unknown:
        raise TypeError(f"team_update cannot set: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(team, name, value)
    team.full_clean()
    if fields:
        team.save(update_fields=list(fields))
    return team
