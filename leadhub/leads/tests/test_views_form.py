import re

import pytest
from django.test import Client

from leadhub.leads.forms import LABELS
from leadhub.leads.intake import FORM_FIELDS
from leadhub.leads.models import Lead, LeadEvent
from leadhub.leads.tests.factories import LeadFactory, WebFormFactory

pytestmark = pytest.mark.django_db

ALLOWED = "https://www.example.com"
FOREIGN = "https://evil.example.net"
SESSION = "s" * 43
OTHER_SESSION = "t" * 43


@pytest.fixture
def webform():
    return WebFormFactory(slug="contact")


def page_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} in the page"
    return match.group(1)


def field_errors(html: str, name: str) -> list[str]:
    """The messages shown next to one field of the page."""
    match = re.search(rf'<ul class="lh-errors" id="lh_{name}_error">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []


def partial(client, data, *, slug="contact", **headers):
    return client.post(f"/f/{slug}/partial", data, headers=headers)


def submit(client, data, *, slug="contact", origin=ALLOWED, **headers):
    if origin:
        headers["Origin"] = origin
    return client.post(f"/f/{slug}/submit", data, headers=headers)


# --- The hosted page ------------------------------------------------------------------


def test_form_page_shows_every_field_with_a_label_and_a_fresh_session_token(client, webform):
    first = client.get("/f/contact/")
    second = client.get("/f/contact/")

    html = first.content.decode()
    assert first.status_code == 200
    for name in webform.fields:
        assert f'<label for="lh_{name}">{LABELS[name]}' in html
        assert f'id="lh_{name}"' in html
    token = page_value(html, "lh_session")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert token != page_value(second.content.decode(), "lh_session")
    assert page_value(html, "csrfmiddlewaretoken")
    # A cached page would hand every visitor the same session, merging their partial leads.
    assert "no-store" in first["Cache-Control"]


def test_required_fields_are_marked_in_words_not_only_colour(client):
    WebFormFactory(slug="contact", fields=["email", "company"], required_fields=["email"])

    html = client.get("/f/contact/").content.decode()

    assert '<label for="lh_email">Email address <span class="lh-required">(required)</span>' in html
    assert '<label for="lh_company">Company</label>' in html
    assert re.search(r'<input type="email" name="email"[^>]* required', html)


def test_every_field_a_form_may_show_has_a_label(client):
    WebFormFactory(slug="contact", fields=list(FORM_FIELDS), required_fields=[])

    html = client.get("/f/contact/").content.decode()

    for name in FORM_FIELDS:
        assert f'<label for="lh_{name}">{LABELS[name]}</label>' in html


def test_utm_parameters_of_the_link_ride_along_hidden_and_reach_the_lead(client, webform):
    html = client.get("/f/contact/?utm_source=newsletter&utm_campaign=spring").content.decode()

    assert '<input type="hidden" name="utm_source" value="newsletter"' in html
    assert '<input type="hidden" name="utm_campaign" value="spring"' in html
    response = client.post(
        "/f/contact/",
        {"email": "ana@initech.com", "utm_source": "newsletter", "utm_campaign": "spring"},
    )
    assert response.status_code == 200
    lead = Lead.objects.get()
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == ("newsletter", "", "spring")


def test_a_utm_field_the_form_shows_is_not_repeated_as_a_hidden_field(client):
    WebFormFactory(slug="contact", fields=["email", "utm_source"])

    html = client.get("/f/contact/?utm_source=ads").content.decode()

    assert html.count('name="utm_source"') == 1
    assert '<input type="text" name="utm_source" value="ads"' in html


@pytest.mark.parametrize("path", ["/f/nope/", "/f/gone/"])
def test_unknown_or_inactive_form_is_not_found(client, path):
    WebFormFactory(slug="gone", active=False)

    assert client.get(path).status_code == 404
    assert client.post(path, {"email": "ana@initech.com"}).status_code == 404
    assert Lead.objects.count() == 0


# --- Submitting the hosted form --------------------------------------------------------


def test_submission_creates_a_form_lead_with_the_forms_source_and_a_captured_event(client, webform):
    response = client.post(
        "/f/contact/",
        {"email": "Ana@Initech.com", "first_name": "Ana", "company": "Initech", "country": "US"},
    )

    assert response.status_code == 200
    assert "Thanks! We will be in touch shortly." in response.content.decode()
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.company) == ("ana@initech.com", "Ana", "Initech")
    assert (lead.channel, lead.source, lead.form, lead.is_partial) == (
        "form",
        "contact_form",
        webform,
        False,
    )
    assert list(lead.events.values_list("kind", flat=True)) == ["captured"]


def test_submission_redirects_with_303_to_the_forms_redirect_url(client):
    WebFormFactory(slug="contact", redirect_url="https://www.example.com/thanks")

    response = client.post("/f/contact/", {"email": "ana@initech.com"})

    assert response.status_code == 303
    assert response["Location"] == "https://www.example.com/thanks"
    assert Lead.objects.count() == 1


def test_missing_required_field_is_refused_with_400_and_nothing_is_stored(client):
    WebFormFactory(
        slug="contact", fields=["email", "phone", "company"], required_fields=["company"]
    )

    response = client.post("/f/contact/", {"email": "ana@initech.com", "company": "  "})

    html = response.content.decode()
    assert response.status_code == 400
    assert field_errors(html, "company") == ["This field is required."]
    assert 'value="ana@initech.com"' in html
    assert Lead.objects.count() == 0


def test_invalid_email_is_refused_next_to_the_field_with_values_kept_and_nothing_stored(
    client, webform
):
    response = client.post(
        "/f/contact/", {"email": "ana@", "company": "Initech", "lh_session": SESSION}
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert field_errors(html, "email") == ["Enter a valid email address."]
    assert 'aria-describedby="lh_email_error"' in html
    assert 'value="Initech"' in html
    # The same session is kept, so a partial lead can still be completed by the retry.
    assert page_value(html, "lh_session") == SESSION
    assert Lead.objects.count() == 0
    assert LeadEvent.objects.count() == 0


def test_a_missing_required_field_and_a_bad_email_are_reported_together(client):
    WebFormFactory(
        slug="contact", fields=["email", "company", "country"], required_fields=["company"]
    )

    response = client.post("/f/contact/", {"email": "ana@", "company": "", "country": "Atlantis"})

    html = response.content.decode()
    assert response.status_code == 400
    assert field_errors(html, "company") == ["This field is required."]
    assert field_errors(html, "email") == ["Enter a valid email address."]
    assert field_errors(html, "country")
    assert Lead.objects.count() == 0


def test_a_missing_required_field_and_no_way_to_reach_the_person_are_reported_together(client):
    WebFormFactory(
        slug="contact", fields=["email", "phone", "company"], required_fields=["company"]
    )

    response = client.post("/f/contact/", {"email": "", "company": ""})

    html = response.content.decode()
    assert response.status_code == 400
    assert field_errors(html, "company") == ["This field is required."]
    assert field_errors(html, "email") == ["Give an email address or a phone number."]


def test_a_required_email_left_empty_is_not_also_asked_for_a_phone(client):
    WebFormFactory(slug="contact", fields=["email", "company"], required_fields=["email"])

    response = client.post("/f/contact/", {"email": "", "company": "Initech"})

    assert field_errors(response.content.decode(), "email") == ["This field is required."]


def test_form_without_email_needs_a_phone_and_says_so_at_the_top(client):
    WebFormFactory(slug="contact", fields=["phone", "company"], required_fields=[])

    response = client.post("/f/contact/", {"company": "Initech"})

    assert response.status_code == 400
    assert "Email address: Give an email address or a phone number." in response.content.decode()
    assert Lead.objects.count() == 0


def test_null_character_is_a_field_error_not_a_server_error(client, webform):
    response = client.post("/f/contact/", {"email": "ana@initech.com", "message": "hi\x00there"})

    assert response.status_code == 400
    assert field_errors(response.content.decode(), "message") == [
        "Null characters are not allowed."
    ]
    assert Lead.objects.count() == 0


def test_tampered_session_token_is_refused_with_a_clear_error(client, webform):
    response = client.post("/f/contact/", {"email": "ana@initech.com", "lh_session": "a b"})

    assert response.status_code == 400
    assert "Form session: The form session must be 16 to 64 letters" in response.content.decode()
    assert Lead.objects.count() == 0


def test_resubmission_by_an_existing_lead_looks_the_same_as_a_new_lead(client, webform):
    first = client.post("/f/contact/", {"email": "ana@initech.com"})
    again = client.post("/f/contact/", {"email": "ANA@initech.com", "company": "Initech"})

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.content == again.content
    lead = Lead.objects.get()
    assert lead.company == "Initech"
    assert list(lead.events.values_list("kind", flat=True)) == ["captured", "resubmitted"]


def test_hosted_form_refuses_a_post_without_csrf_token():
    WebFormFactory(slug="contact")
    client = Client(enforce_csrf_checks=True)

    refused = client.post("/f/contact/", {"email": "ana@initech.com"})
    page = client.get("/f/contact/").content.decode()
    accepted = client.post(
        "/f/contact/",
        {
            "email": "ana@initech.com",
            "lh_session": page_value(page, "lh_session"),
            "csrfmiddlewaretoken": page_value(page, "csrfmiddlewaretoken"),
        },
    )

    assert refused.status_code == 403
    assert accepted.status_code == 200
    assert Lead.objects.count() == 1


def test_form_name_success_message_and_typed_values_are_escaped(client):
    WebFormFactory(
        slug="contact",
        name="<script>alert('name')</script>",
        success_message="<script>alert('thanks')</script>",
    )

    page = client.get("/f/contact/").content.decode()
    shown_again = client.post(
        "/f/contact/", {"email": "x", "company": '"><script>alert(1)</script>'}
    ).content.decode()
    thanks = client.post("/f/contact/", {"email": "ana@initech.com"}).content.decode()

    for html in (page, shown_again, thanks):
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;" in html
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in shown_again
    assert "&lt;script&gt;alert(&#x27;thanks&#x27;)&lt;/script&gt;" in thanks


# --- Partial submissions ---------------------------------------------------------------


def test_two_partial_posts_with_one_session_make_one_partial_lead_with_both_fields(client, webform):
    first = partial(client, {"lh_session": SESSION, "email": "ana@initech.com"})
    second = partial(client, {"lh_session": SESSION, "company": "Initech"})

    assert (first.status_code, second.status_code) == (204, 204)
    lead = Lead.objects.get()
    assert (lead.email, lead.company, lead.is_partial) == ("ana@initech.com", "Initech", True)
    assert (lead.channel, lead.source, lead.form_session) == ("form", "contact_form", SESSION)
    assert list(lead.events.values_list("kind", flat=True)) == [
        "partial_captured",
        "partial_updated",
    ]


def test_an_abandoned_partial_lead_keeps_the_campaign_it_came_from(client, webform):
    response = partial(
        client,
        {
            "lh_session": SESSION,
            "email": "ana@initech.com",
            "utm_source": "linkedin",
            "utm_campaign": "q4-launch",
        },
    )

    assert response.status_code == 204
    lead = Lead.objects.get()
    assert (lead.is_partial, lead.utm_source, lead.utm_campaign) == (True, "linkedin", "q4-launch")


def test_final_submission_completes_the_partial_lead_instead_of_adding_one(client, webform):
    partial(client, {"lh_session": SESSION, "email": "ana@initech.com"})
    partial(client, {"lh_session": SESSION, "company": "Initech"})
    started = Lead.objects.get()

    response = client.post(
        "/f/contact/",
        {"lh_session": SESSION, "email": "ana@initech.com", "company": "Initech", "country": "DE"},
    )

    assert response.status_code == 200
    lead = Lead.objects.get()
    assert lead.pk == started.pk
    assert (lead.is_partial, lead.country, lead.company) == (False, "DE", "Initech")
    assert lead.events.filter(kind="completed").count() == 1
    assert not lead.events.filter(kind="captured").exists()


def test_a_field_cleared_before_the_final_submission_is_cleared_on_the_lead(client, webform):
    partial(client, {"lh_session": SESSION, "email": "ana@initech.com", "company": "Initech"})

    client.post("/f/contact/", {"lh_session": SESSION, "email": "ana@initech.com", "company": ""})

    lead = Lead.objects.get()
    assert (lead.company, lead.is_partial) == ("", False)


def test_partial_with_the_email_of_an_open_lead_creates_no_partial_lead(client, webform):
    existing = LeadFactory(email="ana@initech.com")

    response = partial(client, {"lh_session": SESSION, "email": "ana@initech.com"})

    assert response.status_code == 204
    assert list(Lead.objects.all()) == [existing]


def test_partial_keeps_the_valid_fields_and_names_the_invalid_ones(client, webform):
    response = partial(
        client, {"lh_session": SESSION, "email": "ana@", "company": "Initech", "country": "US"}
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["email"]
    lead = Lead.objects.get()
    assert (lead.email, lead.company, lead.country, lead.is_partial) == ("", "Initech", "US", True)


def test_partial_ignores_fields_the_form_does_not_show(client, webform):
    response = partial(
        client, {"lh_session": SESSION, "company": "Initech", "title": "CTO", "status": "junk"}
    )

    assert response.status_code == 204
    lead = Lead.objects.get()
    assert (lead.company, lead.title, lead.status) == ("Initech", "", "new")


def test_partial_is_not_found_when_the_form_does_not_capture_partials(client):
    WebFormFactory(slug="contact", capture_partial=False)

    response = partial(client, {"lh_session": SESSION, "company": "Initech"})

    assert response.status_code == 404
    assert Lead.objects.count() == 0


@pytest.mark.parametrize(
    "token",
    ["", "short", "x" * 65, "has spaces in it ok", "dots.are.not.url.safe", "<script>xx</script>"],
)
def test_partial_session_token_must_be_16_to_64_url_safe_characters(client, webform, token):
    response = partial(client, {"lh_session": token, "company": "Initech"})

    assert response.status_code == 400
    assert "lh_session" in response.json()["errors"]
    assert Lead.objects.count() == 0


def test_partial_session_token_of_64_url_safe_characters_is_accepted(client, webform):
    token = "aZ09-_" * 10 + "abcd"

    assert partial(client, {"lh_session": token, "company": "Initech"}).status_code == 204
    assert Lead.objects.get().form_session == token


def test_late_partial_after_the_final_submission_changes_nothing(client, webform):
    client.post("/f/contact/", {"lh_session": SESSION, "email": "ana@initech.com"})

    response = partial(client, {"lh_session": SESSION, "company": "Late Inc"})

    assert response.status_code == 204
    lead = Lead.objects.get()
    assert (lead.company, lead.is_partial) == ("", False)


def test_partial_without_origin_needs_a_valid_csrf_token(webform):
    client = Client(enforce_csrf_checks=True)

    refused = partial(client, {"lh_session": SESSION, "company": "Initech"})
    page = client.get("/f/contact/").content.decode()
    token = page_value(page, "csrfmiddlewaretoken")
    accepted = partial(
        client, {"lh_session": SESSION, "company": "Initech", "csrfmiddlewaretoken": token}
    )

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]
    assert accepted.status_code == 204
    assert Lead.objects.get().company == "Initech"


def test_partial_from_the_forms_own_site_is_accepted(webform):
    client = Client(enforce_csrf_checks=True)

    response = partial(
        client, {"lh_session": SESSION, "company": "Initech"}, Origin="http://testserver"
    )

    assert response.status_code == 204
    assert Lead.objects.count() == 1


def test_partial_from_an_allowed_origin_is_accepted_with_cors_headers(webform):
    client = Client(enforce_csrf_checks=True)

    response = partial(client, {"lh_session": SESSION, "company": "Initech"}, Origin=ALLOWED)

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in response["Vary"]
    assert Lead.objects.count() == 1


@pytest.mark.parametrize("origin", [FOREIGN, "null", "http://testserver.evil.example", ""])
def test_partial_from_any_other_origin_is_forbidden_and_stores_nothing(client, origin):
    # A blank line in the allowed origins must not let an empty Origin header through.
    WebFormFactory(slug="contact", allowed_origins=f"{ALLOWED}\n\nhttps://shop.example.com")

    response = partial(client, {"lh_session": SESSION, "company": "Initech"}, Origin=origin)

    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert Lead.objects.count() == 0


# --- The endpoint other sites post to ---------------------------------------------------


def test_submit_from_an_allowed_origin_creates_a_lead_and_allows_that_origin(webform):
    client = Client(enforce_csrf_checks=True)

    response = submit(client, {"email": "ana@initech.com", "company": "Initech"})

    assert response.status_code == 201
    assert response.json() == {"ok": True}
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in response["Vary"]
    lead = Lead.objects.get()
    assert (lead.channel, lead.source, lead.form, lead.company) == (
        "form",
        "contact_form",
        webform,
        "Initech",
    )


def test_submit_by_someone_already_an_open_lead_answers_like_a_new_one_and_adds_no_lead(
    client, webform
):
    known = LeadFactory(email="ana@initech.com")

    response = submit(client, {"email": "ana@initech.com"})

    assert (response.status_code, response.json()) == (201, {"ok": True})
    assert Lead.objects.count() == 1
    assert known.events.filter(kind="resubmitted").count() == 1


@pytest.mark.parametrize("origin", [FOREIGN, "https://www.example.com.evil.example", "null"])
def test_submit_from_an_origin_not_allowed_is_forbidden_and_stores_nothing(client, webform, origin):
    response = submit(client, {"email": "ana@initech.com"}, origin=origin)

    assert response.status_code == 403
    assert f"{origin} may not post to this form" in response.json()["error"]
    assert "Access-Control-Allow-Origin" not in response
    assert Lead.objects.count() == 0


def test_submit_without_origin_uses_the_origin_of_the_referer(client, webform):
    allowed = submit(
        client, {"email": "ana@initech.com"}, origin=None, Referer=f"{ALLOWED}/contact?x=1"
    )
    foreign = submit(client, {"email": "bo@initech.com"}, origin=None, Referer=f"{FOREIGN}/")
    anonymous = submit(client, {"email": "cy@initech.com"}, origin=None)

    assert allowed.status_code == 201
    assert (foreign.status_code, anonymous.status_code) == (403, 403)
    assert "no Origin or Referer" in anonymous.json()["error"]
    assert list(Lead.objects.values_list("email", flat=True)) == ["ana@initech.com"]


def test_submit_with_bad_data_answers_400_with_every_field_error(client, webform):
    response = submit(client, {"email": "ana@", "country": "Atlantis", "title": "ignored"})

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"email", "country"}
    assert all(isinstance(reason, str) for reasons in errors.values() for reason in reasons)
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert Lead.objects.count() == 0


def test_submit_enforces_the_forms_required_fields(client):
    WebFormFactory(slug="contact", required_fields=["email", "company"])

    response = submit(client, {"email": "ana@initech.com"})

    assert response.status_code == 400
    assert response.json() == {"errors": {"company": ["This field is required."]}}
    assert Lead.objects.count() == 0


def test_submit_answers_a_missing_required_field_and_a_bad_email_together(client):
    WebFormFactory(slug="contact", required_fields=["email", "company"])

    response = submit(client, {"email": "ana@", "company": " "})

    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "company": ["This field is required."],
            "email": ["Enter a valid email address."],
        }
    }
    assert Lead.objects.count() == 0


def test_a_browser_posting_to_submit_sees_every_error_on_the_page(client):
    WebFormFactory(slug="contact", required_fields=["email", "company"])

    response = submit(client, {"email": "ana@", "company": ""}, Accept="text/html")

    html = response.content.decode()
    assert response.status_code == 400
    assert field_errors(html, "company") == ["This field is required."]
    assert field_errors(html, "email") == ["Enter a valid email address."]


def test_submit_completes_a_partial_lead_started_on_the_other_site(client, webform):
    partial(client, {"lh_session": SESSION, "company": "Initech"}, Origin=ALLOWED)

    response = submit(client, {"lh_session": SESSION, "email": "ana@initech.com"})

    assert response.status_code == 201
    lead = Lead.objects.get()
    assert (lead.email, lead.company, lead.is_partial) == ("ana@initech.com", "Initech", False)
    assert lead.events.filter(kind="completed").exists()


def test_preflight_from_an_allowed_origin_allows_a_form_post(client, webform):
    response = client.options("/f/contact/submit", headers={"Origin": ALLOWED})

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert response["Access-Control-Allow-Methods"] == "POST"
    assert response["Access-Control-Allow-Headers"] == "Content-Type"
    assert "Origin" in response["Vary"]


def test_preflight_from_another_origin_is_forbidden(client, webform):
    response = client.options("/f/contact/submit", headers={"Origin": FOREIGN})

    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response


def test_submit_for_an_unknown_form_is_a_json_404(client):
    response = submit(client, {"email": "ana@initech.com"}, slug="nope")

    assert response.status_code == 404
    assert "no active form" in response.json()["error"]


def test_browser_posting_a_plain_html_form_gets_pages_not_json(client):
    WebFormFactory(slug="contact", redirect_url="https://www.example.com/thanks")
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

    bad = submit(client, {"email": "ana@", "company": "Initech"}, Accept=accept)
    good = submit(client, {"email": "ana@initech.com"}, Accept=accept)
    from_script = submit(client, {"email": "bo@initech.com"}, Accept="*/*")

    assert bad.status_code == 400
    assert bad["Content-Type"].startswith("text/html")
    assert field_errors(bad.content.decode(), "email") == ["Enter a valid email address."]
    assert 'action="/f/contact/"' in bad.content.decode()
    assert (good.status_code, good["Location"]) == (303, "https://www.example.com/thanks")
    assert (from_script.status_code, from_script.json()) == (201, {"ok": True})
    assert Lead.objects.count() == 2


def test_sending_the_page_again_with_another_email_makes_a_second_lead(client, webform):
    client.post("/f/contact/", {"lh_session": OTHER_SESSION, "email": "ana@initech.com"})

    response = client.post("/f/contact/", {"lh_session": OTHER_SESSION, "email": "bo@initech.com"})

    assert response.status_code == 200
    assert set(Lead.objects.values_list("email", flat=True)) == {
        "ana@initech.com",
        "bo@initech.com",
    }
