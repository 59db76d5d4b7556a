"""Concurrent intake on PostgreSQL: the unique partial indexes, not luck, keep one lead per
person and one lead per Idempotency-Key.

Each request runs in its own thread with its own APIClient and its own database connection,
released together by a barrier, through the real endpoint with token authentication. Every
scenario runs a few rounds with fresh data so that the race is likely to be hit.
"""

import threading
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from knox.models import AuthToken
from rest_framework.test import APIClient

from leadhub.leads.models import IdempotencyRecord, Lead, LeadEvent
from reps.tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8
ROUNDS = 3
BARRIER_TIMEOUT = 30
JOIN_TIMEOUT = 60


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    outcome: str


@pytest.fixture
def token() -> str:
    user = UserFactory(username="intake-bot", is_staff=True)
    return AuthToken.objects.create(user=user)[1]


def fire(token: str, payloads: list[dict[str, Any]], key: str = "") -> list[Reply]:
    """POST every payload at once, one thread each; return the replies in payload order.

    A server error is re-raised by the test client inside the thread; it is collected and
    fails the test here, like a timeout at the barrier or a thread that never finishes.
    """
    barrier = threading.Barrier(len(payloads))
    replies: list[Reply | None] = [None] * len(payloads)
    errors: list[BaseException] = []
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}

    def post(index: int) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            # Connect before the barrier so connection set-up does not stagger the requests.
            connection.ensure_connection()
            barrier.wait(timeout=BARRIER_TIMEOUT)
            response = client.post("/api/leads/", payloads[index], format="json", **headers)
            replies[index] = Reply(
                response.status_code, response.json(), response.get("X-LeadHub-Outcome", "")
            )
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            # Each thread has its own connection; an open one would block the test teardown.
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(payloads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    assert not errors, f"requests failed: {errors!r}"
    assert all(reply is not None for reply in replies)
    return [reply for reply in replies if reply is not None]


def summary(replies: list[Reply]) -> list[tuple[int, str]]:
    return sorted((reply.status, reply.outcome) for reply in replies)


def one_created_and_the_rest(outcome: str) -> list[tuple[int, str]]:
    return [(200, outcome)] * (THREADS - 1) + [(201, "created")]


def resubmissions(lead_id: int) -> int:
    return LeadEvent.objects.filter(lead_id=lead_id, kind=LeadEvent.Kind.RESUBMITTED).count()


def test_same_idempotency_key_eight_times_at_once_creates_one_lead_and_replays_it(token):
    for round_ in range(ROUNDS):
        email = f"retry-{round_}@initech.com"
        key = f"retry-{round_}-{uuid.uuid4()}"
        payload = {"email": email, "company": "Initech", "country": "DE"}

        replies = fire(token, [payload] * THREADS, key=key)

        assert summary(replies) == one_created_and_the_rest("replayed"), round_
        lead = Lead.objects.get(email=email)
        assert {reply.body["id"] for reply in replies} == {lead.pk}, round_
        # Replays write nothing: one capture, no resubmission (routing may add its own).
        kinds = list(lead.events.values_list("kind", flat=True))
        assert kinds.count("captured") == 1 and "resubmitted" not in kinds, round_
        assert IdempotencyRecord.objects.filter(key=key, lead=lead).count() == 1, round_
    assert Lead.objects.count() == ROUNDS


def test_same_email_eight_times_at_once_creates_one_lead_and_seven_resubmissions(token):
    for round_ in range(ROUNDS):
        email = f"twin-{round_}@initech.com"
        # Mixed case: the unique index is on lower(email), and dedupe must agree with it.
        payloads = [
            {"email": email.upper() if i % 2 else email, "company": "Initech", "country": "DE"}
            for i in range(THREADS)
        ]

        replies = fire(token, payloads)

        assert summary(replies) == one_created_and_the_rest("duplicate"), round_
        lead = Lead.objects.get(email__iexact=email)
        assert {reply.body["id"] for reply in replies} == {lead.pk}, round_
        assert resubmissions(lead.pk) == THREADS - 1, round_
    assert Lead.objects.count() == ROUNDS


@pytest.mark.parametrize("with_emails", [False, True], ids=["phone-only", "different-emails"])
def test_same_phone_written_differently_at_once_creates_one_lead(token, with_emails):
    for round_ in range(ROUNDS):
        line = f"555 26{round_}1"
        spellings = [f"+1 415 {line}", f"(415) {line[:3]}-{line[4:]}"]
        payloads = [
            {
                "phone": spellings[i % 2],
                "country": "US",
                "company": "Initech",
                **({"email": f"p{round_}-{i}@initech.com"} if with_emails else {}),
            }
            for i in range(THREADS)
        ]

        replies = fire(token, payloads)

        assert summary(replies) == one_created_and_the_rest("duplicate"), round_
        lead = Lead.objects.get(phone=f"+1415{line.replace(' ', '')}")
        assert {reply.body["id"] for reply in replies} == {lead.pk}, round_
        assert resubmissions(lead.pk) == THREADS - 1, round_
    assert Lead.objects.count() == ROUNDS


def test_different_people_at_once_all_get_their_own_lead(token):
    for round_ in range(ROUNDS):
        payloads = [
            {"email": f"crowd-{round_}-{i}@initech.com", "company": "Initech", "country": "DE"}
            for i in range(THREADS)
        ]

        replies = fire(token, payloads)

        assert summary(replies) == [(201, "created")] * THREADS, round_
        assert len({reply.body["id"] for reply in replies}) == THREADS, round_
    assert Lead.objects.count() == THREADS * ROUNDS
    assert not LeadEvent.objects.filter(kind=LeadEvent.Kind.RESUBMITTED).exists()
