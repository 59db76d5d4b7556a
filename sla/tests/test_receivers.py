"""The events LeadHub emits today reach the outbox: lead.created, lead.assigned,
lead.reassigned and lead.status_changed."""

import json

import pytest
from django.core import mail

from leadhub.leads.services import lead_capture, lead_transition
from leadhub.leads.tests.factories import LeadFactory
from reps.tests.factories import RepFactory, TeamFactory
from routing.models import Rule
from routing.services import lead_reassign, lead_route, ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory
from sla.models import Notification
from sla.tasks import announce_created
from sla.tests.factories import WebhookSubscriptionFactory

pytestmark = pytest.mark.django_db


def bodies(endpoint, path: str = "/ok") -> list[dict]:
    return [json.loads(r.body) for r in endpoint.to(path)]


def test_a_captured_lead_is_announced_once_to_lead_created_subscribers(
    endpoint, django_capture_on_commit_callbacks
):
    WebhookSubscriptionFactory(url=endpoint.url("/ok"), events=["lead.created"])
    WebhookSubscriptionFactory(url=endpoint.url("/ok2"), events=["lead.assigned"])
    with django_capture_on_commit_callbacks(execute=True):
        lead = lead_capture(data={"email": "ana@initech.example"}, channel="api").lead
    (body,) = bodies(endpoint)
    assert (body["event"], body["data"]["lead"]["id"]) == ("lead.created", lead.pk)
    assert body["data"]["lead"]["email"] == "ana@initech.example"
    assert endpoint.to("/ok2") == []

    assert announce_created([lead.pk]) == 0  # a second run writes nothing
    assert Notification.objects.filter(event="lead.created").count() == 1


def test_without_lead_created_subscribers_capture_queues_no_task(
    django_capture_on_commit_callbacks, monkeypatch
):
    queued = []

    def enqueue(lane, *args, **options):
        if lane == "outbox":  # routing queues its own task for the lead
            queued.append(args)

    monkeypatch.setattr("leadhub.lanes.enqueue", enqueue)
    WebhookSubscriptionFactory(events=["lead.assigned"])
    with django_capture_on_commit_callbacks(execute=True):
        lead_capture(data={"email": "bo@initech.example"}, channel="api")
    assert queued == []
    WebhookSubscriptionFactory(events=["lead.created"])
    with django_capture_on_commit_callbacks(execute=True):
        lead = lead_capture(data={"email": "cy@initech.example"}, channel="api").lead
    assert queued == [("sla.tasks.announce_created", [lead.pk])]


def test_a_status_change_is_announced_with_the_old_and_new_status(
    endpoint, django_capture_on_commit_callbacks
):
    owner = RepFactory()
    WebhookSubscriptionFactory(url=endpoint.url("/ok"), events=["lead.status_changed"])
    lead = LeadFactory(status="assigned", owner=owner)
    with django_capture_on_commit_callbacks(execute=True):
        lead_transition(lead_id=lead.pk, status="accepted")
    (body,) = bodies(endpoint)
    assert body["event"] == "lead.status_changed"
    assert (body["data"]["from"], body["data"]["to"]) == ("assigned", "accepted")
    assert body["data"]["lead"]["owner_id"] == owner.pk
    # The owner made the change: they are not told.
    assert not Notification.objects.exclude(channel="webhook").exists()


def test_routing_and_a_manual_reassignment_reach_the_rep_and_the_subscribers(
    endpoint, django_capture_on_commit_callbacks
):
    team = TeamFactory()
    rep = RepFactory(team=team)
    pool = PoolFactory(team=team)
    PoolMemberFactory(pool=pool, rep=rep)
    draft = ruleset_draft()
    Rule.objects.create(ruleset=draft, name="All", condition={}, action="pool", action_pool=pool)
    ruleset_publish()
    WebhookSubscriptionFactory(
        url=endpoint.url("/ok"), events=["lead.assigned", "lead.reassigned"], team=team
    )
    lead = LeadFactory()
    with django_capture_on_commit_callbacks(execute=True):
        decision = lead_route(lead_id=lead.pk)
    other = RepFactory()  # another team: the team subscription does not hear of it
    with django_capture_on_commit_callbacks(execute=True):
        lead_reassign(lead_id=lead.pk, rep_id=other.pk, actor=None, reason="VIP")

    (assigned,) = bodies(endpoint)
    assert assigned["event"] == "lead.assigned"
    assert assigned["data"]["rep"]["id"] == rep.pk
    assert assigned["data"]["decision"]["id"] == decision.pk
    rows = Notification.objects.filter(lead=lead).order_by("pk")
    assert [(r.event, r.channel, r.rep_id) for r in rows] == [
        ("lead.assigned", "in_app", rep.pk),
        ("lead.assigned", "email", rep.pk),
        ("lead.assigned", "webhook", None),
        ("lead.reassigned", "in_app", other.pk),
        ("lead.reassigned", "email", other.pk),
    ]
    assert sorted(m.to[0] for m in mail.outbox) == sorted([rep.user.email, other.user.email])
