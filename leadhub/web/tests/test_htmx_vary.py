"""The pages that answer htmx with a fragment and a browser with a page or a redirect read
the request through django-htmx (``request.htmx``) and say so in ``Vary: HX-Request``, so
no cache serves one answer to the other (issue 15)."""

import pytest
from django.urls import reverse
from django.utils.cache import has_vary_header

from leadhub.web.tests.conftest import HTMX

pytestmark = pytest.mark.django_db


def test_presence_answers_htmx_with_a_fragment_and_a_browser_with_a_redirect(as_user, floor):
    client = as_user(floor.ann)

    fragment = client.post(reverse("web:presence"), {"presence": "away"}, **HTMX)
    plain = client.post(reverse("web:presence"), {"presence": "available"})

    assert fragment.status_code == 200 and b"<html" not in fragment.content
    assert plain.status_code == 302
    assert has_vary_header(fragment, "HX-Request") and has_vary_header(plain, "HX-Request")


def test_a_header_that_is_not_true_is_not_htmx(as_user, floor):
    response = as_user(floor.ann).post(
        reverse("web:presence"), {"presence": "away"}, HTTP_HX_REQUEST="false"
    )
    assert response.status_code == 302


def test_a_lead_action_and_a_notification_vary_on_htmx(as_user, floor):
    lead = floor.lead()
    client = as_user(floor.ann)
    act = reverse("web:lead-act", args=[lead.pk, "accept"])

    response = client.post(act, {"view": "row"}, **HTMX)

    assert response.status_code == 200
    assert has_vary_header(response, "HX-Request")
    assert has_vary_header(client.post(act, {"view": "row"}), "HX-Request")


def test_a_dashboard_section_is_a_fragment_for_htmx_and_a_page_otherwise(as_user, floor):
    client = as_user(floor.revops)
    url = reverse("web:dashboard-section", args=["speed"])

    fragment = client.get(url, **HTMX)
    page = client.get(url)

    assert fragment.status_code == page.status_code == 200
    assert b"<html" in page.content and b"<html" not in fragment.content
    assert has_vary_header(fragment, "HX-Request") and has_vary_header(page, "HX-Request")
