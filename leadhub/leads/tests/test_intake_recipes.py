"""The recipes of docs/intake-recipes.md, run: each body (or Marketo payload template, with
its tokens filled in as Marketo fills them) is posted with an intake key carrying the
recipe's mapping, and the lead it makes is checked."""

import json
import re
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from django.conf import settings

from leadhub.leads.models import IntakeKey, Lead

DOC = Path(settings.BASE_DIR) / "docs" / "intake-recipes.md"
BLOCK = re.compile(r"^```(\w+) recipe=([\w-]+) (body|mapping|template)\n(.*?)^```", re.M | re.S)

# A Marketo lead, as its tokens would give it.
MARKETO_TOKENS = {
    "lead.Email Address": "fay.ito@wayne.example",
    "lead.First Name": "Fay",
    "lead.Last Name": "Ito",
    "company.Company Name": "Wayne & Sons",
    "lead.Job Title": "VP Sales",
    "lead.Phone Number": "0049 30 901820",
    "lead.Lead Source": "Webinar",
    "lead.Id": 1042,
}
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

# recipe: (content type, lead fields expected, custom expected)
EXPECTED = {
    "hubspot-workflow": (
        JSON,
        {
            "email": "ana.lima@initech.example",
            "first_name": "Ana",
            "last_name": "Lima",
            "company": "Initech",
            "title": "Head of Operations",
            "phone": "+442079460018",
            "employees": 51,
            "source": "organic_search",
        },
        {
            "vid": 3234574,
            "canonical-vid": 3234574,
            "portal-id": 62515,
            "is-contact": True,
            "lifecyclestage": "lead",
        },
    ),
    "hubspot-form": (
        JSON,
        {
            "email": "ben.ode@globex.example",
            "first_name": "Ben",
            "company": "Globex",
            "country": "DE",
            "product_interest": "Routing;SLA",
        },
        {"submittedAt", "context", "legalConsentOptions"},
    ),
    "zapier-json": (
        JSON,
        {
            "email": "cy.ng@hooli.example",
            "first_name": "Cy",
            "last_name": "Ng",
            "phone": "+12125550100",
            "country": "US",
            "source": "typeform",
        },
        {"How did you hear about us?": "A podcast"},
    ),
    "zapier-form": (
        FORM,
        {"email": "dee.park@umbrella.example", "first_name": "Dee", "title": "CFO"},
        {},
    ),
    "make-json": (
        JSON,
        {"email": "eve.santos@stark.example", "last_name": "Santos", "company": "Stark"},
        {"submissionId": "wf_8823"},
    ),
    "marketo-json": (
        JSON,
        {
            "email": "fay.ito@wayne.example",
            "company": "Wayne & Sons",
            "title": "VP Sales",
            "phone": "+4930901820",
            "source": "webinar",
        },
        {"marketoLeadId": 1042},
    ),
    "marketo-form": (
        FORM,
        {"first_name": "Fay", "company": "Wayne & Sons", "phone": "+4930901820"},
        {},
    ),
}


def recipes() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for _, name, kind, text in BLOCK.findall(DOC.read_text()):
        found.setdefault(name, {})[kind] = text
    return found


def render(template: str, content_type: str) -> str:
    """Marketo's token filling: strings quoted for JSON encoding, URL-encoded for Form/Url."""

    def token(match: re.Match) -> str:
        value = MARKETO_TOKENS[match.group(1)]
        if content_type == FORM:
            return quote_plus(str(value))
        return json.dumps(value)

    return re.sub(r"\{\{([^}]+)\}\}", token, template)


def test_every_recipe_in_the_docs_is_tested():
    assert set(recipes()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recipe(api, db, name):
    recipe = recipes()[name]
    content_type, fields, custom = EXPECTED[name]
    key = IntakeKey(name=name, field_map=json.loads(recipe.get("mapping", "{}")))
    api.credentials(HTTP_X_API_KEY=key.set_new_key())
    key.save()
    body = recipe["body"] if "body" in recipe else render(recipe["template"], content_type)
    if content_type == JSON:
        json.loads(body)  # the page shows valid JSON
    response = api.post("/api/leads/", body.strip(), content_type=content_type)
    assert response.status_code == 201, response.json()
    lead = Lead.objects.get()
    assert {field: getattr(lead, field) for field in fields} == fields
    if isinstance(custom, set):
        assert set(lead.custom) == custom
    else:
        assert lead.custom == custom


def test_the_same_recipe_with_a_strict_key_names_each_field_it_does_not_know(api, db):
    key = IntakeKey(name="strict", strict=True)
    api.credentials(HTTP_X_API_KEY=key.set_new_key())
    key.save()
    response = api.post("/api/leads/", recipes()["make-json"]["body"], content_type=JSON)
    assert response.status_code == 400
    assert response.json() == {"submissionId": ["Unknown field."]}
