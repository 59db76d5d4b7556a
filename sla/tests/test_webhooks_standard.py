"""Standard Webhooks signatures, checked with the ``standardwebhooks`` package receivers use;
the receiver of docs/webhooks.md run on loopback against real deliveries; secret rotation
with a grace period; the subscriptions' API; the webhooks in the OpenAPI document; links to
the lead in emails and Slack messages."""

import hashlib
import hmac
import io
import json
import re
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from leadhub.leads.tests.clients import client_as
from leadhub.leads.tests.factories import LeadFactory
from reps.tests.factories import RepFactory, TeamFactory, UserFactory
from sla.delivery import email_text, slack_text
from sla.models import Event, Notification, WebhookSubscription
from sla.services import (
    lead_data,
    outbox_deliver,
    outbox_resend,
    rep_data,
    webhook_subscription_regenerate_secret,
)
from sla.tests.factories import WebhookSubscriptionFactory

pytestmark = pytest.mark.django_db

DOCS = Path(django_settings.BASE_DIR) / "docs" / "webhooks.md"


def webhook_row(subscription, **fields) -> Notification:
    defaults = {
        "channel": "webhook",
        "subscription": subscription,
        "address": subscription.url,
        "event": "lead.created",
        "title": "New lead",
        "payload": {"lead": {"id": 7}},
    }
    return Notification.objects.create(**(defaults | fields))


def headers_of(request) -> dict[str, str]:
    return dict(request.headers.items())


# --- Signing ----------------------------------------------------------------------------


def test_a_delivery_carries_standard_headers_that_the_package_verifies(endpoint):
    subscription = WebhookSubscriptionFactory(url=endpoint.url("/ok"))
    row = webhook_row(subscription)
    before = int(timezone.now().timestamp())

    assert outbox_deliver(notification_id=row.pk) == "sent"

    (request,) = endpoint.requests
    assert subscription.secret.startswith("whsec_")
    assert request.headers["webhook-id"] == f"msg_{row.pk}"
    assert before <= int(request.headers["webhook-timestamp"]) <= before + 5
    event = Webhook(subscription.secret).verify(request.body, headers_of(request))
    assert event == json.loads(request.body)
    assert event["id"] == row.pk and event["event"] == "lead.created"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB").verify(
            request.body, headers_of(request)
        )


def test_the_deprecated_signature_header_is_still_sent(endpoint):
    subscription = WebhookSubscriptionFactory(url=endpoint.url("/ok"))
    outbox_deliver(notification_id=webhook_row(subscription).pk)
    (request,) = endpoint.requests
    expected = hmac.new(subscription.secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-LeadHub-Signature"] == "sha256=" + expected


def test_every_retry_has_the_deliverys_id_and_its_own_timestamp(endpoint):
    subscription = WebhookSubscriptionFactory(url=endpoint.url("/fail"))
    row = webhook_row(subscription)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert outbox_deliver(notification_id=row.pk) == "failed"
        clock.shift(timedelta(minutes=1))
        assert outbox_deliver(notification_id=row.pk) == "failed"
    first, second = endpoint.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"msg_{row.pk}"
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 60
    assert first.body == second.body
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]


def test_a_secret_from_before_standard_webhooks_signs_with_its_own_bytes(endpoint):
    subscription = WebhookSubscriptionFactory(url=endpoint.url("/ok"))
    WebhookSubscription.objects.filter(pk=subscription.pk).update(secret="old-style_secret-0123")
    outbox_deliver(notification_id=webhook_row(subscription).pk)
    (request,) = endpoint.requests
    assert Webhook(b"old-style_secret-0123").verify(request.body, headers_of(request))


# --- Rotation ---------------------------------------------------------------------------


def test_during_the_grace_period_both_secrets_sign_and_after_it_only_the_new(endpoint):
    subscription = WebhookSubscriptionFactory(url=endpoint.url("/ok"))
    old = subscription.secret
    with time_machine.travel(timezone.now(), tick=False) as clock:
        webhook_subscription_regenerate_secret(subscription=subscription, grace=timedelta(hours=2))
        subscription.refresh_from_db()
        assert subscription.secret != old and subscription.secret.startswith("whsec_")
        assert subscription.previous_secret_until == timezone.now() + timedelta(hours=2)

        outbox_deliver(notification_id=webhook_row(subscription).pk)
        during = endpoint.requests[-1]
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        for secret in (old, subscription.secret):
            assert Webhook(secret).verify(during.body, headers_of(during))

        clock.shift(timedelta(hours=2, seconds=1))
        outbox_deliver(notification_id=webhook_row(subscription).pk)
        after = endpoint.requests[-1]
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        assert Webhook(subscription.secret).verify(after.body, headers_of(after))
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(after.body, headers_of(after))


def test_a_rotation_without_grace_stops_the_old_secret_at_once(endpoint):
    subscription = WebhookSubscriptionFactory(url=endpoint.url("/ok"))
    old = subscription.secret
    webhook_subscription_regenerate_secret(subscription=subscription, grace=timedelta(hours=1))
    webhook_subscription_regenerate_secret(subscription=subscription)
    subscription.refresh_from_db()
    assert (subscription.previous_secret, subscription.previous_secret_until) == ("", None)
    outbox_deliver(notification_id=webhook_row(subscription).pk)
    (request,) = endpoint.requests
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request.body, headers_of(request))


def test_the_admin_rotate_action_keeps_the_old_secret_for_the_grace_period(admin_client, settings):
    settings.LEADHUB_WEBHOOK_SECRET_GRACE_HOURS = 6
    subscription = WebhookSubscriptionFactory()
    old = subscription.secret
    admin_client.post(
        "/admin/sla/webhooksubscription/",
        {"action": "rotate_secret", "_selected_action": [subscription.pk]},
    )
    subscription.refresh_from_db()
    assert subscription.secret != old and subscription.previous_secret == old
    left = subscription.previous_secret_until - timezone.now()
    assert timedelta(hours=5, minutes=59) < left <= timedelta(hours=6)


# --- The receiver of docs/webhooks.md -----------------------------------------------------


def docs_receiver_module() -> dict:
    """The receiver's code as docs/webhooks.md shows it, run as a module (not as __main__)."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    (code,) = [block for block in blocks if "def make_receiver" in block]
    namespace: dict = {"__name__": "docs_webhooks_receiver"}
    exec(compile(code, str(DOCS), "exec"), namespace)  # noqa: S102 (our own docs)
    return namespace


@pytest.fixture
def receiver():
    """The docs' receiver on loopback; it records each raw request before handling it, so
    the test can replay one."""
    module = docs_receiver_module()
    state = {"handled": [], "raw": [], "secret": None}

    def start(secret: str):
        base = module["make_receiver"](secret, state["handled"].append)

        class Recording(base):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                state["raw"].append((dict(self.headers.items()), body))
                self.rfile = io.BytesIO(body)
                super().do_POST()

        server = ThreadingHTTPServer(("127.0.0.1", 0), Recording)
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        state["server"] = server
        return f"http://127.0.0.1:{server.server_address[1]}/"

    state["start"] = start
    yield state
    if "server" in state:
        state["server"].shutdown()
        state["server"].server_close()


def post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())["detail"]
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())["detail"]


def test_the_docs_receiver_verifies_a_real_delivery_and_rejects_replays(receiver):
    subscription = WebhookSubscriptionFactory(url="http://127.0.0.1:9/")
    url = receiver["start"](subscription.secret)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(url=url)
    lead = LeadFactory()
    row = webhook_row(subscription, payload={"lead": lead_data(lead)})

    assert outbox_deliver(notification_id=row.pk) == "sent"
    (event,) = receiver["handled"]
    assert event["id"] == row.pk and event["data"]["lead"]["id"] == lead.pk
    raw_headers, body = receiver["raw"][0]
    headers = {k: v for k, v in raw_headers.items() if k.lower().startswith("webhook-")}
    assert len(headers) == 3

    # The same delivery again, as captured: acknowledged, not handled twice.
    assert post(url, headers, body) == (200, "duplicate: already handled")
    # LeadHub's own re-send of it: the same webhook-id, so again not handled twice.
    assert outbox_resend(notification_id=row.pk)
    assert outbox_deliver(notification_id=row.pk) == "sent"
    assert len(receiver["handled"]) == 1
    # A new id on a captured delivery: the signature covers the id.
    forged = {k: "msg_999999" if k.lower() == "webhook-id" else v for k, v in headers.items()}
    assert post(url, forged, body)[0] == 400
    # A changed body under the captured signature.
    assert post(url, headers, body.replace(b'"id":', b'"id": ', 1))[0] == 400
    # The captured delivery replayed later than the tolerance.
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        status, detail = post(url, headers, body)
    assert (status, detail) == (400, "refused: Message timestamp too old")
    assert len(receiver["handled"]) == 1


def test_the_docs_receiver_accepts_deliveries_signed_during_a_rotation(receiver):
    subscription = WebhookSubscriptionFactory(url="http://127.0.0.1:9/")
    old = subscription.secret
    url = receiver["start"](old)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(url=url)
    subscription.refresh_from_db()
    webhook_subscription_regenerate_secret(subscription=subscription, grace=timedelta(hours=1))
    assert outbox_deliver(notification_id=webhook_row(subscription).pk) == "sent"
    assert len(receiver["handled"]) == 1


# --- The subscriptions' API ------------------------------------------------------------


def test_revops_create_a_subscription_and_see_its_secret_once(revops_api):
    team = TeamFactory()
    answer = revops_api.post(
        "/api/webhooks/",
        {
            "name": "CRM",
            "url": "https://crm.example.com/hook",
            "events": ["lead.assigned", "lead.created", "lead.assigned"],
            "team": team.pk,
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    subscription = WebhookSubscription.objects.get(pk=body["id"])
    assert body["secret"] == subscription.secret and body["secret"].startswith("whsec_")
    assert subscription.events == ["lead.created", "lead.assigned"]
    assert (subscription.team, subscription.active) == (team, True)

    listed = revops_api.get("/api/webhooks/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [row["name"] for row in rows] == ["CRM"]
    assert "secret" not in rows[0]
    assert "secret" not in revops_api.get(f"/api/webhooks/{subscription.pk}/").json()


def test_revops_update_rotate_and_delete_a_subscription(revops_api):
    subscription = WebhookSubscriptionFactory()
    old = subscription.secret
    answer = revops_api.patch(f"/api/webhooks/{subscription.pk}/", {"active": False}, format="json")
    assert answer.status_code == 200 and answer.json()["active"] is False
    assert "secret" not in answer.json()

    answer = revops_api.post(
        f"/api/webhooks/{subscription.pk}/rotate/", {"grace_hours": 3}, format="json"
    )
    assert answer.status_code == 200
    subscription.refresh_from_db()
    assert answer.json()["secret"] == subscription.secret != old
    assert subscription.previous_secret == old
    assert answer.json()["previous_secret_until"] is not None

    assert revops_api.delete(f"/api/webhooks/{subscription.pk}/").status_code == 204
    assert not WebhookSubscription.objects.exists()


def test_rotate_takes_the_default_grace_period_from_the_settings(revops_api, settings):
    settings.LEADHUB_WEBHOOK_SECRET_GRACE_HOURS = 0
    subscription = WebhookSubscriptionFactory()
    assert revops_api.post(f"/api/webhooks/{subscription.pk}/rotate/").status_code == 200
    subscription.refresh_from_db()
    assert (subscription.previous_secret, subscription.previous_secret_until) == ("", None)


@pytest.mark.parametrize("who", ["rep", "manager", "intake_key"])
def test_only_revops_manage_subscriptions(who):
    rep = RepFactory()
    manager = RepFactory(team=rep.team, role="manager")
    subscription = WebhookSubscriptionFactory()
    client = client_as({"rep": rep, "manager": manager}, who)
    assert client.get("/api/webhooks/").status_code == 403
    assert client.post(f"/api/webhooks/{subscription.pk}/rotate/").status_code == 403
    assert client.delete(f"/api/webhooks/{subscription.pk}/").status_code == 403


def test_anonymous_callers_are_refused():
    assert client_as({}, "anonymous").get("/api/webhooks/").status_code in (401, 403)


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", "x" * 101),
        ("name", "bad\x00name"),
        ("url", "ftp://example.com/hook"),
        ("url", "https://example.com/" + "a" * 500),
        ("url", 42),
        ("events", []),
        ("events", "lead.created"),
        ("events", ["lead.nope"]),
        ("events", [{"a": 1}]),
        ("team", 2**70),
        ("team", "x"),
        ("active", "maybe"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(revops_api, field, value):
    data = {"name": "CRM", "url": "https://crm.example.com/hook", "events": ["lead.created"]}
    answer = revops_api.post("/api/webhooks/", data | {field: value}, format="json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json()
    assert not WebhookSubscription.objects.exists()


def test_a_name_in_use_is_a_400(revops_api):
    WebhookSubscriptionFactory(name="CRM")
    answer = revops_api.post(
        "/api/webhooks/",
        {"name": "CRM", "url": "https://crm.example.com/hook", "events": ["lead.created"]},
        format="json",
    )
    assert answer.status_code == 400 and "name" in answer.json()


@pytest.mark.parametrize("grace", [-1, 721, 2**70, "soon", None])
def test_a_bad_grace_period_is_a_400(revops_api, grace):
    subscription = WebhookSubscriptionFactory()
    answer = revops_api.post(
        f"/api/webhooks/{subscription.pk}/rotate/", {"grace_hours": grace}, format="json"
    )
    assert answer.status_code == 400 and "grace_hours" in answer.json()
    assert WebhookSubscription.objects.get().secret == subscription.secret


def test_an_unknown_subscription_is_a_404(revops_api):
    assert revops_api.get("/api/webhooks/999999/").status_code == 404
    assert revops_api.post("/api/webhooks/999999/rotate/").status_code == 404


# --- The OpenAPI document ----------------------------------------------------------------


@pytest.fixture
def schema(revops_api):
    return revops_api.get("/api/schema/", {"format": "json"}).json()


def resolve(schema: dict, node: dict) -> dict:
    """The object a schema node stands for: through $ref, and the allOf that wraps a $ref
    given a description of its own."""
    while "$ref" in node or "allOf" in node:
        if "allOf" in node:
            (node,) = node["allOf"]
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_every_event_is_a_webhook_in_the_openapi_document_with_its_body(schema):
    assert schema["openapi"].startswith("3.1")
    assert set(schema["webhooks"]) == set(Event.values)
    for event in Event.values:
        operation = schema["webhooks"][event]["post"]
        assert "webhook-signature" in operation["description"]
        body = resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])
        assert set(body["properties"]) == {"id", "event", "created_at", "data"}, event
        assert resolve(schema, body["properties"]["data"])["properties"], event


def test_the_documented_lead_and_rep_are_what_deliveries_carry(schema):
    rep = RepFactory()
    lead = LeadFactory()
    assigned = schema["webhooks"]["lead.assigned"]["post"]["requestBody"]["content"]
    body = resolve(schema, assigned["application/json"]["schema"])
    data = resolve(schema, body["properties"]["data"])
    assert set(data["properties"]) == {"lead", "rep", "decision"}
    assert set(resolve(schema, data["properties"]["lead"])["properties"]) == set(lead_data(lead))
    assert set(resolve(schema, data["properties"]["rep"])["properties"]) == set(rep_data(rep))
    changed = schema["webhooks"]["lead.status_changed"]["post"]["requestBody"]["content"]
    data = resolve(
        schema, resolve(schema, changed["application/json"]["schema"])["properties"]["data"]
    )
    assert set(data["properties"]) == {"lead", "from", "to"}


# --- Links to the lead ---------------------------------------------------------------------


def test_emails_and_slack_messages_link_to_the_lead(settings):
    settings.LEADHUB_SITE_URL = "https://leadhub.example.com"
    rep = RepFactory(user=UserFactory(email="ann@example.com"))
    note = Notification(
        channel="email",
        rep=rep,
        event="lead.assigned",
        title="New lead <b>",
        payload={"lead": {"id": 42}},
    )
    assert "Open: https://leadhub.example.com/leads/42/\n" in email_text(note)
    assert slack_text(note) == (
        "New lead &lt;b&gt; (<https://leadhub.example.com/leads/42/|lead #42>)"
    )
    note.payload = {"lead": {"id": "42>|x"}}
    assert slack_text(note) == "New lead &lt;b&gt;"
    assert "Open:" not in email_text(note)
