"""The outbox: fan-out in the caller's transaction, the claim, retries, dead rows, re-send
and the sweep. Webhook bodies and signatures are in test_webhooks.py."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from leadhub.leads.tests.factories import LeadFactory
from reps.tests.factories import RepFactory, TeamFactory, UserFactory
from sla import services
from sla.models import Notification
from sla.services import (
    LEASE,
    lead_data,
    notify,
    outbox_deliver,
    outbox_resend,
    outbox_sweep,
    retry_delay,
)
from sla.tests.factories import SlackWebhookFactory, WebhookSubscriptionFactory

pytestmark = pytest.mark.django_db

NOON = "2026-03-02 12:00:00+00:00"


def email_row(**fields) -> Notification:
    defaults = {
        "channel": "email",
        "address": "ana@example.com",
        "event": "lead.assigned",
        "title": "New lead: Bo Chen",
    }
    return Notification.objects.create(**(defaults | fields))


def test_an_event_fans_out_to_the_rep_their_slack_their_teams_slack_and_the_subscribers(
    django_capture_on_commit_callbacks,
):
    team, other_team = TeamFactory(), TeamFactory()
    rep = RepFactory(team=team, user=UserFactory(email="ana@example.com"))
    own_hook = SlackWebhookFactory(rep=rep, team=None, url="http://127.0.0.1:9/slack/ana")
    team_hook = SlackWebhookFactory(team=team, url="http://127.0.0.1:9/slack/team")
    SlackWebhookFactory(team=team, url=own_hook.url)  # the same channel is told once
    SlackWebhookFactory(team=other_team)
    SlackWebhookFactory(team=team, active=False)
    everyone = WebhookSubscriptionFactory(events=["lead.assigned"])
    mine = WebhookSubscriptionFactory(events=["lead.assigned", "sla.breached"], team=team)
    WebhookSubscriptionFactory(events=["lead.assigned"], team=other_team)
    WebhookSubscriptionFactory(events=["lead.created"])
    WebhookSubscriptionFactory(events=["lead.assigned"], active=False)
    lead = LeadFactory()

    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        rows = notify(
            event="lead.assigned", lead=lead, rep=rep, payload={"lead": {"id": lead.pk}}, title="Hi"
        )

    got = sorted((r.channel, r.address, r.subscription_id, r.rep_id, r.status) for r in rows)
    assert got == sorted(
        [
            ("in_app", "", None, rep.pk, "sent"),
            ("email", "ana@example.com", None, rep.pk, "pending"),
            ("slack", own_hook.url, None, rep.pk, "pending"),
            ("slack", team_hook.url, None, None, "pending"),
            ("webhook", everyone.url, everyone.pk, None, "pending"),
            ("webhook", mine.url, mine.pk, None, "pending"),
        ]
    )
    assert Notification.objects.count() == 6
    assert len(callbacks) == 1  # delivery is queued once, after the commit


def test_a_rep_without_an_email_address_gets_no_email_and_no_rep_means_subscribers_only():
    rep = RepFactory(user=UserFactory(email=""))
    assert [r.channel for r in notify(event="lead.escalated", rep=rep, payload={}, title="x")] == [
        "in_app"
    ]
    WebhookSubscriptionFactory(events=["lead.status_changed"])
    rows = notify(event="lead.status_changed", lead=LeadFactory(), payload={}, title="x")
    assert [r.channel for r in rows] == ["webhook"]


def test_team_subscriptions_hear_events_about_the_lead_owners_team():
    owner = RepFactory()
    WebhookSubscriptionFactory(events=["lead.status_changed"], team=owner.team)
    WebhookSubscriptionFactory(events=["lead.status_changed"], team=TeamFactory())
    rows = notify(event="lead.status_changed", lead=LeadFactory(owner=owner), payload={}, title="x")
    assert [r.subscription.team_id for r in rows] == [owner.team_id]


def test_an_unknown_event_is_refused():
    with pytest.raises(ValueError, match="Unknown event"):
        notify(event="lead.exploded", payload={}, title="x")


def test_nothing_is_written_or_sent_when_the_callers_transaction_rolls_back(
    endpoint, django_capture_on_commit_callbacks
):
    WebhookSubscriptionFactory(url=endpoint.url("/ok"))
    rep = RepFactory()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify(event="lead.assigned", rep=rep, payload={}, title="x")
        raise RuntimeError("the assignment failed")
    assert not Notification.objects.exists()
    assert endpoint.requests == []
    assert mail.outbox == []


def test_after_the_commit_every_row_is_delivered_by_its_own_task(
    endpoint, django_capture_on_commit_callbacks
):
    WebhookSubscriptionFactory(url=endpoint.url("/ok1"))
    WebhookSubscriptionFactory(url=endpoint.url("/ok2"))
    rep = RepFactory(user=UserFactory(email="ana@example.com"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notify(event="lead.assigned", rep=rep, payload={}, title="x")
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert [r.path for r in sorted(endpoint.requests, key=lambda r: r.path)] == ["/ok1", "/ok2"]
    assert [m.to for m in mail.outbox] == [["ana@example.com"]]


def test_an_email_has_the_title_as_subject_and_the_lead_in_its_text():
    lead = LeadFactory(first_name="Bo", last_name="Chen", email="bo@initech.example")
    row = email_row(payload={"lead": lead_data(lead)})
    assert outbox_deliver(notification_id=row.pk) == "sent"
    (message,) = mail.outbox
    assert (message.subject, message.to) == ("New lead: Bo Chen", ["ana@example.com"])
    assert f"Lead: #{lead.pk}" in message.body
    assert "Email: bo@initech.example" in message.body
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    assert row.sent_at is not None


def test_the_claim_is_exactly_once_so_a_second_run_sends_nothing():
    row = email_row()
    assert outbox_deliver(notification_id=row.pk) == "sent"
    assert outbox_deliver(notification_id=row.pk) is None
    assert len(mail.outbox) == 1
    assert Notification.objects.get().attempts == 1


def test_in_app_rows_and_rows_not_yet_due_are_not_claimed():
    rep = RepFactory()
    (in_app,) = notify(
        event="lead.escalated", rep=RepFactory(user=UserFactory(email="")), payload={}, title="x"
    )
    later = email_row(rep=rep, next_attempt_at=timezone.now() + timedelta(minutes=1))
    assert outbox_deliver(notification_id=in_app.pk) is None
    assert outbox_deliver(notification_id=later.pk) is None
    assert mail.outbox == []


def test_a_row_left_sending_by_a_dead_worker_is_claimed_again_when_its_lease_ends():
    with time_machine.travel(NOON, tick=False):
        row = email_row()
        Notification.objects.filter(pk=row.pk).update(
            status="sending", attempts=1, next_attempt_at=timezone.now() + LEASE
        )
        assert outbox_deliver(notification_id=row.pk) is None  # still held
        assert outbox_sweep() == 0
    with time_machine.travel(timezone.now() + LEASE + timedelta(seconds=1), tick=False):
        assert outbox_sweep() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(mail.outbox) == 1


def test_a_failing_send_is_retried_with_exponential_backoff_and_dies_after_the_last_attempt(
    monkeypatch, settings
):
    settings.LEADHUB_OUTBOX_MAX_ATTEMPTS = 4

    def refuse(note):
        raise OSError("SMTP server said no " + "x" * 5000)

    monkeypatch.setattr(services.delivery, "send_email", refuse)
    with time_machine.travel(NOON, tick=False) as clock:
        row = email_row()
        waits = []
        for _ in range(3):
            assert outbox_deliver(notification_id=row.pk) == "failed"
            row.refresh_from_db()
            waits.append(row.next_attempt_at - timezone.now())
            assert outbox_deliver(notification_id=row.pk) is None  # not due yet
            clock.shift(waits[-1])
        assert outbox_deliver(notification_id=row.pk) == "dead"
    assert waits == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("dead", 4)
    assert row.last_error.startswith("OSError: SMTP server said no")
    assert len(row.last_error) == 1000
    assert outbox_deliver(notification_id=row.pk) is None


def test_the_backoff_is_capped_at_an_hour():
    assert retry_delay(1) == timedelta(seconds=30)
    assert retry_delay(7) == timedelta(minutes=32)
    assert retry_delay(8) == timedelta(hours=1)
    assert retry_delay(20) == timedelta(hours=1)


def test_resend_puts_a_dead_row_back_with_fresh_attempts_and_delivers_it(
    django_capture_on_commit_callbacks,
):
    row = email_row(status="dead", attempts=8, last_error="HTTP 500")
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_resend(notification_id=row.pk) is True
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    assert len(mail.outbox) == 1


def test_resend_refuses_in_app_rows_and_a_row_being_sent_right_now():
    (in_app,) = notify(
        event="lead.escalated", rep=RepFactory(user=UserFactory(email="")), payload={}, title="x"
    )
    busy = email_row(status="sending", next_attempt_at=timezone.now() + LEASE)
    assert outbox_resend(notification_id=in_app.pk) is False
    assert outbox_resend(notification_id=busy.pk) is False
    assert Notification.objects.get(pk=busy.pk).status == "sending"


def test_the_sweep_delivers_due_rows_oldest_first_and_at_most_a_batch_per_run(monkeypatch):
    monkeypatch.setattr(services, "SWEEP_BATCH", 2)
    now = timezone.now()
    oldest = email_row(address="a@example.com", next_attempt_at=now - timedelta(minutes=3))
    older = email_row(
        address="b@example.com", status="failed", next_attempt_at=now - timedelta(minutes=2)
    )
    newer = email_row(address="c@example.com", next_attempt_at=now - timedelta(minutes=1))
    email_row(address="later@example.com", next_attempt_at=now + timedelta(minutes=1))
    email_row(address="done@example.com", status="sent")
    email_row(address="gone@example.com", status="dead")
    assert outbox_sweep() == 2
    assert [m.to for m in mail.outbox] == [["a@example.com"], ["b@example.com"]]
    assert outbox_sweep() == 1
    assert mail.outbox[-1].to == ["c@example.com"]
    statuses = Notification.objects.filter(pk__in=[oldest.pk, older.pk, newer.pk])
    assert set(statuses.values_list("status", flat=True)) == {"sent"}


@pytest.fixture
def queue(monkeypatch):
    """The outbox lane as a list: what was queued, nothing run."""
    queued: list[int] = []

    def enqueue(lane, func, notification_id, **options):
        assert (lane, func) == ("outbox", "sla.tasks.deliver")
        queued.append(notification_id)

    monkeypatch.setattr("leadhub.lanes.enqueue", enqueue)
    return queued


def test_two_sweeps_in_a_row_queue_each_due_row_once(queue):
    rows = [email_row(address=f"{n}@example.com") for n in range(3)]
    assert outbox_sweep() == 3
    assert outbox_sweep() == 0
    assert sorted(queue) == sorted(row.pk for row in rows)
    assert Notification.objects.filter(queued_at__isnull=False).count() == 3


def test_a_row_queued_at_its_commit_is_not_queued_again_by_the_sweep(
    queue, django_capture_on_commit_callbacks
):
    rep = RepFactory(user=UserFactory(email="ana@example.com"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        rows = notify(event="lead.escalated", rep=rep, payload={}, title="x")
    (email,) = [row for row in rows if row.channel == "email"]
    assert queue == [email.pk]
    assert outbox_sweep() == 0
    assert queue == [email.pk]


def test_the_sweep_keeps_the_queue_at_its_limit_and_the_backlog_in_the_table(queue, settings):
    settings.LEADHUB_OUTBOX_QUEUE_LIMIT = 3
    rows = [email_row(address=f"{n}@example.com") for n in range(5)]
    assert outbox_sweep() == 3
    assert outbox_sweep() == 0
    assert outbox_deliver(notification_id=queue[0]) == "sent"  # one leaves the queue
    assert outbox_sweep() == 1
    assert sorted(queue) == sorted(row.pk for row in rows[:4])


def test_delivery_takes_the_row_out_of_the_queue_whether_or_not_it_sends(queue):
    due, later = email_row(), email_row(next_attempt_at=timezone.now() + timedelta(minutes=5))
    Notification.objects.filter(pk=later.pk).update(queued_at=timezone.now())
    assert outbox_sweep() == 1
    assert outbox_deliver(notification_id=due.pk) == "sent"
    assert outbox_deliver(notification_id=later.pk) is None
    assert not Notification.objects.filter(queued_at__isnull=False).exists()


def test_a_row_whose_task_was_lost_is_queued_again_when_its_place_in_the_queue_expires(queue):
    from sla.selectors import QUEUE_LEASE

    with time_machine.travel(NOON, tick=False) as clock:
        row = email_row()
        assert outbox_sweep() == 1
        clock.shift(QUEUE_LEASE - timedelta(seconds=1))
        assert outbox_sweep() == 0
        clock.shift(timedelta(seconds=2))
        assert outbox_sweep() == 1
    assert queue == [row.pk, row.pk]


def test_in_app_rows_are_never_queued(queue):
    (in_app,) = notify(
        event="lead.escalated", rep=RepFactory(user=UserFactory(email="")), payload={}, title="x"
    )
    assert services.outbox_enqueue(notification_ids=[in_app.pk]) == []
    assert outbox_sweep() == 0
    assert queue == []


def test_new_rows_past_the_queue_limit_wait_in_the_table_for_the_sweep(
    queue, settings, django_capture_on_commit_callbacks
):
    settings.LEADHUB_OUTBOX_QUEUE_LIMIT = 2
    reps = [RepFactory(user=UserFactory(email=f"r{n}@example.com")) for n in range(3)]
    emails = []
    for rep in reps:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            rows = notify(event="lead.escalated", rep=rep, payload={}, title="x")
        emails += [row.pk for row in rows if row.channel == "email"]
    assert queue == emails[:2]  # the third found the queue full
    assert outbox_sweep() == 0
    outbox_deliver(notification_id=emails[0])
    assert outbox_sweep() == 1
    assert queue == emails
