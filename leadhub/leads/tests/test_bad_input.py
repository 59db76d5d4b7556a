"""Bad input never breaks LeadHub (issue 12): every channel answers a 400 that names the
field and the reason, and stores nothing half-written. The property tests at the end throw
arbitrary JSON-like payloads at ``clean_lead_data`` and store whatever it accepts."""

import json
import math

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadhub.leads.bodies import too_large_reason
from leadhub.leads.intake import (
    LEAD_FIELDS,
    MAX_CUSTOM_DEPTH,
    TOO_DEEP,
    LeadDataError,
    clean_lead_data,
    max_lengths,
)
from leadhub.leads.models import Channel, Lead, LeadEvent
from leadhub.leads.services import lead_capture
from leadhub.leads.tests.clients import client_as
from leadhub.leads.tests.factories import WebFormFactory

pytestmark = pytest.mark.django_db

ALLOWED = "https://www.example.com"
SESSION = "s" * 43
OK = {"email": "ana@initech.com", "company": "Initech", "country": "DE"}
NOT_AMOUNTS = ["NaN", "nan", "-nan", "NaNk", "sNaN", "Infinity", "inf", "-inf", "Infinityk"]
# Every single-line text column of a lead and its length, as the model says.
COLUMNS = {
    f.name: f.max_length
    for f in Lead._meta.get_fields()
    if f.name in LEAD_FIELDS
    and getattr(f, "max_length", None)
    and f.get_internal_type() == "CharField"
}


def long_email(length: int) -> str:
    """An address Django's EmailValidator accepts (it allows up to 320 characters)."""
    domain = "@initech.com"
    return "a" * (length - len(domain)) + domain


@pytest.fixture(params=["revops", "intake_key"])
def sender(request, revops_api):
    """A caller of POST /api/leads/: a RevOps user, or a website holding an intake key."""
    return revops_api if request.param == "revops" else client_as({}, "intake_key")


def post_lead(client, data: dict):
    # json.dumps writes lone surrogates as escapes ("\\ud800"), as a sender's JSON would;
    # APIClient's own encoder would fail on them before sending.
    return post_raw(client, json.dumps(data))


def post_raw(client, body: str):
    return client.post("/api/leads/", body, content_type="application/json")


def assert_refused(response, field: str, reason: str = "") -> None:
    """A 400 in the API's format, {field: [reasons]}, naming ``field``; nothing stored."""
    assert response.status_code == 400, response.content[:500]
    errors = response.json()
    assert field in errors, errors
    assert all(isinstance(r, str) for r in errors[field])
    assert reason in " ".join(errors[field])
    assert not Lead.objects.exists()
    assert not LeadEvent.objects.exists()


# --- POST /api/leads/ -------------------------------------------------------------------


@pytest.mark.parametrize("length", [255, 300, 320])
def test_email_longer_than_254_characters_is_a_field_error(sender, length):
    response = post_lead(sender, {**OK, "email": long_email(length)})

    assert_refused(response, "email", "At most 254 characters.")


@pytest.mark.parametrize("revenue", NOT_AMOUNTS)
def test_revenue_that_is_not_a_number_is_a_field_error(sender, revenue):
    response = post_lead(sender, {**OK, "annual_revenue": revenue})

    assert_refused(response, "annual_revenue", "Enter an amount")


@pytest.mark.parametrize("revenue", ["1e999", "1e999999999999", "999999999999999k", 1e300])
def test_revenue_beyond_what_the_column_holds_is_a_field_error(sender, revenue):
    response = post_lead(sender, {**OK, "annual_revenue": revenue})

    assert_refused(response, "annual_revenue", "That amount is too large.")


def test_revenue_sent_as_a_json_number_too_large_for_a_float_is_a_field_error(sender):
    response = post_raw(sender, '{"email": "ana@initech.com", "annual_revenue": 1e999}')

    assert_refused(response, "annual_revenue", "Enter an amount")


def test_website_whose_domain_is_longer_than_the_column_is_a_field_error(sender):
    response = post_lead(sender, {**OK, "website": "a" * 250 + ".com"})

    assert_refused(response, "website", "At most 253 characters.")


@pytest.mark.parametrize("field", sorted(COLUMNS))
def test_any_text_longer_than_its_column_is_a_field_error(revops_api, field):
    too_long = "a" * (COLUMNS[field] + 1)
    if field == "email":
        too_long = long_email(COLUMNS[field] + 1)
    elif field == "website":
        too_long = "a" * COLUMNS[field] + ".com"

    response = post_lead(revops_api, {**OK, field: too_long})

    assert_refused(response, field)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pages", ["/pricing\x00"]),
        ("custom", {"plan\x00": "pro"}),
        ("custom", {"plan": "pro\x00"}),
        ("custom", {"plans": [{"name": "\x00"}]}),
        ("company", "Init\x00ech"),
        ("message", "hi\x00there"),
        ("city", "\x00"),
    ],
)
def test_null_character_anywhere_is_a_field_error(sender, field, value):
    response = post_lead(sender, {**OK, field: value})

    assert_refused(response, field, "Null characters are not allowed.")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("company", "\ud800"),
        ("first_name", "Ana\udfff"),
        ("message", "hello \udc00 there"),
        ("pages", ["/pricing\ud800"]),
        ("custom", {"\ud800": "pro"}),
        ("custom", {"plan": "\ud800"}),
        ("custom", {"plan": ["\ud83d"]}),
        ("employees", "5\ud800"),
        ("annual_revenue", "\ud800"),
        ("country", "\ud800"),
    ],
)
def test_lone_surrogate_anywhere_is_a_field_error(sender, field, value):
    response = post_lead(sender, {**OK, field: value})

    assert_refused(response, field, "invalid character")


def test_unknown_field_named_with_a_lone_surrogate_is_reported_in_valid_json(revops_api):
    response = post_lead(revops_api, {**OK, "\ud800x": 1})

    assert response.status_code == 400
    assert list(response.json().values()) == [["Unknown field."]]
    assert not Lead.objects.exists()


def nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [MAX_CUSTOM_DEPTH + 1, 200, 1000, 100_000])
def test_custom_nested_too_deep_is_a_field_error_that_names_the_limit(sender, depth):
    # 1,000 levels and more are past what Python's JSON parser can recurse into.
    response = post_raw(sender, '{"email": "ana@initech.com", "custom": ' + nested(depth) + "}")

    assert_refused(response, "custom", f"nested at most {MAX_CUSTOM_DEPTH} levels deep")


def test_custom_nested_up_to_the_limit_is_stored(revops_api):
    custom = json.loads(nested(MAX_CUSTOM_DEPTH))

    response = post_lead(revops_api, {**OK, "custom": custom})

    assert response.status_code == 201
    assert Lead.objects.get().custom == custom


def test_custom_given_as_json_text_nested_too_deep_is_a_field_error():
    # CSV cells and form fields carry custom as text.
    with pytest.raises(LeadDataError) as refused:
        clean_lead_data({**OK, "custom": nested(100_000)})

    assert refused.value.errors == {"custom": [TOO_DEEP]}


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "1" * 30])
def test_custom_given_as_json_text_with_a_number_json_cannot_keep_is_a_field_error(value):
    with pytest.raises(LeadDataError) as refused:
        clean_lead_data({**OK, "custom": '{"n": ' + value + "}"})

    assert list(refused.value.errors) == ["custom"]


def test_body_nested_too_deep_outside_any_field_is_a_json_400(revops_api):
    response = post_raw(revops_api, "[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [TOO_DEEP]}


def test_custom_too_large_is_a_field_error_that_names_the_limit(sender):
    response = post_lead(sender, {**OK, "custom": {"notes": "x" * 20_000}})

    assert_refused(response, "custom", "At most 16,000 characters of JSON.")


def test_custom_within_the_limits_is_stored_as_sent(revops_api):
    custom = {"plan": "pro", "seats": [1, 2.5, None, True], "deal": {"stage": {"id": 3}}}

    response = post_lead(revops_api, {**OK, "custom": custom})

    assert response.status_code == 201
    assert Lead.objects.get().custom == custom


def test_request_body_over_the_upload_limit_is_a_json_400_on_the_api(revops_api):
    body = json.dumps({**OK, "message": "x" * 10_000_000})

    response = post_raw(revops_api, body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "too large" in " ".join(response.json()["non_field_errors"])
    assert not Lead.objects.exists()


@pytest.mark.parametrize("path", ["/api/reps/", "/api/pools/", "/api/rules/", "/api/auth/token/"])
def test_every_api_path_answers_json_for_a_body_too_large(revops_api, path):
    body = "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = revops_api.post(path, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [too_large_reason()]}


def test_json_nested_too_deep_is_a_400_naming_the_field_on_any_api_path(revops_api):
    body = '{"name": "A", "settings": ' + "[" * 2000 + "]" * 2000 + "}"

    response = revops_api.post("/api/pools/", body, content_type="application/json")

    assert response.status_code == 400
    assert "settings" in response.json()


def test_control_characters_in_a_name_are_removed_at_intake(sender):
    response = post_lead(
        sender,
        {
            **OK,
            "first_name": "Ana\r\nBcc: x@evil.example",
            "last_name": "Ru\x07iz\t",
            "company": "Init\u2028ech\x1b",
            "message": "Line one\r\nLine two\x0c\n\tindented",
        },
    )

    assert response.status_code == 201
    lead = Lead.objects.get()
    assert lead.first_name == "Ana Bcc: x@evil.example"
    assert lead.last_name == "Ruiz"
    assert lead.company == "Init ech"
    # The message keeps its line breaks and tabs, in one form.
    assert lead.message == "Line one\nLine two\n\tindented"


# --- The hosted web forms ---------------------------------------------------------------


@pytest.fixture
def webform():
    return WebFormFactory(
        slug="contact",
        fields=["email", "first_name", "company", "website", "annual_revenue", "message"],
        capture_partial=True,
    )


def submit(client, data):
    return client.post("/f/contact/submit", data, headers={"Origin": ALLOWED})


def partial(client, data):
    return client.post("/f/contact/partial", {"lh_session": SESSION, **data})


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("email", long_email(255), "At most 254 characters."),
        ("email", long_email(320), "At most 254 characters."),
        ("annual_revenue", "NaN", "Enter an amount"),
        ("annual_revenue", "Infinity", "Enter an amount"),
        ("annual_revenue", "1e999", "That amount is too large."),
        ("website", "a" * 250 + ".com", "At most 253 characters."),
        ("company", "a" * 201, "At most 200 characters."),
    ],
)
def test_form_submit_refuses_bad_input_with_a_json_field_error(
    client, webform, field, value, reason
):
    response = submit(client, {"email": "ana@initech.com", field: value})

    assert response.status_code == 400
    assert reason in " ".join(response.json()["errors"][field])
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("email", long_email(300), "At most 254 characters."),
        ("annual_revenue", "nan", "Enter an amount"),
        ("website", "a" * 250 + ".com", "At most 253 characters."),
    ],
)
def test_form_partial_names_the_bad_field_and_keeps_the_good_ones(
    client, webform, field, value, reason
):
    response = partial(client, {"company": "Initech", field: value})

    assert response.status_code == 400
    assert reason in " ".join(response.json()["errors"][field])
    lead = Lead.objects.get()
    assert (lead.company, lead.is_partial) == ("Initech", True)


def test_hosted_form_shows_a_too_long_email_next_to_the_field(client, webform):
    response = client.post("/f/contact/", {"email": long_email(300)})

    assert response.status_code == 400
    assert "At most 254 characters." in response.content.decode()
    assert not Lead.objects.exists()


def test_form_submit_removes_control_characters_from_a_name(client, webform):
    response = submit(client, {"email": "ana@initech.com", "first_name": "Ana\r\nRuiz\x1b"})

    assert response.status_code == 201
    assert Lead.objects.get().first_name == "Ana Ruiz"


def test_form_submit_over_the_upload_limit_is_a_json_400(client, webform):
    big = "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = submit(client, {"email": "ana@initech.com", "message": big})

    assert response.status_code == 400
    assert "too large" in " ".join(response.json()["errors"]["non_field_errors"])
    assert not Lead.objects.exists()


def test_plain_html_form_over_the_upload_limit_gets_the_form_again_with_the_reason(client, webform):
    big = "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = client.post(
        "/f/contact/submit",
        {"email": "ana@initech.com", "message": big},
        headers={"Origin": ALLOWED, "Accept": "text/html"},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert too_large_reason() in html
    assert 'name="lh_session"' in html
    assert not Lead.objects.exists()


def test_form_partial_over_the_upload_limit_is_a_json_400(client, webform):
    big = "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = partial(client, {"message": big})

    assert response.status_code == 400
    assert "too large" in " ".join(response.json()["errors"]["non_field_errors"])
    assert not Lead.objects.exists()


def test_hosted_form_over_the_upload_limit_is_a_readable_page(client, webform):
    big = "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = client.post("/f/contact/", {"email": "ana@initech.com", "message": big})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "too\n  large" in html
    assert f"at most {django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 2**20:g} MB" in html
    assert not Lead.objects.exists()


# --- Properties of the intake cleaning ----------------------------------------------------

# Text with any code point, lone surrogates and NUL included, and text meant for a parser.
any_text = st.text(st.characters(codec=None, min_codepoint=0), max_size=30)
tricky_text = st.sampled_from(
    [
        *["", " ", "NaN", "-nan", "NaNk", "Infinity", "1e999", "-1", "$1.2M", "51-200"],
        *["ana@initech.com", "a\x00@b.co", "Germany", "de", "Europe/Berlin", "\ud800"],
        *["a\r\nb", "a" * 255 + ".com", "a" * 250 + "@initech.com", "x" * 10_001],
    ]
)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | any_text | tricky_text
json_like = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(any_text | tricky_text, children, max_size=4)
    ),
    max_leaves=12,
)
payloads = st.dictionaries(
    st.sampled_from(LEAD_FIELDS) | any_text, json_like | tricky_text, max_size=10
)


def clean_or_none(raw: dict, **kwargs) -> dict | None:
    try:
        return clean_lead_data(raw, **kwargs)
    except LeadDataError as exc:
        json.dumps(exc.errors).encode()  # the errors themselves can be sent back
        return None


@settings(max_examples=200, deadline=None)
@given(payloads, st.booleans(), st.sampled_from(["error", "custom"]))
def test_cleaning_any_json_like_payload_raises_nothing_but_lead_data_error(raw, partial, unknown):
    clean_or_none(raw, partial=partial, unknown=unknown)


def no_bad_text(value) -> bool:
    if isinstance(value, str):
        return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(no_bad_text(v) for v in value)
    if isinstance(value, dict):
        return all(no_bad_text(k) and no_bad_text(v) for k, v in value.items())
    return True


def same_json(stored, sent) -> bool:
    """Equal as JSON values: PostgreSQL's jsonb keeps a number as the decimal it was sent
    as, so a float past 2**53 (1.2345678901234567e+25) comes back as the integer that
    decimal spells, not as the nearest float: the same number, to a float's precision."""
    if isinstance(sent, dict):
        return (
            isinstance(stored, dict)
            and stored.keys() == sent.keys()
            and all(same_json(stored[k], v) for k, v in sent.items())
        )
    if isinstance(sent, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(sent)
            and all(same_json(a, b) for a, b in zip(stored, sent, strict=True))
        )
    if isinstance(sent, float) and not isinstance(stored, bool):
        return isinstance(stored, int | float) and math.isclose(stored, sent, rel_tol=1e-15)
    return stored == sent and type(stored) is type(sent)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payloads, st.sampled_from(["error", "custom"]))
def test_whatever_cleaning_accepts_can_be_stored(db, raw, unknown):
    data = {**raw, "email": "ana@initech.com"}
    cleaned = clean_or_none(data, unknown=unknown)
    if cleaned is None:
        return
    assert no_bad_text(cleaned)
    for name, limit in max_lengths().items():
        assert len(cleaned.get(name, "")) <= limit, name
    with transaction.atomic():
        # The whole capture (enrichment, account match, scoring) stores it, as the API would.
        lead = lead_capture(data=data, channel=Channel.API, unknown=unknown).lead
        lead.refresh_from_db()
        assert same_json(lead.custom, cleaned.get("custom", {}))
        assert lead.message == cleaned.get("message", "")
        transaction.set_rollback(True)
