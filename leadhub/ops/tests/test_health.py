"""GET /health/ and its admin page: what a monitor and RevOps see of the running LeadHub."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_q.models import OrmQ

from leadhub import lanes
from leadhub.leads.tests.factories import LeadFactory
from leadhub.ops.models import Heartbeat
from reps.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOON = "2026-03-02 12:00:00+00:00"
EVERYONE = [f"lane:{lane}" for lane in lanes.LANES] + ["ticker"]


def beat(name: str, seconds_ago: float) -> None:
    Heartbeat.objects.update_or_create(
        name=name,
        defaults={"beat_at": timezone.now() - timedelta(seconds=seconds_ago), "host": "node-1"},
    )


def test_all_fresh_is_200_with_each_lane_and_the_ticker(client):
    with time_machine.travel(NOON, tick=False):
        for name in EVERYONE:
            beat(name, 3)
        response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["stale"] == []
    assert body["database"]["ok"] is True
    assert body["broker"] == {"ok": True, "kind": "orm"}
    assert set(body["lanes"]) == {"routing", "outbox", "housekeeping"}
    assert body["lanes"]["routing"] == {
        "workers": 2,
        "queued": 0,
        "oldest_waiting_seconds": None,
        "heartbeat_age_seconds": 3.0,
        "heartbeat_host": "node-1",
    }
    assert body["ticker"]["heartbeat_age_seconds"] == 3.0
    assert response["Cache-Control"].startswith("max-age=0")


def test_a_stale_or_missing_heartbeat_is_503_naming_the_part(client, settings):
    settings.LEADHUB_HEARTBEAT_STALE_SECONDS = 60
    with time_machine.travel(NOON, tick=False):
        beat("lane:routing", 3)
        beat("lane:outbox", 61)
        beat("lane:housekeeping", 3)
        response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["stale"] == [
        "outbox lane: last heartbeat 61 s ago",
        "ticker: no heartbeat yet (is `manage.py ticker` running?)",
    ]


def test_queue_depth_and_the_oldest_waiting_task_per_lane(client):
    with time_machine.travel(NOON, tick=False):
        for name in EVERYONE:
            beat(name, 1)
        now = timezone.now()
        OrmQ.objects.create(key="routing", payload="x", lock=now - timedelta(seconds=400))
        OrmQ.objects.create(key="routing", payload="x", lock=now - timedelta(seconds=2))
        # Taken by a worker (locked until its retry time): in flight, not waiting.
        OrmQ.objects.create(key="routing", payload="x", lock=now + timedelta(seconds=60))
        OrmQ.objects.create(key="outbox", payload="x", lock=now - timedelta(seconds=5))
        response = client.get("/health/")
    body = response.json()
    assert body["lanes"]["routing"]["queued"] == 2
    assert body["lanes"]["routing"]["oldest_waiting_seconds"] == 400.0
    assert body["lanes"]["outbox"]["queued"] == 1
    assert body["lanes"]["housekeeping"]["queued"] == 0
    assert response.status_code == 503
    assert body["stale"] == ["routing lane: a task has waited 400 s"]


def test_the_check_needs_no_login_and_shows_no_lead_data(client):
    LeadFactory(email="secret@initech.example", company="Initech")
    response = client.get("/health/")
    assert response.status_code == 503  # nothing runs in a test
    assert b"initech" not in response.content.lower()
    assert client.post("/health/").status_code == 405


def test_revops_see_the_same_facts_in_the_admin_and_others_do_not(client):
    with time_machine.travel(NOON, tick=False):
        beat("lane:routing", 3)
        client.force_login(UserFactory(is_staff=True))
        page = client.get("/admin/ops/heartbeat/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Stale" in text and "ticker: no heartbeat yet" in text
    assert "routing" in text and "3.0 s ago" in text
    client.force_login(UserFactory(is_staff=False))
    assert client.get("/admin/ops/heartbeat/").status_code == 302  # to the admin login
