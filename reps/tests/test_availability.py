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
