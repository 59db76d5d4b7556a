"""Is this rep eligible for this lead at this instant, and if not, why?

Pure functions over snapshots (no ORM): the routing engine, the preview, the replay and the
benchmarks all call ``rep_eligibility`` with data loaded once. Every reason is a named code
from ``Reason`` so decisions can be explained and counted.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo


class Reason(StrEnum):
    INACTIVE = "inactive"  # the rep is switched off
    OFFLINE = "offline"  # presence: offline
    AWAY = "away"  # presence: away
    OUTSIDE_HOURS = "outside_hours"  # outside their working hours, in their own time zone
    TIME_OFF = "time_off"  # inside a time-off period
    HOLIDAY = "holiday"  # a holiday of their calendar, in their own time zone
    CAP_OPEN = "cap_open"  # at their maximum of open leads
    CAP_DAY = "cap_day"  # at their maximum of leads today (their local day)
    CAP_WEEK = "cap_week"  # at their maximum of leads this week (their local week, from Monday)
    MISSING_SKILL = "missing_skill"  # lacks a skill the lead needs
    LANGUAGE = "language"  # does not speak the lead's language
    TIER = "tier"  # below the seniority tier the lead needs
    # A manager at their ceiling of escalated leads (only escalations ask: see LeadNeeds).
    CAP_ESCALATED = "cap_escalated"


class Presence(StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    OFFLINE = "offline"


@dataclass(frozen=True)
class WorkInterval:
    """Working time on one weekday (0 = Monday), local to the rep: start ≤ t < end.
    A night shift is two intervals, one each side of midnight."""

    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class RepSnapshot:
    id: int
    name: str
    team_id: int
    active: bool = True
    timezone: str = "UTC"
    presence: str = Presence.AVAILABLE
    # No intervals means no working-hours limit.
    working_hours: tuple[WorkInterval, ...] = ()
    # (start, end) aware datetimes, start ≤ t < end.
    time_off: tuple[tuple[datetime, datetime], ...] = ()
    # Dates in the rep's own time zone.
    holidays: frozenset[date] = frozenset()
    skills: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    tier: int = 1
    weight: int = 1
    # A new rep gets ``ramp_share`` of their weight until (not including) ``ramp_until``.
    ramp_until: date | None = None
    ramp_share: float = 1.0
    max_open: int | None = None
    max_per_day: int | None = None
    max_per_week: int | None = None
    # Counts at snapshot time; the day and week are the rep's own.
    open_count: int = 0
    day_count: int = 0
    week_count: int = 0
    # Escalations: the most open escalated leads the rep may hold (the rep's own ceiling,
    # else LEADHUB_MANAGER_MAX_ESCALATED; None: no ceiling), and how many they hold.
    max_escalated: int | None = None
    escalated_count: int = 0


@dataclass(frozen=True)
class LeadNeeds:
    """What a lead requires of a rep, as set by the pool and the lead."""

    skills: frozenset[str] = frozenset()
    language: str = ""
    min_tier: int = 0
    # Pools that do not route by working hours (e.g. a follow-the-sun queue) turn it off.
    check_hours: bool = True
    # A claim queue or manual reassignment may look past presence "away".
    allow_away: bool = False
    # An escalation to a manager: held back by the ceiling of escalated leads.
    escalation: bool = False


NO_NEEDS = LeadNeeds()
# An escalation to a manager looks past working hours and presence "away"; the engine also
# lets it past the routine caps (routing.engine.decide.MANAGER_BLOCKERS), not the ceiling.
ESCALATION = LeadNeeds(check_hours=False, allow_away=True, escalation=True)


def escalations_left(rep: RepSnapshot) -> int | None:
    """How many more escalated leads the rep may take now (None: no ceiling). The one rule
    for the ceiling, read by the engine's manager fallback and the SLA escalation."""
    if rep.max_escalated is None:
        return None
    return max(0, rep.max_escalated - rep.escalated_count)


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_now(rep: RepSnapshot, now: datetime) -> datetime:
    return now.astimezone(_zone(rep.timezone))


def in_working_hours(intervals: Iterable[WorkInterval], local: datetime) -> bool:
    """Is ``local`` (the rep's own time) inside one of the intervals? No intervals: yes."""
    weekday, clock = local.weekday(), local.time()
    empty = True
    # A plain loop: this runs for every pool member on every decision.
    for interval in intervals:
        empty = False
        if interval.weekday == weekday and interval.start <= clock < interval.end:
            return True
    return empty


def schedule_state(rep: RepSnapshot, now: datetime) -> tuple[bool, bool, bool]:
    """The part of eligibility that moves with the clock: (outside working hours, on time
    off, on a holiday) at ``now``. The one place these three are decided."""
    local = local_now(rep, now)
    return (
        not in_working_hours(rep.working_hours, local),
        any(start <= now < end for start, end in rep.time_off),
        local.date() in rep.holidays,
    )


def _next_change(rep: RepSnapshot, now: datetime) -> datetime:
    """The earliest instant after ``now`` at which ``schedule_state`` may change: a working
    interval of today starting or ending, the next local midnight (a new weekday, a new
    holiday date), a time off starting or ending. ``now`` itself when a change of UTC offset
    (daylight saving) lies in between: nothing is memoised across one."""
    zone = _zone(rep.timezone)
    local = now.astimezone(zone)
    today, clock, weekday = local.date(), local.time(), local.weekday()
    until = datetime.combine(today + timedelta(days=1), time())
    for interval in rep.working_hours:
        if interval.weekday == weekday:
            for edge in (interval.start, interval.end):
                if edge > clock:
                    until = min(until, datetime.combine(today, edge))
    # Through UTC and back: a wall-clock edge in the hour the clocks skip lands past it.
    aware = until.replace(tzinfo=zone).astimezone(UTC)
    if aware.astimezone(zone).utcoffset() != local.utcoffset():
        return now
    for edge in (e for span in rep.time_off for e in span):
        if now < edge < aware:
            aware = edge
    return aware


class ScheduleMemo:
    """``schedule_state`` remembered per rep until its next change (``_next_change``).

    The engine decides many leads against the same snapshots (live routing's cached world,
    a replay's whole window), and a rep's hours, time off and holidays change only at a few
    instants a day. An entry holds the snapshot's schedule objects and answers only for the
    same objects (a new snapshot of the rep is computed afresh) and for instants from when
    it was computed up to the change. Results are those of ``schedule_state``, always
    (``reps/tests/test_availability.py`` compares them over random schedules and instants).
    """

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[int, tuple[Any, ...]] = {}

    def state(self, rep: RepSnapshot, now: datetime) -> tuple[bool, bool, bool]:
        entry = self._entries.get(rep.id)
        if (
            entry is not None
            and entry[0] <= now < entry[1]
            and entry[2] is rep.working_hours
            and entry[3] is rep.time_off
            and entry[4] is rep.holidays
            and entry[5] == rep.timezone
        ):
            return entry[6]
        state = schedule_state(rep, now)
        until = _next_change(rep, now)
        if until > now:
            self._entries[rep.id] = (
                now,
                until,
                rep.working_hours,
                rep.time_off,
                rep.holidays,
                rep.timezone,
                state,
            )
        return state


def rep_eligibility(
    rep: RepSnapshot, needs: LeadNeeds, now: datetime, schedule: ScheduleMemo | None = None
) -> list[Reason]:
    """Every reason the rep cannot take the lead now; an empty list means eligible.

    All reasons are collected, not just the first, so a decision can show a manager that
    a rep was both offline and at capacity. ``schedule`` remembers the clock-bound part
    between decisions (the engine passes its world's); the answer is the same without.
    """
    reasons: list[Reason] = []
    if not rep.active:
        reasons.append(Reason.INACTIVE)
    if rep.presence == Presence.OFFLINE:
        reasons.append(Reason.OFFLINE)
    elif rep.presence == Presence.AWAY and not needs.allow_away:
        reasons.append(Reason.AWAY)
    outside, time_off, holiday = (
        schedule.state(rep, now) if schedule is not None else schedule_state(rep, now)
    )
    if needs.check_hours and outside:
        reasons.append(Reason.OUTSIDE_HOURS)
    if time_off:
        reasons.append(Reason.TIME_OFF)
    if holiday:
        reasons.append(Reason.HOLIDAY)
    if rep.max_open is not None and rep.open_count >= rep.max_open:
        reasons.append(Reason.CAP_OPEN)
    if rep.max_per_day is not None and rep.day_count >= rep.max_per_day:
        reasons.append(Reason.CAP_DAY)
    if rep.max_per_week is not None and rep.week_count >= rep.max_per_week:
        reasons.append(Reason.CAP_WEEK)
    if needs.skills and not needs.skills <= rep.skills:
        reasons.append(Reason.MISSING_SKILL)
    if needs.language and needs.language not in rep.languages:
        reasons.append(Reason.LANGUAGE)
    if rep.tier < needs.min_tier:
        reasons.append(Reason.TIER)
    if needs.escalation and escalations_left(rep) == 0:
        reasons.append(Reason.CAP_ESCALATED)
    return reasons


def effective_weight(rep: RepSnapshot, now: datetime) -> float:
    """The rep's weight, reduced to ``ramp_share`` of it while they ramp up."""
    if rep.ramp_until is not None and local_now(rep, now).date() < rep.ramp_until:
        return rep.weight * rep.ramp_share
    return float(rep.weight)
