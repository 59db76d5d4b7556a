import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reps.models import Rep, Team
from reps.tests.factories import RepFactory, TeamFactory

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
