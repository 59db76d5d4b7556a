from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from reps.availability import (
    NO_NEEDS,
    LeadNeeds,
    Reason,
    RepSnapshot,
    WorkInterval,
    effective_weight,
    rep_eligibility,
)

NINE_TO_FIVE = tuple(WorkInterval(d, time(9), time(17)) for d in range(5))
# Monday 2026-03-30 14:00 UTC: 16:00 in Berlin (summer time since 29 March), 10:00 in New York.
MONDAY = datetime(2026, 3, 30, 14, 0, tzinfo=UTC)


def rep(**kw) -> RepSnapshot:
    return RepSnapshot(id=1, name="Ana", team_id=1, **kw)


def test_an_available_rep_with_no_limits_is_eligible():
    assert rep_eligibility(rep(), NO_NEEDS, MONDAY) == []


def test_working_hours_are_read_in_the_reps_own_time_zone_across_dst():
    berlin = rep(timezone="Europe/Berlin", working_hours=NINE_TO_FIVE)
    assert rep_eligibility(berlin, NO_NEEDS, MONDAY) == []  # 16:00 local
    assert rep_eligibility(berlin, NO_NEEDS, MONDAY + timedelta(hours=1)) == [Reason.OUTSIDE_HOURS]
    # The Friday before, Berlin was still on winter time: 16:00 UTC was 17:00 local.
    friday = datetime(2026, 3, 27, 15, 59, tzinfo=UTC)
    assert rep_eligibility(berlin, NO_NEEDS, friday) == []
    assert rep_eligibility(berlin, NO_NEEDS, friday + timedelta(minutes=1)) == [
        Reason.OUTSIDE_HOURS
    ]


def test_weekends_and_pools_that_ignore_hours():
    saturday = datetime(2026, 4, 4, 12, tzinfo=UTC)
    r = rep(working_hours=NINE_TO_FIVE)
    assert rep_eligibility(r, NO_NEEDS, saturday) == [Reason.OUTSIDE_HOURS]
    assert rep_eligibility(r, LeadNeeds(check_hours=False), saturday) == []


def test_time_off_and_holidays():
    off = rep(time_off=((MONDAY - timedelta(days=1), MONDAY + timedelta(hours=1)),))
    assert rep_eligibility(off, NO_NEEDS, MONDAY) == [Reason.TIME_OFF]
    assert rep_eligibility(off, NO_NEEDS, MONDAY + timedelta(hours=1)) == []
    # 30 March in Tokyo ends at 15:00 UTC.
    tokyo = rep(timezone="Asia/Tokyo", holidays=frozenset({date(2026, 3, 30)}))
    assert rep_eligibility(tokyo, NO_NEEDS, MONDAY) == [Reason.HOLIDAY]
    assert rep_eligibility(tokyo, NO_NEEDS, MONDAY + timedelta(hours=1)) == []


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"max_open": 5, "open_count": 5}, Reason.CAP_OPEN),
        ({"max_per_day": 3, "day_count": 3}, Reason.CAP_DAY),
        ({"max_per_week": 10, "week_count": 11}, Reason.CAP_WEEK),
        ({"active": False}, Reason.INACTIVE),
        ({"presence": "offline"}, Reason.OFFLINE),
        ({"presence": "away"}, Reason.AWAY),
    ],
)
def test_each_limit_has_its_named_reason(kw, reason):
    assert rep_eligibility(rep(**kw), NO_NEEDS, MONDAY) == [reason]


def test_below_a_cap_is_eligible():
    assert rep_eligibility(rep(max_open=5, open_count=4), NO_NEEDS, MONDAY) == []


def test_skills_language_and_tier_needs():
    r = rep(skills=frozenset({"fintech"}), languages=frozenset({"en", "de"}), tier=2)
    needs = LeadNeeds(skills=frozenset({"fintech", "healthcare"}), language="fr", min_tier=3)
    assert rep_eligibility(r, needs, MONDAY) == [Reason.MISSING_SKILL, Reason.LANGUAGE, Reason.TIER]
    assert rep_eligibility(r, LeadNeeds(skills=frozenset({"fintech"}), language="de"), MONDAY) == []


def test_every_reason_is_reported_not_just_the_first():
    r = rep(active=False, presence="offline", max_open=1, open_count=1)
    assert rep_eligibility(r, NO_NEEDS, MONDAY) == [
        Reason.INACTIVE,
        Reason.OFFLINE,
        Reason.CAP_OPEN,
    ]


def test_away_reps_can_be_allowed_by_the_pool():
    assert rep_eligibility(rep(presence="away"), LeadNeeds(allow_away=True), MONDAY) == []


def test_a_ramping_rep_gets_a_share_of_their_weight_until_the_ramp_ends():
    r = rep(weight=4, ramp_until=date(2026, 4, 1), ramp_share=0.25)
    assert effective_weight(r, MONDAY) == 1.0
    assert effective_weight(r, datetime(2026, 4, 1, 9, tzinfo=UTC)) == 4.0


# --- ScheduleMemo: the clock-bound part of eligibility, remembered between decisions ----

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from reps import availability  # noqa: E402
from reps.availability import ScheduleMemo, schedule_state  # noqa: E402

# Daylight saving of an hour both ways, of half an hour (Lord Howe), none, and a :30 offset.
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Auckland",
]
# Around the spring and autumn changes of 2026 in both hemispheres.
STARTS = [
    datetime(2026, 3, 7, tzinfo=UTC),
    datetime(2026, 3, 28, tzinfo=UTC),
    datetime(2026, 4, 4, tzinfo=UTC),
    datetime(2026, 9, 26, tzinfo=UTC),
    datetime(2026, 10, 24, tzinfo=UTC),
    datetime(2026, 10, 31, tzinfo=UTC),
]
clocks = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 59]), st.integers(0, 1))


@st.composite
def schedules(draw) -> RepSnapshot:
    start = draw(st.sampled_from(STARTS))
    intervals = []
    for weekday, a, b in draw(st.lists(st.tuples(st.integers(0, 6), clocks, clocks), max_size=8)):
        if a != b:
            intervals.append(WorkInterval(weekday, min(a, b), max(a, b)))
    offs = []
    for hours, length in draw(
        st.lists(st.tuples(st.integers(-48, 24 * 9), st.integers(1, 24 * 4)), max_size=3)
    ):
        begin = start + timedelta(hours=hours, minutes=draw(st.sampled_from([0, 7, 30])))
        offs.append((begin, begin + timedelta(hours=length)))
    days = draw(st.lists(st.integers(-1, 9), max_size=3))
    return rep(
        timezone=draw(st.sampled_from(ZONES)),
        working_hours=tuple(intervals),
        time_off=tuple(offs),
        holidays=frozenset(start.date() + timedelta(days=d) for d in days),
    )


@settings(max_examples=300, deadline=None)
@given(
    schedules(),
    st.lists(st.integers(-3 * 3600, 5 * 3600), min_size=1, max_size=120),
)
def test_the_memo_answers_what_the_schedule_says_at_every_instant(snapshot, steps):
    """Mostly forward, sometimes back (a preview at another instant), across daylight
    saving changes, time off edges, midnights and interval edges: always the same answer."""
    memo = ScheduleMemo()
    now = snapshot.time_off[0][0] if snapshot.time_off else STARTS[0]
    for step in steps:
        now += timedelta(seconds=step)
        assert memo.state(snapshot, now) == schedule_state(snapshot, now), now
        # The same instant through rep_eligibility, with and without the memo.
        assert rep_eligibility(snapshot, NO_NEEDS, now, memo) == rep_eligibility(
            snapshot, NO_NEEDS, now
        )


def test_the_memo_computes_once_between_changes_and_afresh_for_a_new_snapshot(monkeypatch):
    calls = []
    real = availability.schedule_state
    monkeypatch.setattr(availability, "schedule_state", lambda r, n: calls.append(n) or real(r, n))
    berlin = rep(timezone="Europe/Berlin", working_hours=NINE_TO_FIVE)
    memo = ScheduleMemo()
    for minute in range(0, 59):  # 16:00 to 16:58 Berlin time, inside 9 to 5
        assert memo.state(berlin, MONDAY + timedelta(minutes=minute)) == (False, False, False)
    assert len(calls) == 1
    # 17:00 is the interval's end: computed again, and outside.
    assert memo.state(berlin, MONDAY + timedelta(hours=1)) == (True, False, False)
    assert len(calls) == 2
    # A new snapshot of the rep (time off added) is not answered from the old entry.
    off = (MONDAY, MONDAY + timedelta(days=1))
    assert memo.state(replace(berlin, time_off=(off,)), MONDAY + timedelta(hours=1)) == (
        True,
        True,
        False,
    )
    assert len(calls) == 3


@pytest.mark.parametrize(
    "zone,day",
    [
        ("Europe/Berlin", datetime(2026, 3, 28, 12, tzinfo=UTC)),  # 02:00 → 03:00 on Sunday
        ("Europe/Berlin", datetime(2026, 10, 24, 12, tzinfo=UTC)),  # 03:00 → 02:00 on Sunday
        ("America/New_York", datetime(2026, 3, 7, 12, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 10, 31, 12, tzinfo=UTC)),
        ("Australia/Lord_Howe", datetime(2026, 4, 3, 12, tzinfo=UTC)),  # half an hour back
        ("Australia/Lord_Howe", datetime(2026, 10, 3, 12, tzinfo=UTC)),  # half an hour on
    ],
)
def test_the_memo_across_daylight_saving_with_edges_in_the_skipped_or_repeated_hour(zone, day):
    """Intervals whose edges fall in the hour the clocks skip or repeat: the state changes
    at the change of offset itself, which no wall-clock edge names."""
    edges = [time(1, 30), time(2, 15), time(2, 30), time(2, 45)]
    for a in edges:
        intervals = tuple(WorkInterval(d, a, time(5)) for d in range(7))
        snapshot = rep(timezone=zone, working_hours=intervals)
        memo = ScheduleMemo()
        for minutes in range(0, 48 * 60, 5):
            now = day + timedelta(minutes=minutes)
            assert memo.state(snapshot, now) == schedule_state(snapshot, now), (a, now)
