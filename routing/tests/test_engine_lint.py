"""The pure part of rule lint (routing.engine.lint): no database."""

from datetime import UTC, datetime, time, timedelta

import pytest

from reps.availability import WorkInterval
from routing.engine import Territory, parse_condition
from routing.engine.lint import (
    Unreachable,
    covered,
    implies,
    range_text,
    satisfiable,
    territory_overlaps,
    uncovered_countries,
    uncovered_hours,
    unreachable_rules,
    values_required,
    week_of,
)


def c(field, op, value=None):
    return {"field": field, "op": op, "value": value}


def node(data):
    return parse_condition(data, "condition")


@pytest.mark.parametrize(
    ("later", "earlier"),
    [
        (c("country", "eq", "DE"), {}),
        (c("country", "eq", "DE"), c("country", "eq", "de")),
        (c("country", "eq", "DE"), c("country", "in", ["AT", "DE", "CH"])),
        (c("country", "in", ["DE", "AT"]), c("country", "in", ["AT", "DE", "CH"])),
        (
            {"all": [c("country", "eq", "DE"), c("score", "gte", 80), c("industry", "eq", "x")]},
            {"all": [c("score", "gte", 80), c("country", "eq", "DE")]},
        ),
        (c("score", "between", [60, 80]), c("score", "gte", 50)),
        (c("score", "gt", 50), c("score", "gte", 50)),
        (c("score", "lte", 10), c("score", "lt", 11)),
        (c("score", "between", [60, 80]), c("score", "between", [50, 90])),
        ({"all": [c("score", "gte", 10), c("score", "lte", 20)]}, c("score", "between", [5, 25])),
        (c("email_domain", "starts_with", "gmail"), c("email_domain", "contains", "mail")),
        (c("country", "eq", "DE"), c("country", "is_set")),
        (c("country", "eq", "DE"), c("country", "neq", "FR")),
        (c("country", "eq", "DE"), c("country", "not_in", ["FR", "IT"])),
        (c("country", "is_empty"), c("country", "neq", "FR")),
        (
            c("country", "in", ["DE", "FR"]),
            {"any": [c("country", "eq", "DE"), c("country", "eq", "FR")]},
        ),
        (
            {"not": {"any": [c("source", "eq", "ads"), c("source", "eq", "seo")]}},
            c("source", "neq", "ads"),
        ),
    ],
)
def test_a_condition_implies_what_matches_every_lead_it_matches(later, earlier):
    assert implies(node(later), node(earlier))


@pytest.mark.parametrize(
    ("later", "earlier"),
    [
        ({}, c("country", "eq", "DE")),
        (c("country", "in", ["DE", "FR"]), c("country", "eq", "DE")),
        (c("score", "gte", 50), c("score", "gt", 50)),
        (c("score", "gte", 50), c("score", "between", [60, 80])),
        (c("country", "eq", "DE"), {"all": [c("country", "eq", "DE"), c("score", "gte", 1)]}),
        # eq compares numbers as numbers ("10" = "10.0"), in compares text.
        (c("employees", "eq", 10), c("employees", "in", ["10", "20"])),
        # A list field matches when any item does: one lead can have both signals.
        (c("intent_signals", "eq", "demo"), c("intent_signals", "neq", "pricing")),
        (c("custom.plan", "eq", "pro"), c("custom.plan", "neq", "free")),
        (c("country", "neq", "DE"), c("country", "neq", "FR")),
        (c("email", "regex", "^a"), c("email", "regex", "^b")),
    ],
)
def test_no_implication_is_claimed_that_a_lead_could_break(later, earlier):
    assert not implies(node(later), node(earlier))


@pytest.mark.parametrize(
    "condition",
    [
        {"any": []},
        {"not": {}},
        {"all": [c("country", "eq", "DE"), c("country", "eq", "FR")]},
        {"all": [c("country", "in", ["DE", "FR"]), c("country", "not_in", ["DE", "FR"])]},
        {"all": [c("score", "gt", 50), c("score", "lt", 40)]},
        {"all": [c("score", "between", [1, 5]), c("score", "between", [6, 9])]},
        {"all": [c("country", "is_empty"), c("country", "eq", "DE")]},
        {"all": [c("country", "eq", "DE"), {"not": c("country", "eq", "DE")}]},
    ],
)
def test_a_condition_no_lead_can_satisfy_is_found(condition):
    assert not satisfiable(node(condition))


@pytest.mark.parametrize(
    "condition",
    [
        {},
        {"all": [c("intent_signals", "eq", "demo"), c("intent_signals", "eq", "pricing")]},
        {"all": [c("score", "gte", 5), c("score", "lte", 5)]},
        {"all": [c("country", "in", ["DE", "FR"]), c("country", "neq", "DE")]},
    ],
)
def test_a_condition_some_lead_can_satisfy_is_not_reported(condition):
    assert satisfiable(node(condition))


def test_a_catch_all_first_shadows_every_later_rule():
    rules = [
        (1, node({})),
        (2, node(c("country", "eq", "DE"))),
        (3, node({"all": [c("score", "gte", 80), c("industry", "eq", "banking")]})),
    ]
    assert unreachable_rules(rules) == [Unreachable(2, (1,)), Unreachable(3, (1,))]


def test_earlier_rules_together_can_shadow_a_later_one():
    rules = [
        (1, node(c("country", "eq", "DE"))),
        (2, node(c("score", "gte", 90))),
        (3, node(c("country", "eq", "FR"))),
        (4, node(c("country", "in", ["DE", "FR"]))),
        (5, node(c("country", "in", ["DE", "US"]))),
    ]
    assert unreachable_rules(rules) == [Unreachable(4, (1, 3))]


def test_an_impossible_rule_is_unreachable_by_itself_and_the_rest_are_reachable():
    rules = [
        (1, node(c("country", "eq", "DE"))),
        (2, node({"all": [c("score", "gt", 50), c("score", "lt", 40)]})),
        (3, node(c("country", "eq", "FR"))),
        (4, node({})),
    ]
    assert unreachable_rules(rules) == [Unreachable(2, ())]


def test_a_huge_condition_is_not_claimed_either_way():
    wide = {"all": [{"any": [c("score", "eq", i), c("score", "eq", i + 100)]} for i in range(12)]}
    assert satisfiable(node(wide))
    assert not covered(node({}), [node(wide)])


def test_values_required_reads_the_pinned_values_of_a_field():
    pinned = {"any": [c("language", "eq", "de"), c("language", "in", ["fr", "IT"])]}
    assert values_required(node(pinned), "language") == {"de", "fr", "it"}
    assert values_required(node({"any": [pinned, c("score", "gte", 1)]}), "language") is None


# --- Hours -------------------------------------------------------------------------------------

MONDAY = datetime(2026, 3, 23, tzinfo=UTC)  # the week DST starts in Europe (Sun 29 March)
NINE_TO_FIVE = tuple(WorkInterval(d, time(9), time(17)) for d in range(5))


def test_the_week_starts_on_monday_utc():
    assert week_of(datetime(2026, 3, 26, 15, tzinfo=UTC)) == MONDAY


def test_one_utc_nine_to_five_leaves_the_nights_and_the_weekend():
    gaps = uncovered_hours([("UTC", NINE_TO_FIVE)], MONDAY)
    texts = [range_text(a, b) for a, b in gaps]
    assert texts == [
        "Mon 17:00 to Tue 09:00",
        "Tue 17:00 to Wed 09:00",
        "Wed 17:00 to Thu 09:00",
        "Thu 17:00 to Fri 09:00",
        "Fri 17:00 to Mon 09:00",  # over the week's end into the next Monday
    ]


def test_members_in_other_zones_fill_each_others_gaps():
    zones = [("Europe/Berlin", NINE_TO_FIVE), ("America/Los_Angeles", NINE_TO_FIVE)]
    gaps = uncovered_hours(zones, MONDAY)
    # Berlin is UTC+1 this week; Los Angeles UTC-7 (its DST began on 8 March).
    assert range_text(*gaps[0]) == "Tue 00:00 to Tue 08:00"
    assert range_text(*gaps[0], "America/Los_Angeles") == "Mon 17:00 to Tue 01:00"
    assert range_text(*gaps[0], "Europe/Berlin") == "Tue 01:00 to Tue 09:00"
    # The weekend runs into next week, when Berlin is on summer time (UTC+2) already.
    assert range_text(*gaps[-1]) == "Sat 00:00 to Mon 07:00"
    assert len(gaps) == 5


def test_daylight_saving_time_is_the_weeks_own():
    # Berlin moves from UTC+1 to UTC+2 in the night of Sunday 29 March 2026, so that
    # Sunday is 23 hours long: 23:00 UTC Saturday to 22:00 UTC Sunday.
    sunday = (WorkInterval(6, time(0), time(23, 59, 59)),)
    gaps = uncovered_hours([("Europe/Berlin", sunday)], MONDAY)
    assert [range_text(a, b) for a, b in gaps] == ["Sun 22:00 to Sat 22:00"]
    assert [range_text(a, b, "Europe/Berlin") for a, b in gaps] == ["Mon 00:00 to Sun 00:00"]
    every_day = tuple(WorkInterval(d, time(0), time(23, 59, 59)) for d in range(7))
    assert uncovered_hours([("Europe/Berlin", every_day)], MONDAY) == []


def test_nobody_working_at_all_is_the_whole_week():
    empty = (WorkInterval(0, time(9), time(9)),)
    assert uncovered_hours([("UTC", empty)], MONDAY) == [(MONDAY, MONDAY + timedelta(days=7))]


def test_a_member_without_working_hours_covers_every_hour():
    assert uncovered_hours([("UTC", NINE_TO_FIVE), ("Asia/Tokyo", ())], MONDAY) == []


def test_shifts_to_midnight_leave_no_one_second_gap():
    around = tuple(WorkInterval(d, time(0), time(23, 59, 59)) for d in range(7))
    assert uncovered_hours([("UTC", around)], MONDAY) == []


# --- Territories -------------------------------------------------------------------------------


def test_siblings_sharing_a_country_overlap_and_nested_territories_do_not():
    territories = (
        Territory(1, "EMEA", countries=frozenset({"DE", "FR", "GB"})),
        Territory(2, "DACH", countries=frozenset({"DE", "AT", "CH"})),
        Territory(3, "Germany", parent_id=1, countries=frozenset({"DE"})),
        Territory(4, "US West", countries=frozenset({"US"}), states=frozenset({"CA", "WA"})),
        Territory(5, "US East", countries=frozenset({"US"}), states=frozenset({"NY"})),
        Territory(6, "Berlin", postal_prefixes=("10",), countries=frozenset({"DE"})),
        Territory(
            7, "Berlin too", postal_ranges=(("10000", "10999"),), countries=frozenset({"DE"})
        ),
        Territory(8, "Munich", postal_prefixes=("80",), countries=frozenset({"DE"})),
    )
    assert territory_overlaps(territories) == [(1, 2, "DE"), (6, 7, "DE")]


def test_countries_no_territory_allows_are_uncovered():
    territories = (
        Territory(1, "EMEA", countries=frozenset({"DE", "FR"})),
        Territory(2, "Bavaria", parent_id=1, states=frozenset({"BY"})),
    )
    assert uncovered_countries(territories, ["de", "BR", "US", "", "FR"]) == ["BR", "US"]
    catch_all = (*territories, Territory(3, "World"))
    assert uncovered_countries(catch_all, ["BR"]) == []
