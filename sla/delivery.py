"""Sending one outbox row over its channel. No database writes here: ``outbox_deliver``
claims the row, calls ``send`` and records what happened.

Webhooks are signed per Standard Webhooks (https://www.standardwebhooks.com/):
``webhook-id`` (the outbox row's, the same on every retry), ``webhook-timestamp`` (the
attempt's) and ``webhook-signature`` (one ``v1,<base64>`` per secret in force, space-
separated: the new and the old during a rotation's grace period), made with the
``standardwebhooks`` package receivers verify with. ``X-LeadHub-Signature`` is kept,
deprecated, for one release.

Slack and webhooks use urllib (no new dependency) with a short timeout
(LEADHUB_OUTBOX_TIMEOUT_SECONDS), so a slow endpoint costs one worker a few seconds and
never anyone else: each row is its own task.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook

from sla.models import SECRET_PREFIX, Notification, WebhookSubscription

USER_AGENT = "LeadHub-Outbox/1"
# Of an endpoint's error response, enough to recognise it in the admin.
ERROR_BODY_CHARS = 300
# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Slack reads &, < and > as mrkdwn control characters (<!channel>, <url|text>): these three,
# and only these, are escaped (https://api.slack.com/reference/surfaces/formatting).
SLACK_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


class DeliveryError(Exception):
    """The attempt failed; a later one may succeed."""


class Undeliverable(DeliveryError):
    """No later attempt can succeed (the subscription is gone or switched off)."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirected POST would be replayed as a GET without its body (and its signature
    # would then vouch for another URL): a 3xx is a failed attempt like any other non-2xx.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def send(note: Notification) -> None:
    """Deliver ``note``; DeliveryError (or Undeliverable) when it was not delivered."""
    if note.channel == Notification.Channel.EMAIL:
        send_email(note)
    elif note.channel == Notification.Channel.SLACK:
        post_json(note.address, json.dumps({"text": slack_text(note)}).encode())
    elif note.channel == Notification.Channel.WEBHOOK:
        send_webhook(note)
    else:
        raise Undeliverable(f"Nothing to send on the {note.channel} channel.")


def send_email(note: Notification) -> None:
    send_mail(
        subject=email_subject(note.title),
        message=email_text(note),
        from_email=None,
        recipient_list=[note.address],
    )


def email_subject(title: str) -> str:
    """The title on one line: a lead's name must never start a header of its own."""
    return CONTROL_CHARACTERS.sub(" ", title).strip()


def lead_url(lead_id: int) -> str:
    """The lead's page, absolute: LEADHUB_SITE_URL and the page's path."""
    return settings.LEADHUB_SITE_URL.rstrip("/") + reverse("web:lead", args=[lead_id])


def _lead_id(note: Notification) -> int | None:
    lead_id = (note.payload.get("lead") or {}).get("id")
    return lead_id if isinstance(lead_id, int) and not isinstance(lead_id, bool) else None


def email_text(note: Notification) -> str:
    lines = [note.title, ""]
    lead = note.payload.get("lead") or {}
    lead_id = _lead_id(note)
    name = f"{lead.get('first_name', '')} {lead.get('last_name', '')}".strip()
    for label, value in [
        ("Lead", f"#{lead_id}" if lead_id else ""),
        ("Open", lead_url(lead_id) if lead_id else ""),
        ("Name", name),
        ("Email", lead.get("email")),
        ("Phone", lead.get("phone")),
        ("Company", lead.get("company")),
        ("Source", lead.get("source")),
    ]:
        if value:
            lines.append(f"{label}: {value}")
    return "\n".join(lines) + "\n"


def slack_escape(text: str) -> str:
    """Text shown as written in a Slack message: no mention, no link, no disguised URL."""
    return text.translate(SLACK_ESCAPES)


def slack_text(note: Notification) -> str:
    """The title, and a link to the lead's page (Slack's ``<url|text>``)."""
    lead_id = _lead_id(note)
    title = slack_escape(note.title)
    if lead_id is None:
        return title
    return f"{title} (<{slack_escape(lead_url(lead_id))}|lead #{lead_id}>)"


def webhook_body(note: Notification) -> bytes:
    """The exact bytes that are signed and sent."""
    body: dict[str, Any] = {
        "id": note.pk,
        "event": note.event,
        "created_at": note.created_at.isoformat(),
        "data": note.payload,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, body: bytes) -> str:
    """The deprecated X-LeadHub-Signature value: HMAC-SHA256 of the raw body keyed with the
    subscription's secret string as shown (``whsec_`` included). Removed next release."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: the base64 after ``whsec_`` (Standard Webhooks), or, for a
    secret from before them (no prefix), its own bytes."""
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode()
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise Undeliverable("The subscription's secret is not valid base64.") from exc


def secrets_in_force(subscription: WebhookSubscription, at: datetime) -> list[str]:
    """The secrets that sign a delivery at ``at``: the current one, and the one a rotation
    replaced while its grace period lasts."""
    secrets = [subscription.secret]
    until = subscription.previous_secret_until
    if subscription.previous_secret and until is not None and at < until:
        secrets.append(subscription.previous_secret)
    return secrets


def webhook_id(note: Notification) -> str:
    """The message id receivers deduplicate on: the outbox row's, so every retry (and an
    admin re-send) of one delivery carries the same."""
    return f"msg_{note.pk}"


def standard_headers(
    subscription: WebhookSubscription, msg_id: str, body: bytes, at: datetime
) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt at ``at``."""
    stamp = datetime.fromtimestamp(int(at.timestamp()), tz=UTC)
    text = body.decode()
    signatures = [
        Webhook(signing_key(secret)).sign(msg_id=msg_id, timestamp=stamp, data=text)
        for secret in secrets_in_force(subscription, at)
    ]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def send_webhook(note: Notification) -> None:
    subscription = note.subscription
    if subscription is None or not subscription.active:
        raise Undeliverable("The subscription was switched off.")
    body = webhook_body(note)
    post_json(
        subscription.url,
        body,
        {
            **standard_headers(subscription, webhook_id(note), body, timezone.now()),
            "X-LeadHub-Event": note.event,
            "X-LeadHub-Delivery": str(note.pk),
            "X-LeadHub-Signature": signature(subscription.secret, body),
        },
    )


def post_json(url: str, body: bytes, headers: dict[str, str] | None = None) -> None:
    """POST ``body`` to ``url``; DeliveryError unless the answer is a 2xx in time."""
    if urlsplit(url).scheme not in {"http", "https"}:
        raise Undeliverable(f"Not an http(s) URL: {url[:100]}")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})},
    )
    try:
        with _opener.open(request, timeout=settings.LEADHUB_OUTBOX_TIMEOUT_SECONDS):
            return  # urllib raises HTTPError for anything but a 2xx
    except urllib.error.HTTPError as exc:
        detail = exc.read(ERROR_BODY_CHARS).decode(errors="replace").strip()
        raise DeliveryError(f"HTTP {exc.code}: {detail}".rstrip(": ")) from exc
    except urllib.error.URLError as exc:
        raise DeliveryError(f"{type(exc.reason).__name__}: {exc.reason}") from exc
    except (TimeoutError, OSError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
