from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from reps.tests.factories import HolidayCalendarFactory, HolidayFactory
from sla import calendars
from sla.calendars import (
    BusinessCalendarSpec,
    BusinessInterval,
    CalendarClosedError,
    business_deadline,
    business_time_between,
    is_business_time,
    next_business_start,
)
from sla.models import BusinessCalendar, BusinessHours, check_business_hours
from sla.selectors import calendar_spec

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)
M = timedelta(minutes=1)


def spec(
    zone: str = "Europe/Berlin",
    hours: tuple[tuple[time, time], ...] = ((time(9), time(17)),),
    days: range = range(5),
    holidays: tuple[date, ...] = (),
) -> BusinessCalendarSpec:
    return BusinessCalendarSpec(
        timezone=zone,
        intervals=tuple(BusinessInterval(d, s, e) for d in days for s, e in hours),
        holidays=frozenset(holidays),
    )


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def local(zone: ZoneInfo, *parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=zone, fold=fold)


OFFICE = spec()  # Berlin, Monday to Friday 09:00-17:00
DAILY_BERLIN = spec(days=range(7))
DAILY_NEW_YORK = spec("America/New_York", days=range(7))


# Nights, weekends, holidays, closing time.


def test_a_deadline_inside_business_hours_is_plain_addition():
    start = local(BERLIN, 2026, 6, 9, 10, 0)  # a Tuesday
    assert business_deadline(start, 30, OFFICE) == local(BERLIN, 2026, 6, 9, 10, 30)
    assert business_deadline(start, 30, OFFICE).tzinfo is UTC


def test_a_deadline_runs_over_the_night_into_the_next_morning():
    start = local(BERLIN, 2026, 6, 9, 16, 45)
    assert business_deadline(start, 30, OFFICE) == local(BERLIN, 2026, 6, 10, 9, 15)


def test_a_deadline_on_friday_evening_skips_the_weekend():
    start = local(BERLIN, 2026, 6, 12, 16, 45)
    assert business_deadline(start, 30, OFFICE) == local(BERLIN, 2026, 6, 15, 9, 15)
    assert business_time_between(start, local(BERLIN, 2026, 6, 15, 9, 15), OFFICE) == 30 * M


def test_a_holiday_is_closed_all_day():
    whit_monday = date(2026, 5, 25)
    cal = spec(holidays=(whit_monday,))
    start = local(BERLIN, 2026, 5, 22, 16, 45)  # the Friday before
    assert business_deadline(start, 30, cal) == local(BERLIN, 2026, 5, 26, 9, 15)
    assert not is_business_time(local(BERLIN, 2026, 5, 25, 12, 0), cal)
    assert business_deadline(start, 30, OFFICE) == local(BERLIN, 2026, 5, 25, 9, 15)


def test_a_deadline_that_uses_the_last_minute_is_the_closing_time_not_the_next_opening():
    start = local(BERLIN, 2026, 6, 9, 16, 30)
    assert business_deadline(start, 30, OFFICE) == local(BERLIN, 2026, 6, 9, 17, 0)
    assert business_deadline(start, 31, OFFICE) == local(BERLIN, 2026, 6, 10, 9, 1)
    assert is_business_time(local(BERLIN, 2026, 6, 9, 16, 59, 59), OFFICE)
    assert not is_business_time(local(BERLIN, 2026, 6, 9, 17, 0), OFFICE)
    assert is_business_time(local(BERLIN, 2026, 6, 10, 9, 0), OFFICE)


def test_a_clock_started_outside_hours_starts_running_at_the_next_opening():
    saturday = local(BERLIN, 2026, 6, 13, 12, 0)
    early = local(BERLIN, 2026, 6, 9, 7, 0)
    assert business_deadline(saturday, 30, OFFICE) == local(BERLIN, 2026, 6, 15, 9, 30)
    assert business_deadline(early, 30, OFFICE) == local(BERLIN, 2026, 6, 9, 9, 30)
    assert next_business_start(saturday, OFFICE) == local(BERLIN, 2026, 6, 15, 9, 0)
    assert next_business_start(early, OFFICE) == local(BERLIN, 2026, 6, 9, 9, 0)
    inside = local(BERLIN, 2026, 6, 9, 11, 0)
    assert next_business_start(inside, OFFICE) == inside
    assert business_deadline(saturday, 0, OFFICE) == saturday


def test_a_lunch_break_stops_the_clock():
    cal = spec(hours=((time(9), time(12)), (time(13), time(17))))
    start = local(BERLIN, 2026, 6, 9, 11, 45)
    assert business_deadline(start, 30, cal) == local(BERLIN, 2026, 6, 9, 13, 15)
    assert business_deadline(start, 15, cal) == local(BERLIN, 2026, 6, 9, 12, 0)
    assert not is_business_time(local(BERLIN, 2026, 6, 9, 12, 30), cal)
    assert (
        business_time_between(local(BERLIN, 2026, 6, 9, 11), local(BERLIN, 2026, 6, 9, 14), cal)
        == 2 * H
    )


def test_a_night_shift_either_side_of_midnight_runs_on_without_a_gap():
    cal = BusinessCalendarSpec(
        timezone="Europe/Berlin",
        intervals=(
            BusinessInterval(0, time(22), time(0)),  # Monday 22:00 to midnight
            BusinessInterval(1, time(0), time(6)),
        ),
    )
    start = local(BERLIN, 2026, 6, 8, 23, 50)
    assert business_deadline(start, 20, cal) == local(BERLIN, 2026, 6, 9, 0, 10)
    assert business_deadline(local(BERLIN, 2026, 6, 8, 12), 8 * 60, cal) == local(
        BERLIN, 2026, 6, 9, 6
    )
    assert business_deadline(local(BERLIN, 2026, 6, 8, 12), 8 * 60 + 1, cal) == local(
        BERLIN, 2026, 6, 15, 22, 1
    )


def test_business_time_between_is_signed_like_subtraction():
    a, b = local(BERLIN, 2026, 6, 9, 10), local(BERLIN, 2026, 6, 10, 10)
    assert business_time_between(a, b, OFFICE) == 8 * H
    assert business_time_between(b, a, OFFICE) == -8 * H
    assert business_time_between(a, a, OFFICE) == timedelta(0)


def test_a_deadline_weeks_out_walks_days_not_minutes():
    calendars._day_spans.cache_clear()
    start = local(BERLIN, 2026, 6, 8, 9)  # a Monday
    thirty_days = 30 * 8 * 60
    assert business_deadline(start, thirty_days, OFFICE) == local(BERLIN, 2026, 7, 17, 17)
    assert calendars._day_spans.cache_info().misses <= 45


# Daylight saving time.


@pytest.mark.parametrize(
    ("cal", "saturday", "sunday_0915_utc"),
    [
        (DAILY_BERLIN, local(BERLIN, 2026, 3, 28, 16, 45), utc(2026, 3, 29, 7, 15)),
        (DAILY_BERLIN, local(BERLIN, 2026, 10, 24, 16, 45), utc(2026, 10, 25, 8, 15)),
        (DAILY_NEW_YORK, local(NEW_YORK, 2026, 3, 7, 16, 45), utc(2026, 3, 8, 13, 15)),
        (DAILY_NEW_YORK, local(NEW_YORK, 2026, 10, 31, 16, 45), utc(2026, 11, 1, 14, 15)),
    ],
    ids=["berlin-spring", "berlin-autumn", "new-york-spring", "new-york-autumn"],
)
def test_on_the_day_the_clocks_change_the_office_still_opens_at_nine_local(
    cal, saturday, sunday_0915_utc
):
    deadline = business_deadline(saturday, 30, cal)
    assert deadline == sunday_0915_utc
    assert deadline.astimezone(cal.zone).time() == time(9, 15)
    assert business_time_between(saturday, deadline, cal) == 30 * M
    # The whole Sunday is still eight business hours, however long the night was.
    assert business_time_between(saturday, saturday + 2 * timedelta(days=1), cal) == 16 * H


def test_an_interval_across_the_spring_forward_gap_is_an_hour_shorter():
    cal = BusinessCalendarSpec(
        timezone="Europe/Berlin",
        intervals=(
            BusinessInterval(6, time(1), time(3)),
            BusinessInterval(5, time(2), time(2, 30)),
            BusinessInterval(5, time(3), time(4)),
        ),
    )
    sunday = date(2026, 3, 29)
    assert cal.day_spans(sunday) == ((utc(2026, 3, 29, 0), utc(2026, 3, 29, 1)),)
    # An interval wholly inside the gap has no time; one starting in it opens at its end.
    gap_only = spec(hours=((time(2), time(2, 30)),), days=range(6, 7))
    assert gap_only.day_spans(sunday) == ()
    late_start = spec(hours=((time(2, 30), time(4)),), days=range(6, 7))
    assert late_start.day_spans(sunday) == ((utc(2026, 3, 29, 1), utc(2026, 3, 29, 2)),)
    assert business_deadline(local(BERLIN, 2026, 3, 29, 1, 30), 45, cal) == local(
        BERLIN, 2026, 4, 4, 2, 15
    )


def test_an_interval_across_the_fall_back_overlap_counts_the_repeated_hour_twice():
    cal = spec(hours=((time(1), time(4)),), days=range(6, 7))
    sunday = date(2026, 10, 25)
    ((start, end),) = cal.day_spans(sunday)
    assert end - start == 4 * H
    # An ambiguous start means its first occurrence.
    ambiguous = spec(hours=((time(2, 30), time(5)),), days=range(6, 7))
    ((start, end),) = ambiguous.day_spans(sunday)
    # 02:30 CEST; an ambiguous local datetime never compares equal across zones (PEP 495).
    assert start == local(BERLIN, 2026, 10, 25, 2, 30, fold=0).astimezone(UTC)
    assert start == utc(2026, 10, 25, 0, 30)
    assert end - start == 3 * H + 30 * M


def test_a_round_the_clock_local_calendar_counts_the_short_and_the_long_day():
    cal = spec("America/New_York", hours=((time(0), time(0)),), days=range(7))
    assert cal.always_open  # and so elapsed time; the same answer the day walk gives:
    walked = spec(
        "America/New_York",
        hours=((time(0), time(0)),),
        days=range(7),
        holidays=(date(1999, 1, 1),),
    )
    assert not walked.always_open
    start = local(NEW_YORK, 2026, 3, 1)
    for days in range(1, 300, 7):
        end = datetime.combine(date(2026, 3, 1) + timedelta(days=days), time(0), tzinfo=NEW_YORK)
        elapsed = end.astimezone(UTC) - start.astimezone(UTC)
        assert business_time_between(start, end, walked) == elapsed
        assert business_time_between(start, end, cal) == elapsed
    assert business_time_between(
        local(NEW_YORK, 2026, 3, 8), local(NEW_YORK, 2026, 3, 9), walked
    ) == timedelta(hours=23)
    assert business_time_between(
        local(NEW_YORK, 2026, 11, 1), local(NEW_YORK, 2026, 11, 2), walked
    ) == timedelta(hours=25)


@pytest.mark.parametrize(
    ("now", "cal", "expected"),
    [
        # 01:59:30, half a minute before Berlin springs forward: due at 03:29:30 CEST.
        (
            utc(2026, 3, 29, 0, 59, 30),
            spec(hours=((time(1), time(4)),), days=range(7)),
            utc(2026, 3, 29, 1, 29, 30),
        ),
        # 01:30 the first time in New York, at the fall back: 30 more minutes is 01:00 EST.
        (
            utc(2026, 11, 1, 5, 30),
            spec("America/New_York", hours=((time(0), time(2)),), days=range(7)),
            utc(2026, 11, 1, 6, 0),
        ),
        # 16:59 on the Friday before Berlin falls back.
        (utc(2026, 10, 23, 14, 59), OFFICE, utc(2026, 10, 26, 8, 29)),
    ],
    ids=["berlin-gap", "new-york-overlap", "berlin-friday"],
)
def test_a_clock_started_now_at_a_dst_edge(now, cal, expected):
    with time_machine.travel(now, tick=False):
        assert business_deadline(timezone.now(), 30, cal) == expected
        assert is_business_time(timezone.now(), cal)


# Round the clock, and calendars that never open.


def test_twenty_four_seven_is_elapsed_time():
    cal = BusinessCalendarSpec.twenty_four_seven()
    start = local(NEW_YORK, 2026, 3, 7, 23, 0)
    assert cal.always_open
    utc = start.astimezone(UTC)  # aware arithmetic in one zone is wall-clock arithmetic
    assert business_deadline(start, 24 * 60, cal) == utc + 24 * H == local(NEW_YORK, 2026, 3, 9)
    assert business_time_between(start, local(NEW_YORK, 2026, 3, 9), cal) == 24 * H
    assert is_business_time(start, cal)
    assert next_business_start(start, cal) == start


def test_a_calendar_without_hours_raises_instead_of_looping():
    never = BusinessCalendarSpec(timezone="UTC", intervals=())
    start = utc(2026, 1, 1)
    with pytest.raises(CalendarClosedError, match="no business hours"):
        business_deadline(start, 30, never)
    with pytest.raises(CalendarClosedError):
        next_business_start(start, never)
    assert business_time_between(start, start + 1000 * H, never) == timedelta(0)
    assert not is_business_time(start, never)


def test_a_calendar_closed_by_holidays_for_years_raises_after_two_years():
    days = frozenset(date(2026, 1, 1) + timedelta(days=n) for n in range(3 * 365))
    cal = spec(holidays=tuple(days))
    with pytest.raises(CalendarClosedError, match="closed every day from 2026-01-01"):
        business_deadline(utc(2026, 1, 1), 30, cal)
    # Closed for less than the limit: the deadline is found.
    shorter = spec(holidays=tuple(d for d in days if d < date(2027, 6, 1)))
    assert business_deadline(utc(2026, 1, 1), 30, shorter) == local(BERLIN, 2027, 6, 1, 9, 30)


# Bad input.


@pytest.mark.parametrize(
    ("intervals", "message"),
    [
        ((BusinessInterval(0, time(17), time(9)),), "Monday 17:00-09:00: the end must be after"),
        ((BusinessInterval(2, time(9), time(9)),), "the end must be after the start"),
        ((BusinessInterval(7, time(9), time(17)),), "Weekday 7 is not 0"),
        (
            (BusinessInterval(4, time(9), time(13)), BusinessInterval(4, time(12), time(0))),
            "Friday 09:00-13:00 overlaps Friday 12:00-24:00",
        ),
    ],
)
def test_bad_intervals_are_refused_with_a_message_that_names_them(intervals, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendarSpec(timezone="UTC", intervals=intervals)


def test_touching_intervals_and_midnight_ends_are_accepted():
    cal = spec(hours=((time(0), time(12)), (time(12), time(0))), days=range(1))
    assert str(cal.intervals[1]) == "Monday 12:00-24:00"


def test_an_unknown_time_zone_naive_datetimes_and_negative_durations_are_refused():
    with pytest.raises(ValueError, match="'Mars/Olympus' is not an IANA time zone"):
        spec("Mars/Olympus")
    with pytest.raises(ValueError, match="aware datetime"):
        business_deadline(datetime(2026, 6, 9, 10), 30, OFFICE)
    with pytest.raises(ValueError, match="cannot be negative"):
        business_deadline(local(BERLIN, 2026, 6, 9, 10), -1, OFFICE)


# Properties.

CALENDARS = [
    spec(hours=((time(9), time(12)), (time(13), time(17, 30))), holidays=(date(2026, 12, 25),)),
    DAILY_NEW_YORK,
    spec("America/New_York", hours=((time(1, 30), time(2, 30)),), days=range(6, 7)),
    spec("Asia/Kolkata", hours=((time(0), time(6)), (time(22), time(0))), days=range(0, 7, 2)),
    spec(hours=((time(0), time(0)),), days=range(7), holidays=(date(2026, 6, 1),)),
    BusinessCalendarSpec.twenty_four_seven(),
]
instants = st.datetimes(datetime(2025, 12, 1), datetime(2027, 2, 1), timezones=st.just(UTC))
durations = st.integers(0, 40 * 24 * 3600).map(lambda s: timedelta(seconds=s))
cals = st.sampled_from(CALENDARS)


@given(cals, instants, durations)
def test_the_business_time_up_to_a_deadline_is_the_duration(cal, start, duration):
    deadline = business_deadline(start, duration, cal)
    assert business_time_between(start, deadline, cal) == duration
    if duration:
        assert is_business_time(deadline - timedelta(microseconds=1), cal)


@given(cals, instants, durations, durations)
def test_deadlines_grow_with_the_duration_and_add_up(cal, start, a, b):
    first = business_deadline(start, a, cal)
    assert first <= business_deadline(start, a + b, cal)
    assert business_deadline(first, b, cal) == business_deadline(start, a + b, cal)


@given(cals, instants, instants)
def test_business_time_never_exceeds_elapsed_time_and_next_start_is_open(cal, a, b):
    between = business_time_between(a, b, cal)
    assert abs(between) <= abs(b - a)
    opens = next_business_start(a, cal)
    assert opens >= a
    assert is_business_time(opens, cal)
    assert business_time_between(a, opens, cal) == timedelta(0)


# Models and the selector.


@pytest.mark.django_db
def test_calendar_spec_loads_hours_and_all_holidays_in_two_queries(django_assert_num_queries):
    holidays = HolidayCalendarFactory(name="Germany")
    HolidayFactory(calendar=holidays, date=date(2026, 12, 25), name="Christmas")
    HolidayFactory(calendar=holidays, date=date(2031, 1, 1), name="New Year")
    cal = BusinessCalendar.objects.create(
        name="Support EU", timezone="Europe/Berlin", holiday_calendar=holidays
    )
    for weekday in range(5):
        BusinessHours.objects.create(calendar=cal, weekday=weekday, start=time(13), end=time(0))
        BusinessHours.objects.create(calendar=cal, weekday=weekday, start=time(8), end=time(12))

    with django_assert_num_queries(2):
        loaded = calendar_spec(cal)
    assert loaded.timezone == "Europe/Berlin"
    assert loaded.holidays == {date(2026, 12, 25), date(2031, 1, 1)}
    assert loaded.intervals[:2] == (
        BusinessInterval(0, time(8), time(12)),
        BusinessInterval(0, time(13), time(0)),
    )
    assert len(loaded.intervals) == 10


@pytest.mark.django_db
def test_calendar_spec_without_holidays_is_one_query_and_without_a_calendar_none(
    django_assert_num_queries,
):
    cal = BusinessCalendar.objects.create(name="Plain", timezone="UTC")
    with django_assert_num_queries(1):
        assert calendar_spec(cal).holidays == frozenset()
    with django_assert_num_queries(0):
        assert calendar_spec(None).always_open


@pytest.mark.django_db
def test_business_hours_validation_names_the_problem():
    cal = BusinessCalendar.objects.create(name="Support", timezone="UTC")
    with pytest.raises(ValidationError, match="the end must be after the start"):
        BusinessHours(calendar=cal, weekday=0, start=time(17), end=time(9)).full_clean()
    BusinessHours(calendar=cal, weekday=0, start=time(17), end=time(0)).full_clean()
    with pytest.raises(ValidationError, match="Tuesday 09:00-12:00 overlaps Tuesday 11:00-14:00"):
        check_business_hours([(1, time(11), time(14)), (1, time(9), time(12))])
    with pytest.raises(ValidationError, match="not an IANA time zone"):
        BusinessCalendar(name="Bad", timezone="Europe/Atlantis").full_clean()


@pytest.mark.django_db
def test_the_database_refuses_hours_that_end_before_they_start():
    cal = BusinessCalendar.objects.create(name="Support", timezone="UTC")
    BusinessHours.objects.create(calendar=cal, weekday=0, start=time(9), end=time(0))
    with pytest.raises(IntegrityError):
        BusinessHours.objects.create(calendar=cal, weekday=0, start=time(9), end=time(8))


@pytest.mark.django_db
def test_a_holiday_calendar_in_use_by_a_business_calendar_cannot_be_deleted():
    holidays = HolidayCalendarFactory()
    BusinessCalendar.objects.create(name="Support", timezone="UTC", holiday_calendar=holidays)
    with pytest.raises(ProtectedError):
        holidays.delete()


@pytest.mark.django_db
def test_the_admin_refuses_overlapping_business_hours_in_one_save(admin_client):
    url = reverse("admin:sla_businesscalendar_add")
    assert admin_client.get(url).status_code == 200
    form = {
        "name": "Support",
        "timezone": "Europe/Berlin",
        "hours-TOTAL_FORMS": "2",
        "hours-INITIAL_FORMS": "0",
        "hours-0-weekday": "0",
        "hours-0-start": "09:00",
        "hours-0-end": "13:00",
        "hours-1-weekday": "0",
        "hours-1-start": "12:00",
        "hours-1-end": "17:00",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert "Monday 09:00-13:00 overlaps Monday 12:00-17:00" in response.content.decode()
    assert not BusinessCalendar.objects.exists()

    form["hours-1-start"] = "13:00"
    assert admin_client.post(url, form).status_code == 302
    assert calendar_spec(BusinessCalendar.objects.get()).intervals[1].start == time(13)
