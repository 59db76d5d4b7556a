from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reps import admin as reps_admin
from reps import services
from reps.models import Holiday, HolidayCalendar, Rep, Skill, Team, TimeOff, WorkingHours
from reps.tests.factories import (
    HolidayFactory,
    RepFactory,
    SkillFactory,
    TeamFactory,
    TimeOffFactory,
    UserFactory,
    WorkingHoursFactory,
)

REPS_MODELS = [Rep, Team]


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:reps_{model._meta.model_name}_{view}", args=args)


def test_every_reps_model_is_in_the_admin():
    assert set(apps.get_app_config("reps").get_models()) <= set(admin.site._registry)


@pytest.mark.parametrize("model", REPS_MODELS, ids=lambda m: m.__name__)
def test_changelist_add_and_change_pages_render_for_a_superuser(admin_client, model):
    RepFactory()
    obj = model.objects.first()

    for url in (
        admin_url(model, "changelist"),
        admin_url(model, "add"),
        admin_url(model, "change", obj.pk),
    ):
        assert admin_client.get(url).status_code == 200, url


def test_team_list_counts_reps_without_a_query_per_team(admin_client):
    def count_queries() -> tuple[int, dict[str, int]]:
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(admin_url(Team, "changelist"))
        return len(queries), {t.name: t.rep_count for t in response.context["cl"].result_list}

    emea = TeamFactory(name="EMEA")
    RepFactory.create_batch(3, team=emea)
    TeamFactory(name="APAC")
    with_two, counts = count_queries()
    assert counts == {"APAC": 0, "EMEA": 3}

    for n in range(4):
        RepFactory.create_batch(2, team=TeamFactory(name=f"Team {n}"))

    assert count_queries()[0] == with_two


def test_rep_list_filters_by_team_and_searches_by_name(admin_client):
    na, emea = TeamFactory(name="NA"), TeamFactory(name="EMEA")
    RepFactory(team=na, user__first_name="Maya", user__last_name="Lopez")
    RepFactory(team=emea, user__first_name="Jonas", user__last_name="Weber")
    RepFactory(team=emea, user__first_name="Claire", user__last_name="Martin")

    by_team = admin_client.get(admin_url(Rep, "changelist"), {"team__id__exact": emea.pk})
    by_name = admin_client.get(admin_url(Rep, "changelist"), {"q": "weber"})

    assert {r.user.last_name for r in by_team.context["cl"].result_list} == {"Weber", "Martin"}
    assert [r.user.last_name for r in by_name.context["cl"].result_list] == ["Weber"]


def test_rep_list_query_count_does_not_grow_with_the_number_of_reps(admin_client):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(admin_url(Rep, "changelist")).status_code == 200
        return len(queries)

    team = TeamFactory()
    RepFactory.create_batch(2, team=team)
    with_two = count_queries()
    RepFactory.create_batch(10, team=team)

    assert count_queries() == with_two


@pytest.mark.parametrize(
    "model", [Skill, HolidayCalendar, Holiday, WorkingHours, TimeOff], ids=lambda m: m.__name__
)
def test_schedule_and_skill_pages_render(admin_client, model):
    rep = RepFactory()
    WorkingHoursFactory(rep=rep)
    TimeOffFactory(rep=rep)
    HolidayFactory()
    SkillFactory()
    obj = model.objects.first()

    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200


def test_working_hours_and_time_off_are_edited_on_the_reps_page_only(admin_client):
    assert admin_client.get(admin_url(WorkingHours, "add")).status_code == 403
    assert admin_client.get(admin_url(TimeOff, "add")).status_code == 403


def rep_form(rep: Rep, hours: list[tuple[str, str, str]], time_off=()) -> dict[str, str]:
    data = {
        "user": str(rep.user_id),
        "team": str(rep.team_id),
        "role": rep.role,
        "active": "on",
        "timezone": rep.timezone,
        "presence": "away",
        "languages": '["en"]',
        "tier": "1",
        "weight": "1",
        "ramp_share": "0.50",
        "working_hours-TOTAL_FORMS": str(len(hours)),
        "working_hours-INITIAL_FORMS": "0",
        "time_off-TOTAL_FORMS": str(len(time_off)),
        "time_off-INITIAL_FORMS": "0",
    }
    for n, (weekday, start, end) in enumerate(hours):
        data |= {
            f"working_hours-{n}-weekday": weekday,
            f"working_hours-{n}-start": start,
            f"working_hours-{n}-end": end,
        }
    for n, (start, end) in enumerate(time_off):
        data |= {
            f"time_off-{n}-start_0": start[:10],
            f"time_off-{n}-start_1": start[11:],
            f"time_off-{n}-end_0": end[:10],
            f"time_off-{n}-end_1": end[11:],
            f"time_off-{n}-reason": "Vacation",
        }
    return data


def test_the_rep_page_saves_a_split_shift_and_stamps_a_presence_change(admin_client):
    rep = RepFactory()
    later = timezone.now() + timedelta(hours=1)
    hours = [("0", "08:00", "12:00"), ("0", "13:00", "17:00")]

    with time_machine.travel(later, tick=False):
        response = admin_client.post(admin_url(Rep, "change", rep.pk), rep_form(rep, hours))

    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.working_hours.count() == 2
    assert (rep.presence, rep.presence_changed_at) == ("away", later)


@pytest.mark.parametrize(
    "hours, time_off",
    [
        ([("0", "08:00", "12:00"), ("0", "11:00", "17:00")], ()),
        (
            [],
            [
                ("2026-12-21 00:00:00", "2026-12-28 00:00:00"),
                ("2026-12-27 00:00:00", "2026-12-29 00:00:00"),
            ],
        ),
    ],
    ids=["hours", "time off"],
)
def test_the_rep_page_refuses_overlaps(admin_client, hours, time_off):
    rep = RepFactory()

    response = admin_client.post(admin_url(Rep, "change", rep.pk), rep_form(rep, hours, time_off))

    assert response.status_code == 200
    assert "overlaps" in str(
        response.context["inline_admin_formsets"][0 if hours else 1].formset.non_form_errors()
    )
    assert not rep.working_hours.exists() and not rep.time_off.exists()


def test_rep_list_filters_by_presence(admin_client):
    away = RepFactory(presence="away")
    RepFactory()

    response = admin_client.get(admin_url(Rep, "changelist"), {"presence__exact": "away"})

    assert list(response.context["cl"].result_list) == [away]


REPS_SERVICES = (
    "rep_create",
    "rep_update",
    "rep_set_presence",
    "working_hours_set",
    "time_off_add",
    "time_off_remove",
    "team_create",
    "team_update",
)


@pytest.fixture
def service_calls(monkeypatch) -> list[tuple[str, dict]]:
    """The reps services the admin calls, in order, with their keyword arguments."""
    calls: list[tuple[str, dict]] = []

    def spy_on(name: str):
        real = getattr(services, name)

        def spy(**kwargs):
            calls.append((name, kwargs))
            return real(**kwargs)

        return spy

    for name in REPS_SERVICES:
        monkeypatch.setattr(reps_admin, name, spy_on(name))
    return calls


def test_the_rep_page_writes_the_rep_its_presence_and_schedule_through_the_services(
    admin_client, admin_user, service_calls
):
    rep = RepFactory(presence="available")
    rep.skills.add(SkillFactory(name="spanish"))
    data = rep_form(
        rep,
        [("0", "08:00", "12:00")],
        [("2026-12-21 00:00:00", "2026-12-28 00:00:00")],
    )
    data["weight"] = "3"

    response = admin_client.post(admin_url(Rep, "change", rep.pk), data)

    assert response.status_code == 302
    calls = dict(service_calls)
    assert set(calls) == {
        "rep_update",
        "rep_set_presence",
        "working_hours_set",
        "time_off_add",
    }
    assert (calls["rep_set_presence"]["presence"], calls["rep_set_presence"]["actor"]) == (
        "away",
        admin_user,
    )
    assert calls["time_off_add"]["actor"] == admin_user
    rep.refresh_from_db()
    assert (rep.presence, rep.weight) == ("away", 3)
    assert list(rep.skills.all()) == []
    assert rep.working_hours.count() == 1 and rep.time_off.count() == 1


def test_changed_and_removed_time_off_is_taken_off_and_added_again_by_the_services(
    admin_client, service_calls
):
    rep = RepFactory()
    start = timezone.now().replace(microsecond=0) + timedelta(days=7)
    moved = TimeOffFactory(rep=rep, start=start, end=start + timedelta(days=2))
    later = start + timedelta(days=5)
    dropped = TimeOffFactory(rep=rep, start=later, end=later + timedelta(days=1))
    data = rep_form(rep, [])
    rows = [
        (moved, start + timedelta(days=1), start + timedelta(days=3), ""),
        (dropped, dropped.start, dropped.end, "on"),
    ]
    data |= {"time_off-TOTAL_FORMS": "2", "time_off-INITIAL_FORMS": "2"}
    for n, (time_off, new_start, new_end, delete) in enumerate(rows):
        local_start, local_end = timezone.localtime(new_start), timezone.localtime(new_end)
        data |= {
            f"time_off-{n}-id": str(time_off.pk),
            f"time_off-{n}-rep": str(rep.pk),
            f"time_off-{n}-start_0": f"{local_start:%Y-%m-%d}",
            f"time_off-{n}-start_1": f"{local_start:%H:%M:%S}",
            f"time_off-{n}-end_0": f"{local_end:%Y-%m-%d}",
            f"time_off-{n}-end_1": f"{local_end:%H:%M:%S}",
            f"time_off-{n}-reason": "Vacation",
        }
        if delete:
            data[f"time_off-{n}-DELETE"] = "on"

    response = admin_client.post(admin_url(Rep, "change", rep.pk), data)

    assert response.status_code == 302
    names = [name for name, _ in service_calls]
    assert names.count("time_off_remove") == 2 and names.count("time_off_add") == 1
    assert list(rep.time_off.values_list("start", "end")) == [
        (start + timedelta(days=1), start + timedelta(days=3))
    ]


def test_a_rep_added_in_the_admin_is_created_by_rep_create(admin_client, service_calls):
    team = TeamFactory()
    user = UserFactory(username="newrep")
    data = rep_form(Rep(user=user, team=team, timezone="Europe/Paris"), [])

    response = admin_client.post(admin_url(Rep, "add"), data)

    assert response.status_code == 302
    assert [name for name, _ in service_calls][:1] == ["rep_create"]
    rep = Rep.objects.get(user=user)
    assert (rep.team, rep.timezone, rep.presence) == (team, "Europe/Paris", "away")


def test_teams_are_written_through_team_create_and_team_update(admin_client, service_calls):
    data = {"name": "EMEA", "region": "EMEA", "timezone": "Europe/Berlin"}
    assert admin_client.post(admin_url(Team, "add"), data).status_code == 302
    team = Team.objects.get(name="EMEA")
    data["timezone"] = "Not/AZone"
    response = admin_client.post(admin_url(Team, "change", team.pk), data)
    assert response.status_code == 200 and "timezone" in response.context["adminform"].form.errors
    data["timezone"] = "Europe/Paris"
    assert admin_client.post(admin_url(Team, "change", team.pk), data).status_code == 302
    team.refresh_from_db()
    assert team.timezone == "Europe/Paris"
    assert [name for name, _ in service_calls] == ["team_create", "team_update"]
