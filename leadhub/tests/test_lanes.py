"""leadhub.lanes: where each piece of work goes, and the one piece done in place."""

import pytest

from leadhub import lanes
from leadhub.leads.models import Lead
from leadhub.leads.services import lead_capture
from routing.models import Decision

pytestmark = pytest.mark.django_db


def test_held_queues_nothing_and_says_what_it_held_back(monkeypatch):
    sent = []
    monkeypatch.setattr(lanes, "async_task", lambda *args, **kw: sent.append((args, kw)))
    with lanes.held() as held:
        assert lanes.enqueue(lanes.ROUTING, "routing.tasks.route_leads", [1, 2]) is None
    lanes.enqueue(lanes.OUTBOX, "sla.tasks.deliver", 7, group="outbox")
    assert held == [("routing", "routing.tasks.route_leads", ([1, 2],))]
    assert sent == [(("sla.tasks.deliver", 7), {"cluster": "outbox", "group": "outbox"})]
    with pytest.raises(ValueError, match="Unknown lane"):
        lanes.enqueue("fast", "x")


def capture(django_capture_on_commit_callbacks) -> Lead:
    with django_capture_on_commit_callbacks(execute=True):
        return lead_capture(
            data={"email": "ana@initech.example", "company": "Initech", "country": "DE"},
            channel="api",
        ).lead


@pytest.fixture
def queued(monkeypatch):
    sent = []
    monkeypatch.setattr(lanes, "async_task", lambda *args, **kw: sent.append(args))
    return sent


def test_a_lead_captured_on_its_own_is_routed_by_the_capturing_process(
    queued, django_capture_on_commit_callbacks
):
    lead = capture(django_capture_on_commit_callbacks)
    assert Decision.objects.filter(lead=lead).count() == 1  # decided here, nothing queued
    assert queued == []


def test_routing_that_fails_at_capture_is_queued_in_the_routing_lane(
    queued, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(lead_ids):
        raise RuntimeError("pool state locked too long")

    monkeypatch.setattr("routing.tasks.route_leads", broken)
    lead = capture(django_capture_on_commit_callbacks)
    assert Lead.objects.get(pk=lead.pk).status == "new"  # stored all the same
    assert queued == [("routing.tasks.route_leads", [lead.pk])]


def test_a_queue_that_fails_too_leaves_the_lead_to_the_sweep(
    monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broken(*args, **kwargs):
        raise RuntimeError("down")

    monkeypatch.setattr("routing.tasks.route_leads", broken)
    monkeypatch.setattr(lanes, "async_task", broken)
    lead = capture(django_capture_on_commit_callbacks)  # no error reaches the caller
    assert Lead.objects.filter(pk=lead.pk, status="new").exists()
    assert "the sweep will do it" in caplog.text


def test_with_routing_at_capture_off_every_capture_goes_to_the_lane(
    queued, settings, django_capture_on_commit_callbacks
):
    settings.LEADHUB_ROUTE_AT_CAPTURE = False
    lead = capture(django_capture_on_commit_callbacks)
    assert queued == [("routing.tasks.route_leads", [lead.pk])]
