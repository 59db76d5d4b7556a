"""Read holidays from an iCalendar file (RFC 5545), the format public holiday calendars are
published in. Pure: text in, dates and errors out; ``sla.calendar_services`` writes them.

What is read, and what is deliberately not:

- Each VEVENT directly inside VCALENDAR is a holiday named by its SUMMARY (unescaped,
  whitespace collapsed; "Holiday" without one). Other components (VTIMEZONE, VTODO,
  VALARM, ...) are skipped, as are events with STATUS:CANCELLED.
- DTSTART as a date (``VALUE=DATE``, or a bare ``YYYYMMDD``) or a date-time. A date-time
  counts as the date written in it, whatever its TZID or ``Z``: holiday files mark whole
  days, and the business calendar's own time zone decides when that day starts.
- DTEND is exclusive, so an all-day event from the 24th with DTEND the 27th gives the 24th,
  25th and 26th; a date-time end past midnight includes its own date. DURATION (days or
  weeks, or a time for date-times) works the same way. One event spans at most 366 days.
- RRULE, RDATE and EXDATE are expanded by the ``icalendar`` and ``recurring-ical-events``
  packages: every frequency and BY* part of RFC 5545 (``BYDAY=4TH`` for Thanksgiving,
  ``-1MO`` for Memorial Day, ``BYSETPOS``, ``BYWEEKNO``, ``FREQ=MONTHLY``, ...). Dates a
  year lacks (29 February, a fifth Monday) are skipped, as the RFC says. RRULE is read
  once per event, with COUNT or UNTIL (not both, as the RFC says).
- No occurrence of a rule is expanded past ``horizon``: that bounds rules without COUNT or
  UNTIL, which never end, and a COUNT=10000 too. The import service sets it to the end of
  the year ten years from now; re-importing the same file later extends it. A rule that
  gives more than ``MAX_OCCURRENCES`` starts before the horizon is an error, as is one that
  repeats within a day (FREQ=HOURLY, BYHOUR, ...). Occurrences more than ``HISTORY_YEARS``
  before the horizon are not expanded (DTSTART itself always counts).

This module reads the file's structure itself, line by line, so that every error names its
line (the libraries do not keep line numbers); the libraries read each event's recurrence.

Two events on one date: the first in the file names it. Every error names the line (the
first physical line of a folded one) and the reason; a bad event is reported and skipped,
a broken structure (BEGIN/END) stops the reading.
"""

import re
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import icalendar
import recurring_ical_events

MAX_EVENT_DAYS = 366
MAX_OCCURRENCES = 5_000  # starts of one rule before the horizon: ten years of days fit
HISTORY_YEARS = 30  # a rule is expanded from at most this many years before the horizon
DEFAULT_NAME = "Holiday"
BEGIN_CALENDAR = ("BEGIN", "VCALENDAR")
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z?")
_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W|(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+)S)?)?)"
)
_ESCAPES = re.compile(r"\\(.)")
_NAME = re.compile(r"[A-Za-z0-9-]+")


@dataclass(frozen=True)
class IcalHoliday:
    day: date
    name: str
    line: int  # where its VEVENT begins


@dataclass(frozen=True)
class IcalError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class IcalResult:
    holidays: list[IcalHoliday] = field(default_factory=list)  # one per date, by date
    errors: list[IcalError] = field(default_factory=list)


class _Bad(ValueError):
    """A problem with one property; the event reader adds the line number."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.line = reason, line


@dataclass(frozen=True)
class _Property:
    line: int
    name: str
    params: dict[str, str]
    value: str
    text: str  # the whole (unfolded) content line, for the libraries


def read_holidays(text: str, *, horizon: date) -> IcalResult:
    """The holidays of an iCalendar text, one per date, with every problem found."""
    result = IcalResult()
    by_day: dict[date, IcalHoliday] = {}
    stack: list[tuple[str, int]] = []
    event: list[_Property] | None = None
    event_line = 0
    last_line = 0
    seen_calendar = False
    for number, line in _unfolded(text.removeprefix("\ufeff")):
        last_line = number
        try:
            prop: _Property | None = _parse_line(number, line)
        except _Bad as exc:
            if stack:
                result.errors.append(IcalError(number, exc.reason))
                event = None  # one error per event: not "without DTSTART" as well
                continue
            prop = None
        if not stack and (prop is None or (prop.name, prop.value.upper()) != BEGIN_CALENDAR):
            reason = (
                "content after END:VCALENDAR"
                if seen_calendar
                else "not an iCalendar file: it must start with BEGIN:VCALENDAR"
            )
            result.errors.append(IcalError(number, reason))
            return result
        if prop.name == "BEGIN":
            stack.append((prop.value.upper(), number))
            seen_calendar = True
            if [kind for kind, _ in stack] == ["VCALENDAR", "VEVENT"]:
                event, event_line = [], number
        elif prop.name == "END":
            kind = prop.value.upper()
            if stack[-1][0] != kind:
                opened, at = stack[-1]
                result.errors.append(
                    IcalError(number, f"END:{kind} where BEGIN:{opened} of line {at} must end")
                )
                return result
            stack.pop()
            if event is not None and kind == "VEVENT" and len(stack) == 1:
                try:
                    for holiday in _event_holidays(event, event_line, horizon):
                        by_day.setdefault(holiday.day, holiday)
                except _Bad as exc:
                    result.errors.append(IcalError(exc.line or event_line, exc.reason))
                event = None
        elif event is not None and len(stack) == 2:
            event.append(prop)
    if stack:
        kind, at = stack[-1]
        result.errors.append(IcalError(last_line, f"BEGIN:{kind} of line {at} never ends"))
    elif not last_line:
        result.errors.append(IcalError(1, "the file is empty"))
    result.holidays = sorted(by_day.values(), key=lambda h: h.day)
    return result


def _unfolded(text: str) -> list[tuple[int, str]]:
    """Logical lines with the number of their first physical line: a line that starts with
    a space or tab continues the one before it (RFC 5545 3.1). Blank lines are skipped."""
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(re.split(r"\r\n|\n|\r", text), 1):
        if raw[:1] in (" ", "\t") and lines:
            first, logical = lines[-1]
            lines[-1] = (first, logical + raw[1:])
        elif raw.strip():
            lines.append((number, raw))
    return lines


def _parse_line(number: int, line: str) -> _Property:
    """``NAME;PARAM=value;PARAM="quoted;value":VALUE``; names upper-cased."""
    match = _NAME.match(line)
    if not match:
        raise _Bad(f"not a content line: {line[:40]!r}")
    name, rest, params = match.group().upper(), line[match.end() :], {}
    while rest.startswith(";"):
        key, sep, rest = rest[1:].partition("=")
        if not sep or not _NAME.fullmatch(key):
            raise _Bad(f"{name}: a parameter must be NAME=value")
        if rest.startswith('"'):
            value, quote, rest = rest[1:].partition('"')
            if not quote:
                raise _Bad(f"{name}: a quoted parameter value is never closed")
        else:
            stop = min((i for i in (rest.find(";"), rest.find(":")) if i >= 0), default=-1)
            if stop < 0:
                raise _Bad(f"{name}: no ':' before the value")
            value, rest = rest[:stop], rest[stop:]
        params[key.upper()] = value
    if not rest.startswith(":"):
        raise _Bad(f"{name}: no ':' before the value")
    return _Property(number, name, params, rest[1:], line)


@dataclass(frozen=True)
class _When:
    day: date
    moment: datetime | None  # None for a date


def _when(prop: _Property, value: str | None = None) -> _When:
    value = prop.value if value is None else value
    kind = prop.params.get("VALUE", "").upper()
    if kind not in ("", "DATE", "DATE-TIME"):
        raise _Bad(f"{prop.name}: VALUE={kind} is not supported (a date or date-time)", prop.line)
    match = (_DATE if kind == "DATE" or len(value) == 8 else _DATE_TIME).fullmatch(value)
    if not match:
        want = "YYYYMMDD" if kind == "DATE" else "YYYYMMDD or YYYYMMDDTHHMMSS[Z]"
        raise _Bad(f"{prop.name}: {value!r} is not a date ({want})", prop.line)
    try:
        parts = [int(p) for p in match.groups()]
        moment = datetime(*parts) if len(parts) == 6 else None  # as written
        return _When(date(*parts[:3]), moment)
    except ValueError:
        raise _Bad(f"{prop.name}: {value!r} is not a real date", prop.line) from None


def _days(start: _When, end: _When | None, prop: _Property | None) -> int:
    """How many dates the event covers, from its start and exclusive end."""
    if end is None:
        return 1
    assert prop is not None
    if (start.moment is None) != (end.moment is None):
        raise _Bad(f"{prop.name}: a date and a date-time cannot be mixed", prop.line)
    if start.moment is not None and end.moment is not None:
        if end.moment <= start.moment:
            raise _Bad(f"{prop.name}: the event must end after it starts", prop.line)
        last = end.day if end.moment.time() != datetime.min.time() else end.day - timedelta(1)
        count = (max(last, start.day) - start.day).days + 1
    else:
        count = (end.day - start.day).days
        if count <= 0:
            raise _Bad(f"{prop.name}: the event must end after it starts", prop.line)
    if count > MAX_EVENT_DAYS:
        raise _Bad(f"{prop.name}: an event of {count} days (at most {MAX_EVENT_DAYS})", prop.line)
    return count


def _duration_end(start: _When, prop: _Property) -> _When:
    match = _DURATION.fullmatch(prop.value.upper())
    if not match or not any(match.groupdict().values()):
        raise _Bad(f"DURATION: {prop.value!r} is not a duration like P1D or PT8H", prop.line)
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    delta = timedelta(**parts)
    if start.moment is None:
        if delta % timedelta(days=1):
            raise _Bad("DURATION: an all-day event lasts whole days", prop.line)
        return _When(start.day + delta, None)
    end = start.moment + delta
    return _When(end.date(), end)


def _single(props: dict[str, list[_Property]], name: str) -> _Property | None:
    found = props.get(name, [])
    if len(found) > 1:
        raise _Bad(f"{name} appears twice in one event", found[1].line)
    return found[0] if found else None


def _event_holidays(event: list[_Property], line: int, horizon: date) -> list[IcalHoliday]:
    props: dict[str, list[_Property]] = {}
    for prop in event:
        props.setdefault(prop.name, []).append(prop)
    status = _single(props, "STATUS")
    if status is not None and status.value.upper() == "CANCELLED":
        return []
    dtstart = _single(props, "DTSTART")
    if dtstart is None:
        raise _Bad("an event without DTSTART", line)
    start = _when(dtstart)
    dtend, duration = _single(props, "DTEND"), _single(props, "DURATION")
    if dtend is not None and duration is not None:
        raise _Bad("an event has DTEND or DURATION, not both", duration.line)
    if dtend is not None:
        days = _days(start, _when(dtend), dtend)
    elif duration is not None:
        days = _days(start, _duration_end(start, duration), duration)
    else:
        days = 1
    summary = _single(props, "SUMMARY")
    name = _unescape(summary.value) if summary is not None else ""
    name = " ".join(name.split()) or DEFAULT_NAME

    starts = _starts(props, start, horizon)
    return [
        IcalHoliday(first + timedelta(days=offset), name, line)
        for first in sorted(starts)
        for offset in range(days)
    ]


def _unescape(text: str) -> str:
    """TEXT escapes (RFC 5545 3.3.11): \\\\ \\; \\, and \\n or \\N for a line break."""
    return _ESCAPES.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def _starts(props: dict[str, list[_Property]], start: _When, horizon: date) -> set[date]:
    """The dates the event starts on up to ``horizon``: DTSTART, and what its RRULE, RDATE
    and EXDATE give, expanded by recurring-ical-events (each start as the date written)."""
    rrule = _single(props, "RRULE")
    recurrence = [p for name in ("RRULE", "RDATE", "EXDATE") for p in props.get(name, [])]
    if not recurrence:
        return {start.day}
    dtstart = props["DTSTART"][0]
    lines = ["BEGIN:VCALENDAR", "BEGIN:VEVENT", dtstart.text, *(p.text for p in recurrence)]
    text = "\r\n".join([*lines, "END:VEVENT", "END:VCALENDAR", ""])
    blame = rrule or recurrence[0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dateutil's about COUNT with UNTIL: refused below
            ical = icalendar.Calendar.from_ical(text)
            event = ical.walk("VEVENT")[0]
            for name, reason in event.errors:
                bad = next((p for p in recurrence if p.name == name), blame)
                raise _Bad(f"{name}: {reason}", bad.line)
            if rrule is not None and {"COUNT", "UNTIL"} <= set(event["RRULE"]):
                raise _Bad("RRULE: COUNT or UNTIL, not both", rrule.line)
            if rrule is not None:
                _whole_days(event["RRULE"], rrule)
            earliest = max(start.day, date(horizon.year - HISTORY_YEARS, 1, 1))
            query = recurring_ical_events.of(ical)
            occurrences = query.between(earliest, horizon + timedelta(days=1))
            if len(occurrences) > MAX_OCCURRENCES:
                raise _Bad(
                    f"RRULE: more than {MAX_OCCURRENCES} occurrences before {horizon}", blame.line
                )
            starts = {start.day}
            for occurrence in occurrences:
                moment = occurrence["DTSTART"].dt
                starts.add(moment.date() if isinstance(moment, datetime) else moment)
    except _Bad:
        raise
    except Exception as exc:  # the libraries' own errors: any kind, always this event's
        raise _Bad(f"{blame.name}: {exc}"[:300], blame.line) from None
    return {day for day in starts if day <= horizon}


def _whole_days(rule: icalendar.vRecur, prop: _Property) -> None:
    """A holiday repeats on days: rules that repeat within a day are refused (they would
    also give hundreds of thousands of occurrences)."""
    freq = (rule.get("FREQ") or [""])[0]
    if freq in {"SECONDLY", "MINUTELY", "HOURLY"}:
        raise _Bad(f"RRULE: FREQ={freq} repeats within a day; holidays are whole days", prop.line)
    parts = sorted({"BYHOUR", "BYMINUTE", "BYSECOND"} & set(rule))
    if parts:
        raise _Bad(f"RRULE: {', '.join(parts)} is not used for whole-day holidays", prop.line)
