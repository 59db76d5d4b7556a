"""Business time: when is a deadline N business minutes after an instant, how much business
time lies between two instants, is a calendar open now.

Pure functions over a ``BusinessCalendarSpec`` (no ORM, no settings), like
``reps.availability``: SLA clocks, the replay and the tests share them, and the selector
``sla.selectors.calendar_spec`` builds the spec from the database once.

Business hours are local wall-clock intervals, so a 09:00-17:00 day opens at 09:00 local
time on the days the clocks change too. Two kinds of local times need a rule:

- A time that does not exist (inside the spring-forward gap) means the first instant after
  the gap: on 2026-03-29 in Europe/Berlin an interval 01:00-03:00 lasts one hour, and one
  of 02:00-02:30 lasts nothing at all. The business simply opens when the gap ends.
- A time that happens twice (inside the fall-back overlap) means its first occurrence
  (PEP 495 ``fold=0``): on 2026-10-25 in Europe/Berlin an interval 01:00-04:00 lasts four
  hours, since it covers the repeated hour both times.

Every instant in and out is aware; results are in UTC.
"""

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY = timedelta(days=1)
# A deadline search gives up after this many consecutive days without a single open
# minute: a calendar closed for two years is a data error (say, holidays imported for every
# day), and an SLA clock must fail loudly rather than loop.
MAX_CLOSED_DAYS = 731
# Seven whole days with no holidays: business time is elapsed time.
_WHOLE_DAY = (time(0), time(0))

Span = tuple[datetime, datetime]


class CalendarClosedError(ValueError):
    """The calendar has no business time left to reach a deadline."""


@dataclass(frozen=True, order=True)
class BusinessInterval:
    """Open time on one weekday (0 = Monday), local to the calendar: start ≤ t < end.

    ``end`` 00:00 means midnight at the end of the day, so 00:00-00:00 is the whole day.
    Unlike ``reps.availability.WorkInterval`` (which ends at 23:59:59 at the latest) no
    second is lost at midnight: business time must add up exactly across days. An
    interval never crosses midnight; a night shift is one interval each side of it.
    """

    weekday: int
    start: time
    end: time

    @property
    def end_offset(self) -> timedelta:
        """The end as time since local midnight: 24 h for an end at 00:00."""
        return DAY if self.end == time(0) else _since_midnight(self.end)

    def __str__(self) -> str:
        end = "24:00" if self.end == time(0) else f"{self.end:%H:%M}"
        return f"{WEEKDAY_NAMES[self.weekday]} {self.start:%H:%M}-{end}"


def _since_midnight(clock: time) -> timedelta:
    return timedelta(
        hours=clock.hour, minutes=clock.minute, seconds=clock.second, microseconds=clock.microsecond
    )


def check_intervals(intervals: Iterable[BusinessInterval]) -> None:
    """Refuse a bad interval (weekday outside 0-6, end not after start, a time zone on a
    time) or two that overlap on a day, with a message that names them. Raises ValueError.
    """
    by_day: dict[int, list[BusinessInterval]] = {}
    for interval in intervals:
        if not 0 <= interval.weekday <= 6:
            raise ValueError(f"Weekday {interval.weekday} is not 0 (Monday) to 6 (Sunday).")
        if interval.start.tzinfo is not None or interval.end.tzinfo is not None:
            raise ValueError(f"{interval}: times are local to the calendar, without a zone.")
        if _since_midnight(interval.start) >= interval.end_offset:
            raise ValueError(
                f"{interval}: the end must be after the start (00:00 as the end means "
                "midnight; a night shift is one interval each side of midnight)."
            )
        by_day.setdefault(interval.weekday, []).append(interval)
    for spans in by_day.values():
        spans.sort()
        for first, second in pairwise(spans):
            if _since_midnight(second.start) < first.end_offset:
                raise ValueError(f"{first} overlaps {second}.")


@dataclass(frozen=True)
class BusinessCalendarSpec:
    """A business calendar as plain data: an IANA time zone, weekly open intervals in it
    (several a day allowed, e.g. around lunch) and holidays, local dates closed all day.
    """

    timezone: str
    intervals: tuple[BusinessInterval, ...]
    holidays: frozenset[date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _by_weekday: tuple[tuple[BusinessInterval, ...], ...] = field(
        init=False, repr=False, compare=False
    )
    always_open: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{self.timezone!r} is not an IANA time zone.") from None
        intervals = tuple(sorted(self.intervals))
        check_intervals(intervals)
        by_weekday = tuple(tuple(i for i in intervals if i.weekday == d) for d in range(7))
        whole_week = all(
            len(day) == 1 and (day[0].start, day[0].end) == _WHOLE_DAY for day in by_weekday
        )
        object.__setattr__(self, "intervals", intervals)
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_by_weekday", by_weekday)
        object.__setattr__(self, "always_open", whole_week and not self.holidays)

    @classmethod
    def twenty_four_seven(cls) -> "BusinessCalendarSpec":
        """Open around the clock: business time is elapsed time (what a policy without a
        calendar uses)."""
        return cls(
            timezone="UTC",
            intervals=tuple(BusinessInterval(d, time(0), time(0)) for d in range(7)),
        )

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def day_spans(self, day: date) -> tuple[Span, ...]:
        """The open spans of one local date as UTC instants, in order; none on a holiday."""
        return _day_spans(self, day)


@lru_cache(maxsize=4096)
def _day_spans(cal: BusinessCalendarSpec, day: date) -> tuple[Span, ...]:
    if day in cal.holidays:
        return ()
    spans = []
    for interval in cal._by_weekday[day.weekday()]:
        start = _instant(day, interval.start, cal.zone)
        end = (
            _instant(day + DAY, time(0), cal.zone)
            if interval.end == time(0)
            else _instant(day, interval.end, cal.zone)
        )
        if start < end:  # an interval inside a spring-forward gap has no time in it
            spans.append((start, end))
    return tuple(spans)


def _instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time: its first occurrence if it happens
    twice, the end of the gap if it does not happen at all (see the module docstring)."""
    local = datetime.combine(day, clock, tzinfo=zone)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return utc
    # In a gap, fold=0 and fold=1 read the time with the offsets either side of the
    # transition, so they land on both sides of it. zoneinfo does not expose transitions:
    # find it by bisection to the second (tzdata transitions fall on whole seconds).
    other = local.replace(fold=1).astimezone(UTC)
    low, high = math.floor(min(utc, other).timestamp()), math.ceil(max(utc, other).timestamp())
    before = datetime.fromtimestamp(low, zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {moment!r}.")
    return moment.astimezone(UTC)


def _spans_from(moment: datetime, cal: BusinessCalendarSpec) -> Iterator[Span]:
    """Open spans from ``moment`` on, the first clipped to start there; raises
    CalendarClosedError when there is none for MAX_CLOSED_DAYS days in a row."""
    if not cal.intervals:
        raise CalendarClosedError("The calendar has no business hours.")
    # A span never leaves its local day, and local times map to instants in order, so the
    # spans of earlier dates have all ended by the first instant of the local date.
    day = moment.astimezone(cal.zone).date()
    closed_days = 0
    while True:
        spans = _day_spans(cal, day)
        for start, end in spans:
            if end > moment:
                yield max(start, moment), end
        closed_days = 0 if spans else closed_days + 1
        if closed_days > MAX_CLOSED_DAYS:
            raise CalendarClosedError(
                f"The calendar is closed every day from {day - (closed_days - 1) * DAY} to "
                f"{day}; no deadline can be reached."
            )
        day += DAY


def _duration(amount: int | timedelta) -> timedelta:
    duration = amount if isinstance(amount, timedelta) else timedelta(minutes=amount)
    if duration < timedelta(0):
        raise ValueError(f"A business duration cannot be negative, got {duration}.")
    return duration


def business_deadline(
    start: datetime, minutes: int | timedelta, cal: BusinessCalendarSpec
) -> datetime:
    """The instant ``minutes`` of business time (an int is minutes) after ``start``.

    A clock started outside business hours begins to run when the calendar opens. A
    deadline that uses up the last minute of an interval is its closing time, not the next
    opening: 30 minutes from 16:30 in a 09:00-17:00 day is 17:00 the same day. A duration
    of zero is ``start`` itself, so deadlines add up: ``deadline(deadline(t, a), b) ==
    deadline(t, a + b)``. The walk goes interval by interval, never minute by minute.
    """
    moment = _aware(start, "start")
    remaining = _duration(minutes)
    if cal.always_open or not remaining:
        return moment + remaining
    for span_start, span_end in _spans_from(moment, cal):
        available = span_end - span_start
        if remaining <= available:
            return span_start + remaining
        remaining -= available
    raise AssertionError("unreachable: _spans_from is endless or raises")


def business_time_between(a: datetime, b: datetime, cal: BusinessCalendarSpec) -> timedelta:
    """Business time from ``a`` to ``b`` (negative when ``b`` is before ``a``, like
    ``b - a``): how long a clock ran, e.g. to subtract a pause. A calendar with no hours
    gives zero rather than an error, since no deadline is being looked for."""
    a, b = _aware(a, "a"), _aware(b, "b")
    if b < a:
        return -business_time_between(b, a, cal)
    if cal.always_open:
        return b - a
    total = timedelta(0)
    day, last = a.astimezone(cal.zone).date(), b.astimezone(cal.zone).date()
    while day <= last:
        for start, end in _day_spans(cal, day):
            start, end = max(start, a), min(end, b)
            if start < end:
                total += end - start
        day += DAY
    return total


def is_business_time(at: datetime, cal: BusinessCalendarSpec) -> bool:
    """Is the calendar open at ``at``? Open at its opening instant, closed at its closing
    one."""
    moment = _aware(at, "at")
    if cal.always_open:
        return True
    today = moment.astimezone(cal.zone).date()
    return any(start <= moment < end for start, end in _day_spans(cal, today))


def next_business_start(at: datetime, cal: BusinessCalendarSpec) -> datetime:
    """The first instant at or after ``at`` when the calendar is open: ``at`` itself during
    business hours. Raises CalendarClosedError for a calendar that never opens."""
    moment = _aware(at, "at")
    if cal.always_open:
        return moment
    span_start, _ = next(_spans_from(moment, cal))
    return span_start
