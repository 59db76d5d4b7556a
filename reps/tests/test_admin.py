from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reps.models import Holiday, HolidayCalendar, Rep, Skill, Team, TimeOff, WorkingHours
from reps.tests.factories import (
    HolidayFactory,
    RepFactory,
    SkillFactory,
    TeamFactory,
    TimeOffFactory,
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
