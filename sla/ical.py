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
- RRULE with FREQ=YEARLY only, and COUNT or UNTIL, INTERVAL, one BYMONTH, one BYMONTHDAY
  or one BYDAY with an ordinal (``4TH`` for Thanksgiving, ``-1MO`` for Memorial Day).
  Dates a year lacks (29 February, a fifth Monday) are skipped, as the RFC says. EXDATE
  and RDATE (dates or date-times) remove and add occurrences.
- No occurrence of a rule is expanded past ``horizon``: that bounds rules without COUNT or
  UNTIL, which never end, and a COUNT=10000 too. The import service sets it to the end of
  the year ten years from now; re-importing the same file later extends it.

Two events on one date: the first in the file names it. Every error names the line (the
first physical line of a folded one) and the reason; a bad event is reported and skipped,
a broken structure (BEGIN/END) stops the reading.
"""

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

MAX_EVENT_DAYS = 366
DEFAULT_NAME = "Holiday"
BEGIN_CALENDAR = ("BEGIN", "VCALENDAR")
_WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z?")
_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W|(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+)S)?)?)"
)
_BYDAY = re.compile(r"([+-]?)([1-5])(MO|TU|WE|TH|FR|SA|SU)")
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
    return _Property(number, name, params, rest[1:])


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

    starts = {start.day}
    rrule = _single(props, "RRULE")
    if rrule is not None:
        starts |= _yearly(rrule, start.day, horizon)
    for prop in props.get("RDATE", []):
        starts |= {_when(prop, value).day for value in prop.value.split(",")}
    for prop in props.get("EXDATE", []):
        starts -= {_when(prop, value).day for value in prop.value.split(",")}
    return [
        IcalHoliday(first + timedelta(days=offset), name, line)
        for first in sorted(starts)
        for offset in range(days)
    ]


def _unescape(text: str) -> str:
    """TEXT escapes (RFC 5545 3.3.11): \\\\ \\; \\, and \\n or \\N for a line break."""
    return _ESCAPES.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def _yearly(prop: _Property, first: date, horizon: date) -> set[date]:
    """The start dates a FREQ=YEARLY rule gives, up to ``horizon`` (see the module
    docstring); ``first`` (DTSTART) counts as the first occurrence."""
    rule: dict[str, str] = {}
    for part in prop.value.upper().split(";"):
        key, sep, value = part.partition("=")
        if not sep or not value:
            raise _Bad(f"RRULE: {part!r} is not NAME=value", prop.line)
        if key in rule:
            raise _Bad(f"RRULE: {key} appears twice", prop.line)
        rule[key] = value
    unknown = set(rule) - {"FREQ", "COUNT", "UNTIL", "INTERVAL", "BYMONTH", "BYMONTHDAY"}
    unknown -= {"BYDAY", "WKST"}
    if unknown:
        raise _Bad(f"RRULE: {', '.join(sorted(unknown))} is not supported", prop.line)
    if rule.get("FREQ") != "YEARLY":
        raise _Bad(
            f"RRULE: only FREQ=YEARLY is supported, not FREQ={rule.get('FREQ', '')}", prop.line
        )
    if "COUNT" in rule and "UNTIL" in rule:
        raise _Bad("RRULE: COUNT or UNTIL, not both", prop.line)
    count = _number(rule, "COUNT", prop, 1, 10_000)
    interval = _number(rule, "INTERVAL", prop, 1, 100) or 1
    month = _number(rule, "BYMONTH", prop, 1, 12) or first.month
    until = horizon
    if "UNTIL" in rule:
        until = min(until, _when(prop, rule["UNTIL"]).day)
    byday = rule.get("BYDAY")
    bymonthday = rule.get("BYMONTHDAY")
    if byday is not None and bymonthday is not None:
        raise _Bad("RRULE: BYDAY and BYMONTHDAY together are not supported", prop.line)
    if byday is not None and not _BYDAY.fullmatch(byday):
        raise _Bad(
            f"RRULE: BYDAY={byday} is not supported (one weekday with an ordinal, e.g. 4TH)",
            prop.line,
        )
    monthday = first.day
    if bymonthday is not None:
        if not re.fullmatch(r"[+-]?\d{1,2}", bymonthday) or not 1 <= abs(int(bymonthday)) <= 31:
            raise _Bad(f"RRULE: BYMONTHDAY={bymonthday} is not one day -31 to 31", prop.line)
        monthday = int(bymonthday)

    found = {first}
    year = first.year
    while year <= until.year and (count is None or len(found) < count):
        day = _occurrence(year, month, monthday, byday)
        if day is not None and first < day <= until:
            found.add(day)
        year += interval
    return found


def _number(rule: dict[str, str], key: str, prop: _Property, low: int, high: int) -> int | None:
    if key not in rule:
        return None
    if not rule[key].isdigit() or not low <= int(rule[key]) <= high:
        raise _Bad(f"RRULE: {key}={rule[key]} is not a number {low} to {high}", prop.line)
    return int(rule[key])


def _occurrence(year: int, month: int, monthday: int, byday: str | None) -> date | None:
    """The date a yearly rule gives in ``year``, or None when that year has none."""
    length = calendar.monthrange(year, month)[1]
    if byday is not None:
        match = _BYDAY.fullmatch(byday)
        assert match is not None
        sign, nth, weekday = match.groups()
        if sign == "-":
            last = date(year, month, length)
            day = last - timedelta(days=(last.weekday() - _WEEKDAYS[weekday]) % 7)
            day -= timedelta(weeks=int(nth) - 1)
        else:
            first = date(year, month, 1)
            day = first + timedelta(days=(_WEEKDAYS[weekday] - first.weekday()) % 7)
            day += timedelta(weeks=int(nth) - 1)
        return day if day.month == month else None
    number = monthday if monthday > 0 else length + 1 + monthday
    return date(year, month, number) if 1 <= number <= length else None
