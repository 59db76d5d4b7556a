"""GET /api/audit/: RevOps only, paginated, filtered; bad filters are a 400. Routing a
lead, the hot path, writes no audit entry."""

from datetime import timedelta

import pytest
import time_machine
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.utils import timezone
from knox.models import AuthToken

from leadhub.changes import PLAYBOOK, change_source
from leadhub.leads.models import IntakeKey, Lead
from reps.selectors import REVOPS_GROUP
from reps.services import team_update
from reps.tests.factories import RepFactory, UserFactory
from routing.models import Decision
from sla.models import WebhookSubscription

pytestmark = pytest.mark.django_db

URL = "/api/audit/"


def _token(api, user):
    api.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=user)[1]}")
    return api


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_reps_and_managers_get_a_403(api, role):
    rep = RepFactory(role=role)
    assert _token(api, rep.user).get(URL).status_code == 403


def test_without_credentials_it_is_a_401(api):
    assert api.get(URL).status_code in (401, 403)


def test_an_intake_key_gets_a_403(api):
    key = IntakeKey(name="Website")
    raw = key.set_new_key()
    key.save()
    api.credentials(HTTP_X_API_KEY=raw)
    assert api.get(URL).status_code == 403


def test_the_revops_group_reads_the_log_paginated_newest_first(api, world):
    user = UserFactory(username="olga")
    user.groups.add(Group.objects.get_or_create(name=REVOPS_GROUP)[0])
    for region in ("APAC", "LATAM"):
        team_update(team=world["team"], region=region)

    response = _token(api, user).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [e["changes"]["region"] for e in body["results"]] == [
        ["APAC", "LATAM"],
        ["EMEA", "APAC"],
    ]
    first = body["results"][0]
    assert first["model"] == "reps.team"
    assert first["object_id"] == str(world["team"].pk)
    assert (first["action"], first["source"], first["actor"]) == ("update", "command", None)


@pytest.fixture
def entries(world, revops):
    """Three entries: a team changed from the playbook by RevOps a day ago, the pool and
    the team changed by a command now."""
    with (
        time_machine.travel(timezone.now() - timedelta(days=1)),
        change_source(PLAYBOOK, actor=revops),
    ):
        team_update(team=world["team"], region="APAC")
    world["pool"].method = "load_balanced"
    world["pool"].save()
    team_update(team=world["team"], region="LATAM")
    return world


@pytest.mark.parametrize(
    ("filters", "count"),
    [
        ({"model": "reps.team"}, 2),
        ({"model": "routing.pool"}, 1),
        ({"model": "reps.team", "object_id": "{team}"}, 2),
        ({"object_id": "999999"}, 0),
        ({"actor": "rita"}, 1),
        ({"actor": "nobody"}, 0),
        ({"source": "playbook"}, 1),
        ({"source": "command"}, 2),
        ({"action": "update"}, 3),
        ({"action": "delete"}, 0),
        ({"since": "{hour_ago}"}, 2),
        ({"until": "{hour_ago}"}, 1),
    ],
)
def test_filters(token_api, entries, filters, count):
    values = {
        "team": entries["team"].pk,
        "hour_ago": (timezone.now() - timedelta(hours=1)).isoformat(),
    }
    params = {name: value.format(**values) for name, value in filters.items()}
    response = token_api.get(URL, params)
    assert response.status_code == 200, response.content
    assert response.json()["count"] == count


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("model", "leads.lead"),
        ("model", "nonsense"),
        ("object_id", "abc"),
        ("object_id", "1.5"),
        ("object_id", "99999999999999999999999"),
        ("actor", "a\x00b"),
        ("source", "email"),
        ("action", "access"),
        ("since", "yesterday"),
        ("until", "2026-13-01T00:00Z"),
        ("since", "0001-01-01T00:00:00+14:00"),
        ("until", "2026-01-01T00:00:00+18:00"),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_filter(token_api, name, value):
    response = token_api.get(URL, {name: value})
    assert response.status_code == 400
    assert name in response.json()


def test_routing_a_lead_writes_no_audit_entry(
    world, revops_api, django_capture_on_commit_callbacks
):
    # No delivery to the outside world from this test.
    WebhookSubscription.objects.update(active=False)
    before = LogEntry.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = revops_api.post(
            "/api/leads/",
            {"email": "ana@initech.com", "company": "Initech", "country": "Germany"},
            format="json",
        )

    assert response.status_code == 201, response.content
    lead = Lead.objects.get(pk=response.json()["id"])
    assert Decision.objects.filter(lead=lead, outcome="assigned").exists()
    assert LogEntry.objects.count() == before
