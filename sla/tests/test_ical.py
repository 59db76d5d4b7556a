from datetime import date

import pytest
import time_machine
from django.core.management import CommandError, call_command

from reps.models import Holiday, HolidayCalendar
from reps.tests.factories import HolidayCalendarFactory, HolidayFactory
from sla.calendar_services import holidays_import
from sla.ical import read_holidays

HORIZON = date(2036, 12, 31)


def ics(*lines: str) -> str:
    """A calendar around the given lines, with the CRLF line ends RFC 5545 asks for."""
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", *lines, "END:VCALENDAR", ""])


def event(*lines: str) -> tuple[str, ...]:
    return ("BEGIN:VEVENT", *lines, "END:VEVENT")


def days(text: str, horizon: date = HORIZON) -> dict[date, str]:
    result = read_holidays(text, horizon=horizon)
    assert result.errors == []
    return {h.day: h.name for h in result.holidays}


def errors(text: str) -> list[str]:
    return [str(e) for e in read_holidays(text, horizon=HORIZON).errors]


CHRISTMAS = event("DTSTART;VALUE=DATE:20261225", "SUMMARY:Christmas Day")
NEW_YEAR = event("DTSTART;VALUE=DATE:20270101", "SUMMARY:New Year")


# Reading.


def test_an_all_day_event_is_one_holiday_named_by_its_summary():
    assert days(ics(*CHRISTMAS, *NEW_YEAR)) == {
        date(2026, 12, 25): "Christmas Day",
        date(2027, 1, 1): "New Year",
    }


def test_folded_lines_are_joined_and_summary_escapes_undone():
    text = ics(
        "BEGIN:VEVENT",
        "DTSTART;VALUE=DATE:2026",
        " 1003",
        "SUMMARY:Tag der Deutschen\\, Einheit\\; a long",
        "\t name\\nwith a break and a \\\\",
        "END:VEVENT",
    )
    assert days(text) == {date(2026, 10, 3): "Tag der Deutschen, Einheit; a long name with a "
                          "break and a \\"}  # fmt: skip


def test_lf_line_ends_a_bom_and_quoted_parameters_are_read():
    text = "\ufeff" + ics(
        "BEGIN:VEVENT",
        'DTSTART;X-NOTE="a;b:c";VALUE=DATE:20260501',
        "SUMMARY;LANGUAGE=de:Tag der Arbeit",
        "END:VEVENT",
    ).replace("\r\n", "\n")
    assert days(text) == {date(2026, 5, 1): "Tag der Arbeit"}


def test_a_multi_day_event_gives_each_day_and_dtend_is_exclusive():
    text = ics(
        *event("DTSTART;VALUE=DATE:20261224", "DTEND;VALUE=DATE:20261227", "SUMMARY:Christmas")
    )
    assert sorted(days(text)) == [date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26)]


def test_date_time_events_and_durations_cover_the_dates_they_touch():
    text = ics(
        *event("DTSTART;TZID=Europe/Berlin:20260601T000000", "DTEND:20260602T000000"),
        *event("DTSTART:20260701T090000Z", "DTEND:20260702T120000Z"),
        *event("DTSTART;VALUE=DATE:20260801", "DURATION:P2D"),
        *event("DTSTART:20260901T220000", "DURATION:PT4H"),
        *event("DTSTART;VALUE=DATE:20261001", "DURATION:P1W"),
    )
    found = days(text)
    assert found.keys() == {
        date(2026, 6, 1),
        date(2026, 7, 1),
        date(2026, 7, 2),
        date(2026, 8, 1),
        date(2026, 8, 2),
        date(2026, 9, 1),
        date(2026, 9, 2),
        *(date(2026, 10, d) for d in range(1, 8)),
    }
    assert set(found.values()) == {"Holiday"}


def test_other_components_and_cancelled_events_are_skipped():
    text = ics(
        "BEGIN:VTIMEZONE",
        "TZID:Europe/Berlin",
        "BEGIN:STANDARD",
        "DTSTART:19701025T030000",
        "END:STANDARD",
        "END:VTIMEZONE",
        "BEGIN:VTODO",
        "DTSTART;VALUE=DATE:20260301",
        "END:VTODO",
        "BEGIN:VEVENT",
        "DTSTART;VALUE=DATE:20261225",
        "SUMMARY:Christmas",
        "BEGIN:VALARM",
        "TRIGGER:-PT15M",
        "DTSTART;VALUE=DATE:20260101",
        "END:VALARM",
        "END:VEVENT",
        *event("DTSTART;VALUE=DATE:20261226", "STATUS:CANCELLED"),
        "X-WR-CALNAME:Germany",
    )
    assert days(text) == {date(2026, 12, 25): "Christmas"}


def test_two_events_on_one_date_the_first_names_it():
    text = ics(*CHRISTMAS, *event("DTSTART;VALUE=DATE:20261225", "SUMMARY:Weihnachten"))
    assert days(text) == {date(2026, 12, 25): "Christmas Day"}


# Yearly rules.


def test_a_yearly_rule_with_count_or_until_repeats_the_date():
    counted = ics(*event("DTSTART;VALUE=DATE:20261225", "RRULE:FREQ=YEARLY;COUNT=3"))
    assert sorted(days(counted)) == [date(y, 12, 25) for y in (2026, 2027, 2028)]
    until = ics(*event("DTSTART;VALUE=DATE:20261225", "RRULE:FREQ=YEARLY;UNTIL=20281225"))
    assert sorted(days(until)) == [date(y, 12, 25) for y in (2026, 2027, 2028)]
    every_other = ics(*event("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=YEARLY;INTERVAL=2;COUNT=3"))
    assert sorted(days(every_other)) == [date(y, 1, 1) for y in (2026, 2028, 2030)]


def test_a_multi_day_yearly_event_gives_every_day_of_every_year():
    text = ics(
        *event(
            "DTSTART;VALUE=DATE:20261224",
            "DTEND;VALUE=DATE:20261226",
            "RRULE:FREQ=YEARLY;COUNT=2",
        )
    )
    assert sorted(days(text)) == [
        date(2026, 12, 24),
        date(2026, 12, 25),
        date(2027, 12, 24),
        date(2027, 12, 25),
    ]


def test_nth_weekday_rules_give_thanksgiving_and_memorial_day():
    text = ics(
        *event(
            "DTSTART;VALUE=DATE:20261126",
            "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;COUNT=3",
            "SUMMARY:Thanksgiving",
        ),
        *event(
            "DTSTART;VALUE=DATE:20260525",
            "RRULE:FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO;UNTIL=20281231",
            "SUMMARY:Memorial Day",
        ),
    )
    assert sorted(days(text)) == [
        date(2026, 5, 25),
        date(2026, 11, 26),
        date(2027, 5, 31),
        date(2027, 11, 25),
        date(2028, 5, 29),
        date(2028, 11, 23),
    ]


def test_a_29th_of_february_rule_skips_the_years_without_one_and_exdate_removes_one():
    leap = ics(*event("DTSTART;VALUE=DATE:20240229", "RRULE:FREQ=YEARLY;COUNT=3"))
    assert sorted(days(leap)) == [date(2024, 2, 29), date(2028, 2, 29), date(2032, 2, 29)]
    skipped = ics(
        *event(
            "DTSTART;VALUE=DATE:20260101",
            "RRULE:FREQ=YEARLY;COUNT=3",
            "EXDATE;VALUE=DATE:20270101",
            "RDATE;VALUE=DATE:20260102,20260103",
        )
    )
    assert sorted(days(skipped)) == [
        date(2026, 1, 1),
        date(2026, 1, 2),
        date(2026, 1, 3),
        date(2028, 1, 1),
    ]


def test_a_rule_without_an_end_stops_at_the_horizon():
    text = ics(*event("DTSTART;VALUE=DATE:20261225", "RRULE:FREQ=YEARLY"))
    found = sorted(days(text, horizon=date(2030, 12, 31)))
    assert found == [date(y, 12, 25) for y in range(2026, 2031)]
    huge = ics(*event("DTSTART;VALUE=DATE:20261225", "RRULE:FREQ=YEARLY;COUNT=10000"))
    assert max(days(huge, horizon=date(2030, 12, 31))) == date(2030, 12, 25)


def test_the_libraries_expand_every_rule_the_rfc_has():
    """Rules the hand-written reader refused before issue 15 (it read FREQ=YEARLY only)."""
    weekly = ics(*event("DTSTART;VALUE=DATE:20261225", "RRULE:FREQ=WEEKLY;COUNT=3"))
    assert sorted(days(weekly)) == [date(2026, 12, 25), date(2027, 1, 1), date(2027, 1, 8)]
    # The last weekday of each month (BYSETPOS): month-end closing days.
    month_end = ics(
        *event(
            "DTSTART;VALUE=DATE:20260130",
            "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3",
        )
    )
    assert sorted(days(month_end)) == [date(2026, 1, 30), date(2026, 2, 27), date(2026, 3, 31)]
    # Monday of ISO week 20.
    week = ics(*event("DTSTART;VALUE=DATE:20260511", "RRULE:FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO"))
    assert sorted(days(week, horizon=date(2028, 12, 31))) == [
        date(2026, 5, 11),
        date(2027, 5, 17),
        date(2028, 5, 15),
    ]


def test_a_date_time_rule_counts_the_dates_as_written_in_its_own_zone():
    text = ics(
        *event(
            "DTSTART;TZID=Europe/Berlin:20261224T230000",
            "DTEND;TZID=Europe/Berlin:20261224T235900",
            "RRULE:FREQ=YEARLY;COUNT=2",
        )
    )
    assert sorted(days(text)) == [date(2026, 12, 24), date(2027, 12, 24)]


def test_a_rule_from_long_ago_is_expanded_over_its_last_thirty_years():
    text = ics(*event("DTSTART;VALUE=DATE:19000101", "RRULE:FREQ=YEARLY;BYMONTH=1"))
    found = days(text)
    assert date(1900, 1, 1) in found and date(2036, 1, 1) in found
    assert min(d for d in found if d.year > 1900) == date(2006, 1, 1)


# Errors, each with its line.


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (event("DTSTART;VALUE=DATE:2026-12-25"), "line 4: DTSTART: '2026-12-25' is not a date"),
        (event("DTSTART;VALUE=DATE:20260230"), "line 4: DTSTART: '20260230' is not a real date"),
        (event("SUMMARY:No start"), "line 3: an event without DTSTART"),
        (
            event("DTSTART;VALUE=DATE:20261225", "DTEND;VALUE=DATE:20261225"),
            "line 5: DTEND: the event must end after it starts",
        ),
        (
            event("DTSTART;VALUE=DATE:20261225", "DTEND:20261226T000000"),
            "line 5: DTEND: a date and a date-time cannot be mixed",
        ),
        # Read by icalendar + recurring-ical-events since issue 15: every frequency works
        # (see test_the_libraries_expand_every_rule_the_rfc_has), only rules that repeat
        # within a day, or that the library cannot read, are refused.
        (
            event("DTSTART;VALUE=DATE:20261225", "RRULE:FREQ=HOURLY;COUNT=3"),
            "line 5: RRULE: FREQ=HOURLY repeats within a day",
        ),
        (
            event("DTSTART;VALUE=DATE:20261225", "RRULE:FREQ=DAILY;BYHOUR=9"),
            "line 5: RRULE: BYHOUR is not used for whole-day holidays",
        ),
        (
            event("DTSTART;VALUE=DATE:20261225", "RRULE:FREQ=FORTNIGHTLY"),
            "line 5: RRULE: Expected frequency, got: FORTNIGHTLY",
        ),
        (
            event("DTSTART;VALUE=DATE:20261225", "RRULE:FREQ=YEARLY;COUNT=many"),
            "line 5: RRULE: Expected int, got: many",
        ),
        (
            event("DTSTART;VALUE=DATE:20100101", "RRULE:FREQ=DAILY"),
            "line 5: RRULE: more than 5000 occurrences before 2036-12-31",
        ),
        (
            event("DTSTART;VALUE=DATE:20261225", "RRULE:FREQ=YEARLY;COUNT=3;UNTIL=20301225"),
            "line 5: RRULE: COUNT or UNTIL, not both",
        ),
        (
            event("DTSTART;VALUE=DATE:20260101", "DTEND;VALUE=DATE:20280101"),
            "line 5: DTEND: an event of 730 days (at most 366)",
        ),
        (event("DTSTART;VALUE=DATE:20261225", "DURATION:1 day"), "line 5: DURATION: '1 day'"),
        (event("DTSTART"), "line 4: DTSTART: no ':' before the value"),
    ],
)
def test_a_bad_event_is_reported_with_its_line_and_reason(lines, expected):
    found = errors(ics(*lines))
    assert len(found) == 1
    assert found[0].startswith(expected), found


def test_line_numbers_count_physical_lines_across_folds_and_the_good_events_are_still_read():
    text = ics(
        "BEGIN:VEVENT",
        "SUMMARY:A long",
        "  name",
        "DTSTART;VALUE=DATE:20261225",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "DTSTART;VALUE=",
        " DATE:2026-01-01",
        "END:VEVENT",
    )
    result = read_holidays(text, horizon=HORIZON)
    assert [str(e) for e in result.errors] == ["line 9: DTSTART: '2026-01-01' is not a date "
                                               "(YYYYMMDD)"]  # fmt: skip
    assert [h.day for h in result.holidays] == [date(2026, 12, 25)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["line 1: the file is empty"]),
        ("Subject,Start Date\r\nChristmas,12/25/2026\r\n", ["line 1: not an iCalendar file"]),
        (ics(*CHRISTMAS).replace("END:VCALENDAR\r\n", ""), ["line 6: BEGIN:VCALENDAR of line 1"]),
        (ics("BEGIN:VEVENT", "END:VTODO"), ["line 4: END:VTODO where BEGIN:VEVENT of line 3"]),
        (ics(*CHRISTMAS) + "BEGIN:VEVENT\r\n", ["line 8: content after END:VCALENDAR"]),
    ],
    ids=["empty", "csv", "unclosed", "mismatched", "trailing"],
)
def test_a_broken_file_is_reported_with_the_line_where_it_breaks(text, expected):
    found = errors(text)
    assert len(found) == len(expected)
    for message, start in zip(found, expected, strict=True):
        assert message.startswith(start), found


# Importing.

db = pytest.mark.django_db


def holidays_of(calendar: HolidayCalendar) -> dict[date, str]:
    return dict(Holiday.objects.filter(calendar=calendar).values_list("date", "name"))


@db
def test_an_import_adds_new_dates_renames_known_ones_and_keeps_the_rest():
    calendar = HolidayCalendarFactory(name="Germany")
    HolidayFactory(calendar=calendar, date=date(2026, 12, 25), name="Weihnachten")
    HolidayFactory(calendar=calendar, date=date(2026, 12, 26), name="2. Weihnachtstag")
    HolidayFactory(calendar=calendar, date=date(2026, 1, 6), name="Epiphany")
    text = ics(
        *CHRISTMAS,
        *NEW_YEAR,
        *event("DTSTART;VALUE=DATE:20261226", "SUMMARY:2. Weihnachtstag"),
    )

    report = holidays_import(calendar=calendar, text=text)

    assert (report.added, report.updated, report.unchanged, report.errors) == (1, 1, 1, [])
    assert holidays_of(calendar) == {
        date(2026, 1, 6): "Epiphany",
        date(2026, 12, 25): "Christmas Day",
        date(2026, 12, 26): "2. Weihnachtstag",
        date(2027, 1, 1): "New Year",
    }
    again = holidays_import(calendar=calendar, text=text)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    assert Holiday.objects.filter(calendar=calendar).count() == 4


@db
def test_a_file_with_one_bad_event_writes_nothing():
    calendar = HolidayCalendarFactory(name="Germany")
    HolidayFactory(calendar=calendar, date=date(2026, 12, 25), name="Weihnachten")
    text = ics(*CHRISTMAS, *NEW_YEAR, *event("DTSTART;VALUE=DATE:20261332"))

    report = holidays_import(calendar=calendar, text=text)

    assert [str(e) for e in report.errors] == ["line 12: DTSTART: '20261332' is not a real date"]
    assert not report.ok
    assert holidays_of(calendar) == {date(2026, 12, 25): "Weihnachten"}


@db
def test_a_dry_run_counts_like_an_import_and_writes_nothing():
    calendar = HolidayCalendarFactory(name="Germany")
    HolidayFactory(calendar=calendar, date=date(2026, 12, 25), name="Weihnachten")
    report = holidays_import(calendar=calendar, text=ics(*CHRISTMAS, *NEW_YEAR), dry_run=True)
    assert (report.added, report.updated, report.unchanged, report.dry_run) == (1, 1, 0, True)
    assert holidays_of(calendar) == {date(2026, 12, 25): "Weihnachten"}


@db
def test_a_new_calendar_is_created_only_when_its_import_succeeds():
    bad = holidays_import(calendar=HolidayCalendar(name="Bad"), text=ics("BEGIN:VEVENT"))
    assert bad.errors
    dry = holidays_import(calendar=HolidayCalendar(name="Dry"), text=ics(*CHRISTMAS), dry_run=True)
    assert dry.added == 1
    assert not HolidayCalendar.objects.exists()

    good = HolidayCalendar(name="Good")
    holidays_import(calendar=good, text=ics(*CHRISTMAS))
    assert holidays_of(HolidayCalendar.objects.get(name="Good")) == {
        date(2026, 12, 25): "Christmas Day"
    }


@db
def test_long_names_are_cut_to_fit_the_column():
    calendar = HolidayCalendarFactory()
    holidays_import(calendar=calendar, text=ics(*event("DTSTART:20261225", "SUMMARY:" + "x" * 150)))
    assert holidays_of(calendar) == {date(2026, 12, 25): "x" * 100}


@db
@time_machine.travel("2026-06-01 12:00Z", tick=False)
def test_a_rule_without_an_end_is_imported_for_ten_years_from_today():
    calendar = HolidayCalendarFactory()
    holidays_import(
        calendar=calendar, text=ics(*event("DTSTART;VALUE=DATE:20201225", "RRULE:FREQ=YEARLY"))
    )
    assert sorted(holidays_of(calendar)) == [date(y, 12, 25) for y in range(2020, 2037)]


# The command.


@db
def test_the_command_imports_a_file_and_prints_the_counts(tmp_path, capsys):
    path = tmp_path / "de.ics"
    path.write_text(ics(*CHRISTMAS, *NEW_YEAR), encoding="utf-8")
    HolidayCalendarFactory(name="Germany")

    call_command("import_holidays", "Germany", str(path), "--dry-run")
    assert "dry run: nothing was saved" in capsys.readouterr().out
    assert not Holiday.objects.exists()

    call_command("import_holidays", "Germany", str(path))
    assert "Germany: added 2, updated 0, unchanged 0" in capsys.readouterr().out
    assert Holiday.objects.count() == 2


@db
def test_the_command_exits_1_on_errors_and_needs_create_for_a_new_calendar(tmp_path, capsys):
    bad = tmp_path / "bad.ics"
    bad.write_text(ics(*event("SUMMARY:No start")), encoding="utf-8")
    good = tmp_path / "good.ics"
    good.write_text(ics(*CHRISTMAS), encoding="utf-8")

    with pytest.raises(CommandError, match="No holiday calendar named 'US'; --create"):
        call_command("import_holidays", "US", str(good))
    with pytest.raises(CommandError, match="1 error; nothing was saved") as failed:
        call_command("import_holidays", "US", str(bad), "--create")
    assert failed.value.returncode == 1
    assert "bad.ics: line 3: an event without DTSTART" in capsys.readouterr().out
    assert not HolidayCalendar.objects.exists()

    call_command("import_holidays", "US", str(good), "--create")
    assert holidays_of(HolidayCalendar.objects.get(name="US")) == {
        date(2026, 12, 25): "Christmas Day"
    }
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_holidays", "US", str(tmp_path / "missing.ics"))
