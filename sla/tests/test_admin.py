import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from reps.tests.factories import RepFactory, UserFactory
from sla.models import Notification, WebhookSubscription
from sla.services import notify
from sla.tests.factories import SlackWebhookFactory, WebhookSubscriptionFactory

pytestmark = pytest.mark.django_db


def run_action(client, model: str, action: str, ids: list[int]):
    url = reverse(f"admin:sla_{model}_changelist")
    return client.post(url, {"action": action, "_selected_action": ids}, follow=True)


def test_the_outbox_pages_load_and_filter(admin_client):
    rep = RepFactory()
    in_app, email = notify(event="lead.assigned", rep=rep, payload={}, title="New lead: Ana")
    changelist = reverse("admin:sla_notification_changelist")
    response = admin_client.get(changelist + "?channel=email&status=pending&q=Ana")
    assert list(response.context["cl"].result_list) == [email]
    response = admin_client.get(reverse("admin:sla_notification_change", args=[in_app.pk]))
    assert response.status_code == 200


def test_re_send_queues_remote_rows_again_and_skips_in_app_ones(
    admin_client, django_capture_on_commit_callbacks
):
    rep = RepFactory(user=UserFactory(email="ana@example.com"))
    in_app, email = notify(event="lead.assigned", rep=rep, payload={}, title="x")
    Notification.objects.filter(pk=email.pk).update(status="dead", attempts=8)
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client, "notification", "resend", [in_app.pk, email.pk])
    assert "1 of 2 queued to be sent again." in response.content.decode()
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 1)
    assert [m.to for m in mail.outbox] == [["ana@example.com"]]


def test_a_subscription_is_created_with_a_secret_and_the_secret_can_be_regenerated(
    admin_client,
):
    response = admin_client.post(
        reverse("admin:sla_webhooksubscription_add"),
        {
            "name": "CRM",
            "url": "https://crm.example/hook",
            "events": ["lead.assigned"],
            "active": "on",
        },
    )
    assert response.status_code == 302
    subscription = WebhookSubscription.objects.get()
    assert subscription.events == ["lead.assigned"]
    first = subscription.secret
    assert len(first) >= 40
    change = admin_client.get(
        reverse("admin:sla_webhooksubscription_change", args=[subscription.pk])
    )
    assert first in change.content.decode()  # shown, read-only, for the receiver's set-up
    run_action(admin_client, "webhooksubscription", "regenerate_secret", [subscription.pk])
    subscription.refresh_from_db()
    assert subscription.secret != first


def test_an_unknown_event_is_refused_by_the_model_and_the_form(admin_client):
    bad = WebhookSubscriptionFactory.build(events=["lead.exploded"])
    with pytest.raises(ValidationError, match=r"Unknown events: lead\.exploded"):
        bad.full_clean()
    response = admin_client.post(
        reverse("admin:sla_webhooksubscription_add"),
        {"name": "CRM", "url": "https://crm.example/hook", "events": ["lead.exploded"]},
    )
    assert response.status_code == 200
    assert not WebhookSubscription.objects.exists()


def test_a_slack_webhook_belongs_to_a_rep_or_a_team(admin_client):
    SlackWebhookFactory()
    assert admin_client.get(reverse("admin:sla_slackwebhook_changelist")).status_code == 200
    response = admin_client.post(
        reverse("admin:sla_slackwebhook_add"), {"url": "https://hooks.slack.example/x"}
    )
    assert "A Slack webhook belongs to a rep or to a team." in response.content.decode()


def policy_form(**fields) -> dict:
    data = {
        "name": "Demo requests",
        "active": "on",
        "priority": "10",
        "condition": '{"field": "source", "op": "eq", "value": "demo"}',
        "accept_minutes": "5",
        "touch_minutes": "",
        "steps-TOTAL_FORMS": "1",
        "steps-INITIAL_FORMS": "0",
        "steps-0-position": "1",
        "steps-0-action": "remind",
        "steps-0-minutes": "2",
        "steps-0-times": "1",
    }
    return {**data, **fields}


def test_an_sla_policy_is_saved_with_its_steps_and_a_bad_one_names_the_field(admin_client):
    from sla.models import SlaPolicy

    url = reverse("admin:sla_slapolicy_add")
    bad = admin_client.post(
        url,
        policy_form(
            condition='{"field": "source", "op": "sounds_like", "value": "x"}',
            pause_statuses=["nurture", "sleeping"],
        ),
    )
    assert bad.status_code == 200
    errors = bad.context["adminform"].form.errors
    assert "sounds_like" in errors["condition"][0]
    assert "sleeping is not one of the available choices" in errors["pause_statuses"][0]
    assert not SlaPolicy.objects.exists()

    assert admin_client.post(url, policy_form(pause_statuses=["nurture"])).status_code == 302
    policy = SlaPolicy.objects.get()
    assert policy.pause_statuses == ["nurture"]
    assert list(policy.steps.values_list("action", "minutes")) == [("remind", 2)]


def test_the_lead_page_shows_its_sla_clocks(admin_client):
    from datetime import timedelta

    from django.utils import timezone

    from leadhub.leads.tests.factories import LeadFactory
    from sla.models import SlaClock

    lead = LeadFactory()
    due = timezone.now() + timedelta(minutes=5)
    SlaClock.objects.create(lead=lead, kind="accept", due_at=due, next_at=due)
    page = admin_client.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    assert page.status_code == 200
    assert "SLA clocks" in page.content.decode() and "Accept" in page.content.decode()
