"""Replay through the API and the admin: asked for at once (202, ``running``), done in the
housekeeping lane (inline in tests, once the request's transaction commits); RevOps only,
bad input is a 400 naming the field."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from leadhub.leads.tests.clients import client_as
from leadhub.leads.tests.factories import LeadFactory
from reps.models import Rep
from reps.tests.factories import RepFactory, TeamFactory, UserFactory
from routing.models import ReplayReport, Rule
from routing.services import lead_route, ruleset_draft, ruleset_publish
from routing.tasks import replay_report
from routing.tests.factories import PoolFactory, PoolMemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    team = TeamFactory(name="A")
    revops = UserFactory(username="revops")
    revops.groups.add(Group.objects.get_or_create(name="RevOps")[0])
    manager = RepFactory(team=team, role=Rep.Role.MANAGER, user__username="manager")
    pool = PoolFactory(name="A pool", team=team, settings={"check_hours": False})
    for position in range(2):
        PoolMemberFactory(pool=pool, rep=RepFactory(team=team), position=position)
    draft = ruleset_draft()
    Rule.objects.create(ruleset=draft, name="All", condition={}, action="pool", action_pool=pool)
    version = ruleset_publish(note="v1")
    for _ in range(4):
        lead_route(lead_id=LeadFactory().pk)
    draft = ruleset_draft()
    draft.rules.update(action="nurture", action_pool=None)
    return {"revops": revops, "manager": manager, "version": version, "draft": draft}


def test_revops_replays_the_draft_and_reads_the_report_page_by_page(
    world, django_capture_on_commit_callbacks
):
    client = client_as(world, "revops")
    with django_capture_on_commit_callbacks() as queued:
        response = client.post("/api/rulesets/draft/replay/", {"days": 7}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "running" and len(queued) == 1
    # Until the lane has done it, the report says it is running, with no figures.
    running = client.get(body["url"]).json()
    assert running["status"] == "running" and running["summary"] == {}
    assert running["changes"]["count"] == 0
    queued[0]()  # the commit: the task runs (inline in tests)
    report = client.get(body["url"], {"page_size": 3}).json()
    assert report["status"] == "done" and report["error"] == ""
    assert (report["leads"], report["changed"]) == (4, 4) and report["finished_at"]
    assert report["summary"]["nurture"] == {"before": 0, "after": 4}
    assert report["changes"]["count"] == 4 and report["changes"]["pages"] == 2
    first = report["changes"]["results"][0]
    assert first["before"]["rep"] and first["before"]["pool"] == "A pool"
    assert first["before"]["explanation"] and first["after"]["explanation"]
    assert first["after"]["outcome"] == "nurture"
    page_two = client.get(body["url"], {"page_size": 3, "page": 2}).json()
    assert len(page_two["changes"]["results"]) == 1
    listing = client.get("/api/replays/").json()
    assert [(r["id"], r["status"]) for r in listing] == [(body["id"], "done")]
    # The lane running the task again (a retry) does not replay again.
    done = ReplayReport.objects.get()
    assert replay_report(done.pk) == "done"
    assert ReplayReport.objects.get().finished_at == done.finished_at


def test_replaying_a_version_by_number(world, django_capture_on_commit_callbacks):
    client = client_as(world, "revops")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/rulesets/{world['version'].version}/replay/", {}, format="json"
        )
    assert response.status_code == 202
    assert client.get(response.json()["url"]).json()["changed"] == 0


def test_a_replay_whose_draft_is_deleted_meanwhile_fails_with_the_reason(
    world, django_capture_on_commit_callbacks
):
    client = client_as(world, "revops")
    with django_capture_on_commit_callbacks() as queued:
        url = client.post("/api/rulesets/draft/replay/", {}, format="json").json()["url"]
    world["draft"].delete()  # in the admin, before the lane got to it
    queued[0]()
    report = client.get(url).json()
    assert report["status"] == "failed"
    assert report["error"] == "Draft no longer exists.", report["error"]


def test_a_replay_that_breaks_fails_with_the_error_and_is_not_left_running(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("routing.replay.services.lead_rows", broken)
    client = client_as(world, "revops")
    with django_capture_on_commit_callbacks(execute=True):
        url = client.post("/api/rulesets/draft/replay/", {}, format="json").json()["url"]
    report = client.get(url).json()
    assert (report["status"], report["error"]) == ("failed", "the database went away")
    assert report["finished_at"] and report["summary"] == {}


@pytest.mark.parametrize(
    "ref, data, status, field",
    [
        ("draft", {"days": 0}, 400, "days"),
        ("draft", {"days": 10**30}, 400, "days"),
        ("draft", {"days": "many"}, 400, "days"),
        ("draft", {"days": [1]}, 400, "days"),
        ("v1", {}, 400, "ruleset"),
        ("x" * 300, {}, 400, "ruleset"),
        ("nul%00l", {}, 400, "ruleset"),
        ("99", {}, 404, None),
        ("9" * 40, {}, 400, "ruleset"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(world, ref, data, status, field):
    response = client_as(world, "revops").post(f"/api/rulesets/{ref}/replay/", data, format="json")
    assert response.status_code == status, response.content
    if field:
        assert field in response.json()
    assert not ReplayReport.objects.exists()


def test_bad_page_is_a_400(world, django_capture_on_commit_callbacks):
    client = client_as(world, "revops")
    url = client.post("/api/rulesets/draft/replay/", {}, format="json").json()["url"]
    for params in ({"page": 0}, {"page": "x"}, {"page_size": 10**9}, {"page": "1\x00"}):
        assert client.get(url, params).status_code == 400
    assert client.get("/api/replays/999999/").status_code == 404


def test_only_revops_replay(world):
    for who in ("manager", "anonymous", "intake_key"):
        client = client_as(world, who)
        assert client.post("/api/rulesets/draft/replay/", {}, format="json").status_code in (
            401,
            403,
        )
        assert client.get("/api/replays/").status_code in (401, 403)
    assert not ReplayReport.objects.exists()


def test_the_admin_button_runs_a_replay_and_shows_its_report(
    world, admin_client, django_capture_on_commit_callbacks
):
    page = admin_client.get(reverse("admin:routing_ruleset_change", args=[world["draft"].pk]))
    run_url = reverse("admin:routing_replayreport_run", args=[world["draft"].pk])
    assert run_url in page.content.decode()
    assert "Replay the last 30 days" in page.content.decode()
    assert admin_client.get(run_url).status_code == 200
    assert admin_client.post(run_url, {"days": "0"}).status_code == 200  # form error
    assert not ReplayReport.objects.exists()
    with django_capture_on_commit_callbacks() as queued:
        response = admin_client.post(run_url, {"days": "30"}, follow=True)
    report = ReplayReport.objects.get()
    report_url = reverse("admin:routing_replayreport_change", args=[report.pk])
    assert response.redirect_chain[-1][0] == report_url
    text = response.content.decode()
    assert "running since" in text and 'http-equiv="refresh"' in text
    queued[0]()
    text = admin_client.get(report_url).content.decode()
    assert "running since" not in text and 'http-equiv="refresh"' not in text
    assert "Changed leads (4 listed of 4)" in text
    assert "No rule matched" not in text and "A pool" in text
    assert admin_client.get(reverse("admin:routing_replayreport_changelist")).status_code == 200


def test_someone_not_staff_cannot_run_a_replay_in_the_admin(world, client):
    client.force_login(world["manager"].user)
    run_url = reverse("admin:routing_replayreport_run", args=[world["draft"].pk])
    assert client.post(run_url, {"days": "30"}).status_code == 302  # to the login page
    assert not ReplayReport.objects.exists()


def test_a_draft_that_does_not_compile_is_a_400_naming_the_rule_set(world):
    Rule.objects.create(
        ruleset=world["draft"],
        position=5,
        name="Broken",
        condition={"field": "country", "op": "like", "value": "x"},
        action="triage",
    )
    response = client_as(world, "revops").post("/api/rulesets/draft/replay/", {}, format="json")
    assert response.status_code == 400
    assert "like" in response.json()["ruleset"][0]
