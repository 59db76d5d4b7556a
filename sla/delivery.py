"""Sending one outbox row over its channel. No database writes here: ``outbox_deliver``
claims the row, calls ``send`` and records what happened.

Slack and webhooks use urllib (no new dependency) with a short timeout
(LEADHUB_OUTBOX_TIMEOUT_SECONDS), so a slow endpoint costs one worker a few seconds and
never anyone else: each row is its own task.
"""

import hashlib
import hmac
import json
import re
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail

from sla.models import Notification

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


def email_text(note: Notification) -> str:
    lines = [note.title, ""]
    lead = note.payload.get("lead") or {}
    name = f"{lead.get('first_name', '')} {lead.get('last_name', '')}".strip()
    for label, value in [
        ("Lead", f"#{lead['id']}" if lead.get("id") else ""),
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
    lead = note.payload.get("lead") or {}
    title = slack_escape(note.title)
    return f"{title} (lead #{lead['id']})" if lead.get("id") else title


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
    """The X-LeadHub-Signature value: a receiver recomputes it over the raw body with the
    subscription's secret and compares with hmac.compare_digest."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_webhook(note: Notification) -> None:
    subscription = note.subscription
    if subscription is None or not subscription.active:
        raise Undeliverable("The subscription was switched off.")
    body = webhook_body(note)
    post_json(
        subscription.url,
        body,
        {
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
