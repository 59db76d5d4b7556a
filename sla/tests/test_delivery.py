"""What each channel is sent: Slack text escaped for mrkdwn, email subjects on one line."""

import json

import pytest
from django.core import mail

from leadhub.leads.tests.factories import LeadFactory
from sla.models import Notification
from sla.services import lead_data, lead_name, outbox_deliver

pytestmark = pytest.mark.django_db


def test_a_slack_message_escapes_a_leads_name_so_it_cannot_ping_or_disguise_a_link(
    endpoint, settings
):
    lead = LeadFactory(first_name="<!channel>", last_name="<http://evil.example|Your bank> & co")
    row = Notification.objects.create(
        channel="slack",
        address=endpoint.url("/ok"),
        event="lead.assigned",
        title=f"New lead: {lead_name(lead)}",
        payload={"lead": lead_data(lead)},
    )
    assert outbox_deliver(notification_id=row.pk) == "sent"
    (request,) = endpoint.requests
    text = json.loads(request.body)["text"]
    assert text == (
        "New lead: &lt;!channel&gt; &lt;http://evil.example|Your bank&gt; &amp; co "
        f"(<{settings.LEADHUB_SITE_URL}/leads/{lead.pk}/|lead #{lead.pk}>)"
    )


def test_an_email_subject_never_carries_a_line_break_or_another_control_character():
    row = Notification.objects.create(
        channel="email",
        address="ana@example.com",
        event="lead.assigned",
        title="New lead: Bo\r\nBcc: everyone@example.com\x0b\x1b",
        payload={},
    )
    assert outbox_deliver(notification_id=row.pk) == "sent"
    (message,) = mail.outbox
    assert message.subject == "New lead: Bo Bcc: everyone@example.com"
