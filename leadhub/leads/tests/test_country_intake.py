"""Country names the libraries read are stored as ISO codes; a value none can read is a 400
naming ``country`` and stores nothing (issue 15)."""

import pytest

from leadhub.leads.models import Lead, LeadEvent
from leadhub.leads.tests.clients import client_as

pytestmark = pytest.mark.django_db

OK = {"email": "ana@initech.com", "company": "Initech"}


@pytest.mark.parametrize(
    ("country", "code"), [("Republic of Korea", "KR"), ("Turkiye", "TR"), ("Cape Verde", "CV")]
)
def test_names_once_refused_now_store_the_lead_with_its_code(revops_api, country, code):
    response = revops_api.post("/api/leads/", {**OK, "country": country}, format="json")

    assert response.status_code == 201, response.content[:500]
    assert Lead.objects.get().country == code


@pytest.mark.parametrize("country", ["Narnia", "x" * 5000, 42])
def test_a_country_no_library_reads_is_a_400_naming_the_field(country):
    response = client_as({}, "intake_key").post(
        "/api/leads/", {**OK, "country": country}, format="json"
    )

    assert response.status_code == 400, response.content[:500]
    assert "country" in response.json()
    assert not Lead.objects.exists()
    assert not LeadEvent.objects.exists()
