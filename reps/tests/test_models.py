from datetime import UTC, datetime, time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from reps.models import WorkingHours, check_time_off, check_working_hours, validate_languages
from reps.tests.factories import HolidayFactory, RepFactory, WorkingHoursFactory

MON, TUE = 0, 1


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=UTC)


def test_working_hours_may_touch_but_not_overlap_on_one_day():
    check_working_hours([(MON, time(9), time(12)), (MON, time(12), time(17))])
    check_working_hours([(MON, time(9), time(17)), (TUE, time(9), time(17))])

    with pytest.raises(ValidationError, match="Monday 09:00-12:00 overlaps 11:30-17:00"):
        check_working_hours([(MON, time(11, 30), time(17)), (MON, time(9), time(12))])


@pytest.mark.parametrize(
    "interval",
    [(MON, time(17), time(9)), (MON, time(9), time(9)), (7, time(9), time(17))],
    ids=["backwards", "empty", "weekday 7"],
)
def test_working_hours_need_a_weekday_and_a_start_before_the_end(interval):
    with pytest.raises(ValidationError):
        check_working_hours([interval])


@pytest.mark.django_db
def test_a_working_hours_row_ending_before_it_starts_is_refused_by_clean_and_database():
    hours = WorkingHours(rep=RepFactory(), weekday=MON, start=time(17), end=time(9))

    with pytest.raises(ValidationError, match="after the start"):
        hours.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        hours.save()


def test_time_off_periods_may_follow_each_other_but_not_overlap():
    check_time_off([(at(1, 0), at(3, 0)), (at(3, 0), at(5, 0))])

    with pytest.raises(ValidationError, match="overlaps"):
        check_time_off([(at(1, 0), at(3, 0)), (at(2, 12), at(5, 0))])
    with pytest.raises(ValidationError, match="after the start"):
        check_time_off([(at(3, 0), at(1, 0))])


@pytest.mark.parametrize(
    "value, error",
    [
        (["en", "xx"], "xx"),
        (["EN"], "EN"),
        (["en", "en"], "twice"),
        ("en", "list"),
        ([1], "list"),
    ],
)
def test_languages_must_be_distinct_iso_639_1_codes(value, error):
    with pytest.raises(ValidationError, match=error):
        validate_languages(value)


def test_known_languages_pass():
    validate_languages(["en", "de", "ja", "zh"])
    validate_languages([])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, value",
    [("ramp_share", Decimal("1.5")), ("tier", 0), ("weight", 0), ("languages", ["english"])],
)
def test_rep_settings_out_of_range_are_refused(field, value):
    rep = RepFactory()
    setattr(rep, field, value)

    with pytest.raises(ValidationError) as exc:
        rep.full_clean()

    assert field in exc.value.message_dict


@pytest.mark.django_db
def test_a_calendar_has_one_holiday_per_date():
    first = HolidayFactory()
    second = HolidayFactory.build(calendar=first.calendar, date=first.date, name="Again")

    with pytest.raises(ValidationError, match="already has a holiday on that date"):
        second.full_clean()


@pytest.mark.django_db
def test_working_hours_print_as_day_and_times():
    assert str(WorkingHoursFactory(start=time(8, 30), end=time(12))) == "Monday 08:30-12:00"
