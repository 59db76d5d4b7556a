from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser, Group

# The tests use the real lead statuses to pin the contract with the lead app above.
from leadhub.leads.models import Lead
from reps.availability import NO_NEEDS, RepSnapshot, WorkInterval, rep_eligibility
from reps.load import rep_loads_recount
from reps.models import Rep
from reps.selectors import rep_can_manage, rep_snapshots, reps_visible_to, teams_visible_to
from reps.services import time_off_add
from reps.tests.factories import (
    HolidayCalendarFactory,
    HolidayFactory,
    RepFactory,
    SkillFactory,
    TeamFactory,
    TimeOffFactory,
    UserFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

# Monday 23 November 2026, 03:00 UTC: already Monday noon in Tokyo, still Sunday evening
# (19:00) in Los Angeles, whose week began on Monday the 16th.
NOW = datetime(2026, 11, 23, 3, tzinfo=UTC)


def add_lead(rep, assigned_at: datetime, status: str = "assigned") -> None:
    Lead.objects.create(owner=rep, status=status, assigned_at=assigned_at, captured_at=assigned_at)


def give_leads(rep) -> None:
    add_lead(rep, datetime(2026, 11, 22, 10, tzinfo=UTC))  # Sun 02:00 LA, Sun 19:00 Tokyo
    add_lead(rep, datetime(2026, 11, 22, 16, tzinfo=UTC))  # Sun 08:00 LA, Mon 01:00 Tokyo
    add_lead(rep, datetime(2026, 11, 17, 12, tzinfo=UTC), status="converted")  # Tue, both
    add_lead(rep, datetime(2026, 11, 23, 4, tzinfo=UTC))  # after now
    add_lead(rep, datetime(2026, 11, 1, 12, tzinfo=UTC), status="junk")  # weeks ago


def test_snapshot_holds_every_setting_schedule_and_count_of_the_rep():
    calendar = HolidayCalendarFactory(name="Japan")
    HolidayFactory(calendar=calendar, date=date(2026, 11, 23), name="Labour Thanksgiving Day")
    HolidayFactory(calendar=calendar, date=date(2026, 5, 5), name="Children's Day")  # far off
    rep = RepFactory(
        user__first_name="Yuki",
        user__last_name="Tanaka",
        timezone="Asia/Tokyo",
        presence="away",
        languages=["ja", "en"],
        tier=2,
        weight=3,
        ramp_until=date(2026, 12, 1),
        ramp_share="0.25",
        max_open=10,
        max_per_day=None,
        max_per_week=20,
        max_escalated=4,
        holiday_calendar=calendar,
    )
    rep.skills.set([SkillFactory(name="enterprise"), SkillFactory(name="fintech")])
    WorkingHoursFactory(rep=rep, weekday=0, start=time(13), end=time(18))
    WorkingHoursFactory(rep=rep, weekday=0, start=time(9), end=time(12))
    TimeOffFactory(rep=rep, start=NOW - timedelta(days=30), end=NOW - timedelta(days=20))
    coming = TimeOffFactory(rep=rep, start=NOW + timedelta(days=1), end=NOW + timedelta(days=3))
    TimeOffFactory(rep=rep, start=NOW + timedelta(days=60), end=NOW + timedelta(days=61))
    give_leads(rep)

    snapshot = rep_snapshots(now=NOW, rep_ids=[rep.pk])

    assert snapshot == {
        rep.pk: RepSnapshot(
            id=rep.pk,
            name="Yuki Tanaka",
            team_id=rep.team_id,
            active=True,
            timezone="Asia/Tokyo",
            presence="away",
            working_hours=(WorkInterval(0, time(9), time(12)), WorkInterval(0, time(13), time(18))),
            time_off=((coming.start, coming.end),),
            holidays=frozenset({date(2026, 11, 23)}),
            skills=frozenset({"enterprise", "fintech"}),
            languages=frozenset({"ja", "en"}),
            tier=2,
            weight=3,
            ramp_until=date(2026, 12, 1),
            ramp_share=0.25,
            max_open=10,
            max_per_day=None,
            max_per_week=20,
            open_count=3,
            day_count=1,
            week_count=1,
            max_escalated=4,
        )
    }


def test_day_and_week_counts_follow_each_reps_own_time_zone():
    tokyo = RepFactory(timezone="Asia/Tokyo")
    los_angeles = RepFactory(timezone="America/Los_Angeles")
    london = RepFactory(timezone="Europe/London")  # Mon 03:00: only the future lead is today
    for rep in (tokyo, los_angeles, london):
        give_leads(rep)

    snapshots = rep_snapshots(now=NOW)

    counts = {
        rep.timezone: (s.open_count, s.day_count, s.week_count)
        for rep in (tokyo, los_angeles, london)
        for s in [snapshots[rep.pk]]
    }
    assert counts == {
        "Asia/Tokyo": (3, 1, 1),
        "America/Los_Angeles": (3, 2, 3),
        "Europe/London": (3, 0, 0),
    }


def test_a_rep_without_settings_gets_the_snapshot_defaults(settings):
    settings.LEADHUB_MANAGER_MAX_ESCALATED = 7
    rep = RepFactory(user__first_name="", user__last_name="", user__username="solo")

    snapshot = rep_snapshots(now=NOW)[rep.pk]

    assert snapshot == RepSnapshot(
        id=rep.pk,
        name="solo",
        team_id=rep.team_id,
        timezone="America/New_York",
        ramp_share=0.5,
        max_escalated=7,  # the setting: escalations to a manager are bounded by default
    )


def make_full_reps(count: int) -> None:
    calendar = HolidayCalendarFactory()
    HolidayFactory(calendar=calendar, date=NOW.date())
    skill = SkillFactory(name="smb")
    zones = ["Asia/Tokyo", "Europe/Berlin", "America/Chicago"]
    for n in range(count):
        rep = RepFactory(timezone=zones[n % 3], holiday_calendar=calendar)
        rep.skills.add(skill)
        WorkingHoursFactory(rep=rep)
        TimeOffFactory(rep=rep, start=NOW, end=NOW + timedelta(days=1))
        add_lead(rep, NOW - timedelta(hours=1))


@pytest.mark.parametrize("count", [3, 30])
def test_snapshots_take_five_queries_however_many_reps_and_leads(django_assert_num_queries, count):
    make_full_reps(count)
    rep_loads_recount(now=NOW)  # the leads were inserted around the services
    for rep_id in rep_snapshots(now=NOW):
        add_lead(Rep.objects.get(pk=rep_id), NOW - timedelta(days=40), status="converted")

    with django_assert_num_queries(5):
        snapshots = rep_snapshots(now=NOW)

    assert len(snapshots) == count
    assert all(s.day_count == 1 and s.time_off and s.holidays for s in snapshots.values())


def test_snapshots_narrow_to_a_team_or_to_rep_ids():
    team = TeamFactory()
    mine = RepFactory.create_batch(2, team=team)
    other = RepFactory()

    by_team = rep_snapshots(now=NOW, team_id=team.pk)
    by_ids = rep_snapshots(now=NOW, rep_ids=[other.pk])

    assert set(by_team) == {r.pk for r in mine}
    assert set(by_ids) == {other.pk}
    assert rep_snapshots(now=NOW, rep_ids=[]) == {}


def test_a_rep_on_time_off_is_ineligible_for_exactly_that_reason():
    rep = RepFactory(timezone="Europe/London", max_open=40)
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        time_off_add(
            rep=rep,
            start=NOW - timedelta(days=1),
            end=NOW + timedelta(days=4),
            reason="Vacation",
            actor=None,
        )

    snapshot = rep_snapshots(now=NOW)[rep.pk]

    assert rep_eligibility(snapshot, NO_NEEDS, NOW) == ["time_off"]
    assert rep_eligibility(snapshot, NO_NEEDS, NOW + timedelta(days=4)) == []


def test_visibility_revops_everyone_manager_their_team_rep_themself():
    team, other_team = TeamFactory(), TeamFactory()
    manager = RepFactory(team=team, role="manager")
    rep = RepFactory(team=team)
    stranger = RepFactory(team=other_team)
    revops = UserFactory()
    revops.groups.add(Group.objects.get_or_create(name="RevOps")[0])
    retired = RepFactory(team=team, role="manager", active=False)

    def seen(user) -> set[int]:
        return set(reps_visible_to(user).values_list("pk", flat=True))

    everyone = {manager.pk, rep.pk, stranger.pk, retired.pk}
    assert seen(revops) == seen(UserFactory(is_staff=True)) == everyone
    assert seen(manager.user) == {manager.pk, rep.pk, retired.pk}
    assert seen(rep.user) == {rep.pk}
    assert seen(retired.user) == seen(UserFactory()) == seen(AnonymousUser()) == set()
    assert list(teams_visible_to(rep.user)) == [team]
    assert set(teams_visible_to(revops)) == {team, other_team}
    assert not teams_visible_to(AnonymousUser()).exists()


def test_presence_and_time_off_are_managed_by_the_rep_their_manager_and_revops():
    team = TeamFactory()
    rep = RepFactory(team=team)
    manager = RepFactory(team=team, role="manager")
    teammate = RepFactory(team=team)
    other_manager = RepFactory(role="manager")
    retired_manager = RepFactory(team=team, role="manager", active=False)

    assert rep_can_manage(rep.user, rep)
    assert rep_can_manage(manager.user, rep)
    assert rep_can_manage(UserFactory(is_superuser=True), rep)
    assert not rep_can_manage(manager.user, other_manager)
    assert not rep_can_manage(teammate.user, rep)
    assert not rep_can_manage(retired_manager.user, rep)
    assert not rep_can_manage(AnonymousUser(), rep)
