"""The abuse limits (leadhub.throttles): each answers 429 with Retry-After, each is a
setting, each holds across processes (the last test: two real processes on one PostgreSQL
database), and the hosted forms' honeypot drops a bot's submission silently."""

import json
import logging
import re
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Group
from django.core.cache.backends.db import DatabaseCache
from django.test import Client, override_settings
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from leadhub.leads.forms import HONEYPOT_FIELD
from leadhub.leads.models import IntakeKey, Lead
from leadhub.leads.tests.factories import WebFormFactory
from leadhub.tests.processes import ROOT, worker_env
from leadhub.tests.test_settings import start
from reps.selectors import REVOPS_GROUP
from reps.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ORIGIN = "https://www.example.com"
PASSWORD = "correct horse battery"


def lead(n: int) -> dict[str, str]:
    return {"email": f"visitor{n}@acme.example", "first_name": "Vi", "last_name": f"Sitor{n}"}


def intake_client() -> APIClient:
    key = IntakeKey(name="Website")
    raw = key.set_new_key()
    key.save()
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


def assert_limited(response, *, at_most: int) -> None:
    assert response.status_code == 429, response.content
    assert 1 <= int(response["Retry-After"]) <= at_most


# --- API throttles ----------------------------------------------------------------------


@override_settings(LEADHUB_THROTTLE_TOKEN="3/minute")
def test_the_token_endpoint_answers_429_past_its_rate_per_client_ip():
    api = APIClient()
    tries = [
        api.post("/api/auth/token/", {"username": f"who{n}", "password": "x"}, format="json")
        for n in range(4)
    ]

    assert [r.status_code for r in tries[:3]] == [400, 400, 400]
    assert_limited(tries[3], at_most=60)
    # Another address has its own budget; a forged X-Forwarded-For is not one.
    forged = api.post(
        "/api/auth/token/",
        {"username": "who9", "password": "x"},
        format="json",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert forged.status_code == 429
    other = api.post(
        "/api/auth/token/", {"username": "who9", "password": "x"}, REMOTE_ADDR="198.51.100.7"
    )
    assert other.status_code == 400


@override_settings(LEADHUB_THROTTLE_INTAKE_KEY="2/minute")
def test_intake_with_a_key_answers_429_past_the_keys_rate_and_stores_nothing_more():
    api, other_key = intake_client(), intake_client()

    answers = [api.post("/api/leads/", lead(n), format="json") for n in range(3)]

    assert [r.status_code for r in answers[:2]] == [201, 201]
    assert_limited(answers[2], at_most=60)
    assert Lead.objects.count() == 2
    assert other_key.post("/api/leads/", lead(7), format="json").status_code == 201


@override_settings(LEADHUB_THROTTLE_INTAKE_USER="2/minute")
def test_intake_with_a_users_token_answers_429_past_the_users_rate_reading_still_works():
    user = UserFactory(username="ops", is_superuser=True)
    _token, raw = AuthToken.objects.create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {raw}")

    answers = [api.post("/api/leads/", lead(n), format="json") for n in range(3)]

    assert [r.status_code for r in answers[:2]] == [201, 201]
    assert_limited(answers[2], at_most=60)
    assert api.get("/api/leads/").status_code == 200


@override_settings(LEADHUB_THROTTLE_METRICS="2/minute")
def test_the_metrics_api_answers_429_past_the_users_rate():
    revops = UserFactory(username="rita")
    # A transaction test runs after others flushed the tables: the group its migration made
    # may be gone.
    revops.groups.add(Group.objects.get_or_create(name=REVOPS_GROUP)[0])
    api = APIClient()
    api.force_authenticate(revops)

    answers = [api.get(f"/api/metrics/{name}/") for name in ("workload", "sla", "speed")]

    assert [r.status_code for r in answers[:2]] == [200, 200]
    assert_limited(answers[2], at_most=60)


@override_settings(LEADHUB_THROTTLE_INTAKE_KEY="")
def test_an_empty_rate_turns_the_limit_off():
    api = intake_client()
    assert {api.post("/api/leads/", lead(n), format="json").status_code for n in range(5)} == {201}


def test_a_malformed_rate_stops_the_process_at_start_naming_the_setting():
    result = start(LEADHUB_THROTTLE_METRICS="60 per minute")
    assert result.returncode != 0
    assert "LEADHUB_THROTTLE_METRICS must be like 20/minute" in result.stderr


# --- Sign-in lockout --------------------------------------------------------------------


@pytest.fixture
def signer():
    user = UserFactory(username="sam")
    user.set_password(PASSWORD)
    user.save()
    return user


def token_try(api: APIClient, password: str, **extra: str):
    return api.post(
        "/api/auth/token/", {"username": "sam", "password": password}, format="json", **extra
    )


@override_settings(AXES_FAILURE_LIMIT=3)
def test_the_token_endpoint_locks_a_username_out_after_repeated_failures(signer):
    api = APIClient()
    failures = [token_try(api, "wrong").status_code for _ in range(3)]

    locked = token_try(api, PASSWORD)

    assert failures == [400, 400, 400]
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == 15 * 60
    # The lock is the username from that address: elsewhere the right password works.
    assert token_try(api, PASSWORD, REMOTE_ADDR="198.51.100.7").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert token_try(api, PASSWORD).status_code == 200


@override_settings(AXES_FAILURE_LIMIT=3)
def test_the_sign_in_page_shows_a_lockout_page_with_429_after_repeated_failures(signer):
    client = Client()
    tries = [client.post("/login/", {"username": "sam", "password": "wrong"}) for _ in range(3)]

    locked = client.post("/login/", {"username": "sam", "password": PASSWORD})

    # The failure that reaches the limit already gets the lockout page.
    assert [r.status_code for r in tries] == [200, 200, 429]
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == 15 * 60
    html = locked.content.decode()
    assert "Sign-in locked for now" in html
    assert "After 3 failed sign-ins in a row" in html
    assert "15 minutes" in html
    assert "_auth_user_id" not in client.session


@override_settings(AXES_FAILURE_LIMIT=3)
def test_a_successful_sign_in_clears_the_failures(signer):
    api = APIClient()
    token_try(api, "wrong")
    token_try(api, "wrong")
    assert token_try(api, PASSWORD).status_code == 200
    assert [token_try(api, "wrong").status_code for _ in range(2)] == [400, 400]
    assert token_try(api, PASSWORD).status_code == 200


# --- Hosted forms -----------------------------------------------------------------------


def submit(client: Client, slug: str, n: int, **extra: str):
    return client.post(f"/f/{slug}/submit", lead(n), headers={"Origin": ORIGIN}, **extra)


@override_settings(LEADHUB_FORM_SUBMIT_RATE_PER_IP="2/hour")
def test_form_submissions_past_the_per_ip_rate_get_429_over_every_form():
    first, second = WebFormFactory(slug="a"), WebFormFactory(slug="b")
    client = Client()

    answers = [submit(client, "a", 1), submit(client, "b", 2), submit(client, "a", 3)]

    assert [r.status_code for r in answers[:2]] == [201, 201]
    assert_limited(answers[2], at_most=3600)
    assert "Too many submissions" in answers[2].json()["error"]
    assert answers[2]["Access-Control-Allow-Origin"] == ORIGIN
    assert Lead.objects.count() == 2
    # The hosted page's own POST counts too, and a person gets a page, not JSON.
    page = client.post(f"/f/{first.slug}/", lead(4))
    assert page.status_code == 429
    assert "Try again in" in page.content.decode()
    assert int(page["Retry-After"]) >= 1
    assert submit(client, second.slug, 5, REMOTE_ADDR="198.51.100.7").status_code == 201


@override_settings(LEADHUB_FORM_SUBMIT_RATE_PER_FORM="2/hour")
def test_form_submissions_past_the_per_form_rate_get_429_whatever_their_ip():
    WebFormFactory(slug="a")
    WebFormFactory(slug="b")
    client = Client()

    answers = [submit(client, "a", n, REMOTE_ADDR=f"198.51.100.{n}") for n in range(3)]

    assert [r.status_code for r in answers[:2]] == [201, 201]
    assert_limited(answers[2], at_most=3600)
    assert submit(client, "b", 9, REMOTE_ADDR="198.51.100.9").status_code == 201


@override_settings(LEADHUB_FORM_PARTIAL_RATE_PER_IP="2/hour")
def test_partial_saves_past_the_per_ip_rate_get_429_and_store_nothing():
    WebFormFactory(slug="a", capture_partial=True)
    WebFormFactory(slug="b", capture_partial=True)
    client = Client()

    def save(slug: str, field: dict[str, str], **extra: str):
        data = {"lh_session": "s" * 32, **field}
        return client.post(f"/f/{slug}/partial", data, headers={"Origin": ORIGIN}, **extra)

    answers = [save("a", {"email": "ana@initech.com"}), save("b", {"company": "Initech"})]
    refused = save("a", {"first_name": "Ana"})

    assert [r.status_code for r in answers] == [204, 204]
    assert_limited(refused, at_most=3600)
    assert refused["Access-Control-Allow-Origin"] == ORIGIN
    assert not Lead.objects.filter(first_name="Ana").exists()
    # A preflight is not a save, and another address has its own count.
    preflight = client.options("/f/a/partial", headers={"Origin": ORIGIN})
    assert preflight.status_code == 204
    assert save("a", {"first_name": "Ana"}, REMOTE_ADDR="198.51.100.7").status_code == 204


def test_a_page_browser_gets_the_busy_page_from_submit(settings):
    settings.LEADHUB_FORM_SUBMIT_RATE_PER_IP = "1/hour"
    WebFormFactory(slug="a")
    client = Client()
    submit(client, "a", 1)

    busy = submit(client, "a", 2, HTTP_ACCEPT="text/html")

    assert busy.status_code == 429
    assert busy["Content-Type"].startswith("text/html")
    assert "Try again in 60 minutes" in busy.content.decode()


def test_the_honeypot_is_hidden_from_people_screen_readers_keyboards_and_autofill(client):
    WebFormFactory(slug="a")
    html = client.get("/f/a/").content.decode()

    assert (
        '<div class="lh-hp" aria-hidden="true"><label for="lh_lh_homepage">'
        "Leave this field empty</label>"
    ) in html
    tag = re.search(rf'<input[^>]*name="{HONEYPOT_FIELD}"[^>]*>', html).group(0)
    assert 'autocomplete="off"' in tag
    assert 'tabindex="-1"' in tag


@pytest.mark.parametrize("how", ["submit", "submit-page", "hosted-page"])
def test_a_filled_honeypot_is_answered_as_a_success_stores_nothing_and_is_logged(how, caplog):
    webform = WebFormFactory(slug="a", redirect_url="")
    data = {**lead(1), HONEYPOT_FIELD: "http://cheap-pills.example"}
    client = Client()

    with caplog.at_level(logging.INFO, logger="leadhub.leads.views"):
        if how == "hosted-page":
            answer = client.post("/f/a/", data)
        else:
            accept = "text/html" if how == "submit-page" else "application/json"
            answer = client.post("/f/a/submit", data, headers={"Origin": ORIGIN, "Accept": accept})

    if how == "submit":
        assert (answer.status_code, answer.json()) == (201, {"ok": True})
    else:
        assert answer.status_code == 200
        assert webform.success_message in answer.content.decode()
    assert Lead.objects.count() == 0
    assert "honeypot: dropped a submission to form a from 127.0.0.1" in caplog.text


def test_an_empty_honeypot_lets_the_submission_through():
    WebFormFactory(slug="a")
    answer = Client().post(
        "/f/a/submit", {**lead(1), HONEYPOT_FIELD: "  "}, headers={"Origin": ORIGIN}
    )
    assert answer.status_code == 201
    assert Lead.objects.count() == 1


# --- Across processes -------------------------------------------------------------------

# One child process: sends each request of its plan through Django's test client (the whole
# stack, on the database of its environment) and prints [status, Retry-After] for each.
CHILD = """
import json, sys
import django
django.setup()
from rest_framework.test import APIClient
out = []
for req in json.loads(sys.argv[1]):
    api = APIClient()
    headers = {"REMOTE_ADDR": req["ip"], **req.get("headers", {})}
    call = api.post if req["method"] == "POST" else api.get
    response = call(req["path"], req.get("data"), format=req.get("format"), **headers)
    out.append([response.status_code, response.get("Retry-After")])
print(json.dumps(out))
"""


def run_child(plan: list[dict], env: dict[str, str]) -> list[list]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(plan)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_every_limit_holds_across_two_processes():
    """Process A spends part of each budget, process B the rest: B's last request of each
    plan is refused only if B saw A's count (in the shared cache or axes' table)."""
    # The children count in the database cache (worker_env passes no REDIS_URL); a
    # transaction test's flush leaves its table alone.
    shared = DatabaseCache("leadhub_cache", {})
    shared.clear()
    key = IntakeKey(name="Website")
    raw_key = key.set_new_key()
    key.save()
    # The children hash as production does (the tests' MD5 hasher is theirs only).
    signer = UserFactory(username="sam")
    signer.password = PBKDF2PasswordHasher().encode(PASSWORD, "saltsalt", iterations=1000)
    signer.save()
    ops = UserFactory(username="ops", is_superuser=True)
    _token, ops_token = AuthToken.objects.create(user=ops)
    revops = UserFactory(username="rita")
    # A transaction test runs after others flushed the tables: the group its migration made
    # may be gone.
    revops.groups.add(Group.objects.get_or_create(name=REVOPS_GROUP)[0])
    _token, revops_token = AuthToken.objects.create(user=revops)
    for slug in ("f1", "f2", "f3", "f4"):
        WebFormFactory(slug=slug)

    def token(ip: str, username: str, password: str) -> dict:
        data = {"username": username, "password": password}
        return {"method": "POST", "path": "/api/auth/token/", "ip": ip, "data": data}

    def intake(ip: str, n: int, auth: dict) -> dict:
        return {
            "method": "POST",
            "path": "/api/leads/",
            "ip": ip,
            "data": lead(n),
            "format": "json",
            "headers": auth,
        }

    def form(slug: str, ip: str, n: int) -> dict:
        path = f"/f/{slug}/submit"
        headers = {"HTTP_ORIGIN": ORIGIN}
        return {"method": "POST", "path": path, "ip": ip, "data": lead(n), "headers": headers}

    key_auth = {"HTTP_X_API_KEY": raw_key}
    user_auth = {"HTTP_AUTHORIZATION": f"Token {ops_token}"}
    metrics = {
        "method": "GET",
        "path": "/api/metrics/workload/",
        "ip": "10.0.0.5",
        "headers": {"HTTP_AUTHORIZATION": f"Token {revops_token}"},
    }
    # Every rate is 2 (the token endpoint's 3, so that the lockout plan's three tries from
    # one address meet the lock, not the rate): A spends 1, B's second is over.
    plans_a = {
        "token rate": [token("10.0.0.1", "nobody1", "x")],
        "lockout": [token("10.0.0.2", "sam", "wrong")],
        "intake key": [intake("10.0.0.3", 1, key_auth)],
        "intake user": [intake("10.0.0.4", 11, user_auth)],
        "metrics": [metrics],
        "form per IP": [form("f1", "10.0.0.6", 21)],
        "form per form": [form("f4", "10.0.1.1", 31)],
    }
    plans_b = {
        "token rate": [token("10.0.0.1", f"nobody{n}", "x") for n in (2, 3, 4)],
        "lockout": [token("10.0.0.2", "sam", "wrong"), token("10.0.0.2", "sam", PASSWORD)],
        "intake key": [intake("10.0.0.3", 2, key_auth), intake("10.0.0.3", 3, key_auth)],
        "intake user": [intake("10.0.0.4", 12, user_auth), intake("10.0.0.4", 13, user_auth)],
        "metrics": [metrics, metrics],
        "form per IP": [form("f2", "10.0.0.6", 22), form("f3", "10.0.0.6", 23)],
        "form per form": [form("f4", "10.0.1.2", 32), form("f4", "10.0.1.3", 33)],
    }
    env = worker_env(
        LEADHUB_THROTTLE_TOKEN="3/minute",
        LEADHUB_SIGNIN_FAILURE_LIMIT="2",
        LEADHUB_THROTTLE_INTAKE_KEY="2/minute",
        LEADHUB_THROTTLE_INTAKE_USER="2/minute",
        LEADHUB_THROTTLE_METRICS="2/minute",
        LEADHUB_FORM_SUBMIT_RATE_PER_IP="2/hour",
        LEADHUB_FORM_SUBMIT_RATE_PER_FORM="2/hour",
        LEADHUB_ROUTE_AT_CAPTURE="false",
    )
    try:
        flat_a = run_child([req for plan in plans_a.values() for req in plan], env)
        flat_b = run_child([req for plan in plans_b.values() for req in plan], env)
    finally:
        shared.clear()

    assert all(status != 429 for status, _ in flat_a), flat_a
    answers, at = {}, 0
    for name, plan in plans_b.items():
        answers[name] = flat_b[at : at + len(plan)]
        at += len(plan)
    for name, got in answers.items():
        *before, last = got
        assert all(status != 429 for status, _ in before), (name, got)
        assert last[0] == 429 and int(last[1]) >= 1, (name, got)
    assert int(answers["lockout"][-1][1]) == 15 * 60


# --- Bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"username": "x" * 5000, "password": "x"},
        {"username": "sa\x00m", "password": "x"},
        {"username": ["sam"], "password": "x"},
        {"username": 10**30, "password": "x"},
        ["sam", "x"],
    ],
    ids=["overlong", "nul", "list", "huge-int", "not-an-object"],
)
@override_settings(AXES_FAILURE_LIMIT=2)
def test_bad_sign_in_input_is_a_400_and_locks_nobody_out(signer, body):
    api = APIClient()
    answers = [api.post("/api/auth/token/", body, format="json") for _ in range(3)]

    # A username no sign-in could try is a 400 naming the reason, and is not counted.
    assert [r.status_code for r in answers] == [400, 400, 400], [r.content for r in answers]
    assert all(isinstance(r.json(), dict) for r in answers)
    # Whatever the bad input locked, it was not the real username.
    assert token_try(api, PASSWORD).status_code == 200


@override_settings(LEADHUB_THROTTLE_TOKEN="2/minute", AXES_FAILURE_LIMIT=2)
def test_a_forwarded_for_that_is_no_address_counts_as_the_connections_address(signer):
    """With a proxy configured but none in front, the header is the client's own words."""
    api = APIClient()
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}):
        answers = [
            token_try(api, "wrong", HTTP_X_FORWARDED_FOR=f"not-an-ip-{n}\x00" + "x" * 300)
            for n in range(3)
        ]
    assert [r.status_code for r in answers] == [400, 400, 429]
