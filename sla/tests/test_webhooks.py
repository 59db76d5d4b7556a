"""Slack and outbound webhooks against a real HTTP server on loopback (conftest.py)."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from leadhub.leads.tests.factories import LeadFactory
from reps.tests.factories import RepFactory, UserFactory
from sla.models import Notification
from sla.services import (
    lead_data,
    notify,
    outbox_deliver,
    webhook_subscription_regenerate_secret,
)
from sla.tests.factories import SlackWebhookFactory, WebhookSubscriptionFactory

pytestmark = pytest.mark.django_db


def expected_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_row(subscription, **fields) -> Notification:
    defaults = {
        "channel": "webhook",
        "subscription": subscription,
        "address": subscription.url,
        "event": "sla.breached",
        "title": "SLA breached",
        "payload": {"lead": {"id": 7}},
    }
    return Notification.objects.create(**(defaults | fields))


def test_a_webhook_posts_the_event_as_json_signed_with_the_subscription_secret(
    endpoint, django_capture_on_commit_callbacks
):
    subscription = WebhookSubscriptionFactory(url=endpoint.url("/ok"), events=["lead.assigned"])
    lead = LeadFactory()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notify(
            event="lead.assigned",
            lead=lead,
            rep=RepFactory(user=UserFactory(email="")),
            payload={"lead": lead_data(lead), "note": "café"},
            title="New lead",
        )

    row = Notification.objects.get(channel="webhook")
    (request,) = endpoint.requests
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-LeadHub-Event"] == "lead.assigned"
    assert request.headers["X-LeadHub-Delivery"] == str(row.pk)
    assert request.headers["X-LeadHub-Signature"] == expected_signature(
        subscription.secret, request.body
    )
    assert request.headers["X-LeadHub-Signature"] != expected_signature("wrong", request.body)
    body = json.loads(request.body)
    assert body == {
        "id": row.pk,
        "event": "lead.assigned",
        "created_at": row.created_at.isoformat(),
        "data": {"lead": lead_data(lead), "note": "café"},
    }
    assert (row.status, row.attempts) == ("sent", 1)


def test_a_new_secret_signs_every_later_delivery(endpoint):
    subscription = WebhookSubscriptionFactory(url=endpoint.url("/ok"))
    old_secret = subscription.secret
    webhook_subscription_regenerate_secret(subscription=subscription)
    assert subscription.secret != old_secret
    assert len(subscription.secret) >= 40
    outbox_deliver(notification_id=webhook_row(subscription).pk)
    (request,) = endpoint.requests
    signature = request.headers["X-LeadHub-Signature"]
    assert signature == expected_signature(subscription.secret, request.body)
    assert signature != expected_signature(old_secret, request.body)


def test_slack_gets_the_title_as_text(endpoint, django_capture_on_commit_callbacks, settings):
    settings.LEADHUB_SITE_URL = "http://localhost:8000"
    rep = RepFactory(user=UserFactory(email=""))
    SlackWebhookFactory(rep=rep, team=None, url=endpoint.url("/ok"))
    with django_capture_on_commit_callbacks(execute=True):
        notify(event="lead.escalated", rep=rep, payload={"lead": {"id": 42}}, title="Escalated")
    (request,) = endpoint.requests
    assert json.loads(request.body) == {
        "text": "Escalated (<http://localhost:8000/leads/42/|lead #42>)"
    }
    assert Notification.objects.get(channel="slack").status == "sent"


def test_a_500_is_retried_with_backoff_until_the_row_is_dead(endpoint, settings):
    settings.LEADHUB_OUTBOX_MAX_ATTEMPTS = 3
    row = webhook_row(WebhookSubscriptionFactory(url=endpoint.url("/fail")))
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert outbox_deliver(notification_id=row.pk) == "failed"
        row.refresh_from_db()
        assert row.next_attempt_at == timezone.now() + timedelta(seconds=30)
        assert row.last_error == "HTTP 500: boom"
        clock.shift(timedelta(seconds=29))
        assert outbox_deliver(notification_id=row.pk) is None
        clock.shift(timedelta(seconds=1))
        assert outbox_deliver(notification_id=row.pk) == "failed"
        row.refresh_from_db()
        assert row.next_attempt_at == timezone.now() + timedelta(seconds=60)
        clock.shift(timedelta(seconds=60))
        assert outbox_deliver(notification_id=row.pk) == "dead"
        clock.shift(timedelta(days=1))
        assert outbox_deliver(notification_id=row.pk) is None
    assert len(endpoint.to("/fail")) == 3
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("dead", 3, "HTTP 500: boom")


def test_a_redirect_is_a_failed_attempt_not_followed(endpoint):
    row = webhook_row(WebhookSubscriptionFactory(url=endpoint.url("/redirect")))
    assert outbox_deliver(notification_id=row.pk) == "failed"
    assert Notification.objects.get(pk=row.pk).last_error.startswith("HTTP 302")
    assert endpoint.to("/ok") == []


def test_a_switched_off_subscription_is_dead_at_once_without_a_request(endpoint):
    subscription = WebhookSubscriptionFactory(url=endpoint.url("/ok"), active=False)
    assert outbox_deliver(notification_id=webhook_row(subscription).pk) == "dead"
    assert endpoint.requests == []


def test_an_unreachable_endpoint_is_a_failed_attempt(endpoint):
    row = webhook_row(WebhookSubscriptionFactory(url="http://127.0.0.1:9/closed"))
    assert outbox_deliver(notification_id=row.pk) == "failed"
    assert "refused" in Notification.objects.get(pk=row.pk).last_error.lower()


def test_a_slow_endpoint_times_out_and_the_next_delivery_goes_out_regardless(
    endpoint, settings, django_capture_on_commit_callbacks
):
    settings.LEADHUB_OUTBOX_TIMEOUT_SECONDS = 0.3
    endpoint.slow_seconds = 3
    WebhookSubscriptionFactory(name="a slow one", url=endpoint.url("/slow"))
    WebhookSubscriptionFactory(name="b fast one", url=endpoint.url("/ok"))
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        notify(event="sla.breached", payload={}, title="Breached")
    elapsed = time.monotonic() - started

    slow = Notification.objects.get(address=endpoint.url("/slow"))
    fast = Notification.objects.get(address=endpoint.url("/ok"))
    assert (slow.status, fast.status) == ("failed", "sent")
    assert "timed out" in slow.last_error
    assert elapsed < 2  # the slow endpoint held its own delivery for the timeout only


@pytest.mark.django_db(transaction=True)
def test_a_delivery_waiting_on_a_slow_endpoint_does_not_hold_up_another_worker(endpoint, settings):
    settings.LEADHUB_OUTBOX_TIMEOUT_SECONDS = 5
    endpoint.slow_seconds = 0.8
    slow = webhook_row(WebhookSubscriptionFactory(url=endpoint.url("/slow")))
    fast = webhook_row(WebhookSubscriptionFactory(url=endpoint.url("/ok")))
    results = {}

    def deliver_slow() -> None:
        results["slow"] = outbox_deliver(notification_id=slow.pk)

    worker = threading.Thread(target=deliver_slow)
    worker.start()
    while not endpoint.to("/slow"):
        time.sleep(0.01)
    assert outbox_deliver(notification_id=fast.pk) == "sent"
    assert worker.is_alive()  # the slow endpoint is still answering
    worker.join()
    assert results["slow"] == "sent"
    assert endpoint.to("/ok")[0].at < endpoint.to("/slow")[0].at + endpoint.slow_seconds
