from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from reps.models import Rep, TimeOff
from reps.services import (
    rep_create,
    rep_set_presence,
    rep_update,
    team_create,
    team_update,
    time_off_add,
    time_off_remove,
    working_hours_set,
)
from reps.tests.factories import (
    HolidayCalendarFactory,
    RepFactory,
    SkillFactory,
    TeamFactory,
    TimeOffFactory,
    UserFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 23, 12, tzinfo=UTC)


def hours_of(rep: Rep) -> list[tuple[int, time, time]]:
    return list(
        rep.working_hours.order_by("weekday", "start").values_list("weekday", "start", "end")
    )


def test_setting_presence_records_when_it_changed_and_a_repeat_changes_nothing():
    rep = RepFactory()
    with time_machine.travel(NOON, tick=False):
        rep_set_presence(rep=rep, presence="away", actor=rep.user)
    with time_machine.travel(NOON + timedelta(hours=1), tick=False):
        rep_set_presence(rep=rep, presence="away", actor=rep.user)

    rep.refresh_from_db()
    assert (rep.presence, rep.presence_changed_at) == ("away", NOON)


def test_an_unknown_presence_is_refused():
    rep = RepFactory()

    with pytest.raises(ValidationError, match="'busy' is not one of: available, away, offline"):
        rep_set_presence(rep=rep, presence="busy", actor=None)

    rep.refresh_from_db()
    assert rep.presence == "available"


def test_time_off_is_added_and_may_start_when_another_ends():
    rep = RepFactory()
    first = TimeOffFactory(rep=rep, start=NOON, end=NOON + timedelta(days=2))

    second = time_off_add(
        rep=rep, start=first.end, end=first.end + timedelta(days=1), reason="Sick", actor=None
    )

    assert list(rep.time_off.values_list("reason", flat=True)) == ["Vacation", "Sick"]
    assert second.start == first.end


def test_overlapping_time_off_is_refused_with_the_period_it_clashes_with():
    rep = RepFactory()
    TimeOffFactory(rep=rep, start=NOON, end=NOON + timedelta(days=2))

    with pytest.raises(ValidationError) as exc:
        time_off_add(
            rep=rep,
            start=NOON - timedelta(days=1),
            end=NOON + timedelta(hours=1),
            reason="",
            actor=None,
        )

    assert exc.value.messages == [
        "Overlaps time off from 2026-11-23 12:00 to 2026-11-25 12:00 UTC (Vacation)."
    ]
    assert rep.time_off.count() == 1


def test_another_reps_time_off_is_no_clash():
    TimeOffFactory(start=NOON, end=NOON + timedelta(days=2))
    rep = RepFactory()

    time_off_add(rep=rep, start=NOON, end=NOON + timedelta(days=1), reason="", actor=None)

    assert rep.time_off.count() == 1


@pytest.mark.parametrize(
    "start, end, error",
    [
        (NOON, NOON, "after the start"),
        (NOON, NOON - timedelta(hours=1), "after the start"),
        (NOON.replace(tzinfo=None), NOON.replace(tzinfo=None) + timedelta(days=1), "time zone"),
    ],
    ids=["empty", "backwards", "naive"],
)
def test_time_off_needs_an_aware_start_before_its_end(start, end, error):
    rep = RepFactory()

    with pytest.raises(ValidationError, match=error):
        time_off_add(rep=rep, start=start, end=end, reason="", actor=None)

    assert not TimeOff.objects.exists()


def test_time_off_is_removed():
    period = TimeOffFactory()

    time_off_remove(time_off=period, actor=None)

    assert not TimeOff.objects.exists()


def test_working_hours_set_replaces_the_whole_week():
    rep = RepFactory()
    WorkingHoursFactory(rep=rep, weekday=6)

    working_hours_set(
        rep=rep, intervals=[(0, time(13), time(17)), (0, time(8), time(12)), (1, time(9), time(17))]
    )

    assert hours_of(rep) == [
        (0, time(8), time(12)),
        (0, time(13), time(17)),
        (1, time(9), time(17)),
    ]


def test_overlapping_working_hours_are_refused_and_the_old_week_stays():
    rep = RepFactory()
    WorkingHoursFactory(rep=rep, weekday=2)

    with pytest.raises(ValidationError, match="overlaps"):
        working_hours_set(rep=rep, intervals=[(0, time(8), time(12)), (0, time(11), time(17))])

    assert hours_of(rep) == [(2, time(9), time(17))]


def test_rep_update_sets_caps_skills_and_hours_together():
    rep = RepFactory()
    SkillFactory(name="fintech")
    SkillFactory(name="smb")
    calendar = HolidayCalendarFactory()

    rep_update(
        rep=rep,
        skills=["smb", "fintech"],
        working_hours=[(0, time(9), time(17))],
        max_open=30,
        max_per_day=None,
        languages=["en", "de"],
        tier=2,
        holiday_calendar=calendar,
    )

    rep.refresh_from_db()
    assert sorted(rep.skills.values_list("name", flat=True)) == ["fintech", "smb"]
    assert (rep.max_open, rep.max_per_day, rep.tier, rep.languages) == (30, None, 2, ["en", "de"])
    assert rep.holiday_calendar == calendar
    assert hours_of(rep) == [(0, time(9), time(17))]


def test_rep_update_refuses_unknown_skills_and_saves_nothing():
    rep = RepFactory()

    with pytest.raises(ValidationError, match="Unknown skills: quantum"):
        rep_update(rep=rep, skills=["quantum"], max_open=5)

    rep.refresh_from_db()
    assert rep.max_open is None


def test_rep_update_refuses_a_bad_language():
    rep = RepFactory()

    with pytest.raises(ValidationError) as exc:
        rep_update(rep=rep, languages=["en", "klingon"])

    assert list(exc.value.message_dict) == ["languages"]


def test_rep_update_refuses_fields_it_does_not_own():
    with pytest.raises(TypeError, match="presence"):
        rep_update(rep=RepFactory(), presence="away")


def test_rep_create_makes_a_user_a_rep_with_settings():
    SkillFactory(name="smb")
    team = TeamFactory()

    rep = rep_create(user=UserFactory(), team=team, skills=["smb"], weight=3, timezone="Asia/Tokyo")

    rep.refresh_from_db()
    assert (rep.team, rep.weight, rep.timezone) == (team, 3, "Asia/Tokyo")
    assert list(rep.skills.values_list("name", flat=True)) == ["smb"]


def test_teams_are_created_and_renamed_with_a_valid_time_zone():
    team = team_create(name="LATAM", region="NA", timezone="America/Sao_Paulo")
    team_update(team=team, name="Latin America")

    assert team.__class__.objects.get().name == "Latin America"
    with pytest.raises(ValidationError, match="IANA"):
        team_update(team=team, timezone="Mars/Olympus")
