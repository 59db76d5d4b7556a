import pytest
from django.utils import timezone

from leadhub.leads.tests.clients import client_as
from reps.tests.factories import RepFactory, UserFactory
from sla.models import Notification
from sla.services import notify

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    ana, bo = RepFactory(), RepFactory()
    older = notify(event="lead.assigned", rep=ana, payload={}, title="older")[0]
    read = notify(event="lead.assigned", rep=ana, payload={}, title="read")[0]
    newest = notify(event="lead.escalated", rep=ana, payload={}, title="newest")[0]
    Notification.objects.filter(pk=read.pk).update(read_at=timezone.now())
    theirs = notify(event="lead.assigned", rep=bo, payload={}, title="bo's")[0]
    return {
        "ana": ana,
        "bo": bo,
        "stranger": UserFactory(),
        "older": older,
        "read": read,
        "newest": newest,
        "theirs": theirs,
    }


def test_a_rep_lists_their_own_in_app_notifications_unread_first(world):
    response = client_as(world, "ana").get("/api/notifications/")
    assert response.status_code == 200
    assert [n["title"] for n in response.json()["results"]] == ["newest", "older", "read"]
    # The email rows the same events wrote are not in-app notifications.
    assert Notification.objects.filter(rep=world["ana"], channel="email").count() == 3


def test_unread_1_lists_only_the_unread_ones(world):
    response = client_as(world, "ana").get("/api/notifications/?unread=1")
    assert [n["title"] for n in response.json()["results"]] == ["newest", "older"]


def test_a_rep_marks_their_own_notification_read(world):
    response = client_as(world, "ana").post(f"/api/notifications/{world['older'].pk}/read/")
    assert response.status_code == 200
    assert response.json()["read_at"] is not None
    world["older"].refresh_from_db()
    assert world["older"].read_at is not None


def test_another_reps_notification_is_a_404_and_stays_unread(world):
    response = client_as(world, "ana").post(f"/api/notifications/{world['theirs'].pk}/read/")
    assert response.status_code == 404
    world["theirs"].refresh_from_db()
    assert world["theirs"].read_at is None


def test_a_user_who_is_not_a_rep_sees_no_notifications(world):
    client = client_as(world, "stranger")
    assert client.get("/api/notifications/").json()["results"] == []
    assert client.post(f"/api/notifications/{world['older'].pk}/read/").status_code == 404


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("intake_key", 403)])
def test_anonymous_callers_and_intake_keys_are_refused(world, who, status):
    assert client_as(world, who).get("/api/notifications/").status_code == status
    path = f"/api/notifications/{world['older'].pk}/read/"
    assert client_as(world, who).post(path).status_code == status
