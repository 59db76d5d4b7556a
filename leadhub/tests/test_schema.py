"""The OpenAPI document's error responses (leadhub.schema) and the fields that once
disagreed with the API's answers."""

import pytest

pytestmark = pytest.mark.django_db

ERROR_DETAIL = {"$ref": "#/components/schemas/ErrorDetail"}
BAD_INPUT = {
    "anyOf": [{"$ref": "#/components/schemas/ValidationError"}, ERROR_DETAIL],
}


@pytest.fixture
def schema(revops_api):
    return revops_api.get("/api/schema/", {"format": "json"}).json()


def body(response: dict) -> dict:
    return response["content"]["application/json"]["schema"]


@pytest.mark.parametrize(
    "method, path, statuses",
    [
        # A page past the last is a 404; a bad filter a 400.
        # 414: a query string past the web server's request-line limit (URI_TOO_LONG).
        ("get", "/api/leads/", {"200", "400", "401", "403", "404", "414"}),
        ("get", "/api/leads/{id}/", {"200", "401", "403", "404"}),
        # 429: past a rate limit (leadhub.throttles); creating is limited, reading is not.
        ("post", "/api/leads/", {"200", "201", "400", "401", "403", "429"}),
        ("get", "/api/metrics/sla/", {"200", "400", "401", "403", "414", "429"}),
        # Not paginated, no filters, no path parameter.
        ("get", "/api/queues/", {"200", "401", "403"}),
        # Open to all, yet a wrong token or intake key is still refused.
        ("post", "/api/auth/token/", {"200", "400", "401", "429"}),
        # A pool still in use cannot be deleted.
        ("delete", "/api/pools/{id}/", {"204", "400", "401", "403", "404"}),
        ("post", "/api/leads/{id}/accept/", {"200", "401", "403", "404", "409"}),
    ],
)
def test_each_operation_lists_the_error_statuses_its_view_can_give(schema, method, path, statuses):
    assert set(schema["paths"][path][method]["responses"]) == statuses


def test_every_error_response_has_a_json_body_from_the_components(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status < "400":
                    continue
                if status == "414":  # gunicorn's own page, before LeadHub sees the request
                    assert list(response["content"]) == ["text/html"], (method, path)
                    continue
                expected = BAD_INPUT if status == "400" else ERROR_DETAIL
                assert body(response) == expected, (method, path, status)
    components = schema["components"]["schemas"]
    assert components["ErrorDetail"]["required"] == ["detail"]
    assert components["ValidationError"]["type"] == "object"


def test_a_views_own_description_of_an_error_is_kept(schema):
    not_found = schema["paths"]["/api/reps/{id}/"]["get"]["responses"]["404"]

    assert not_found["description"] == "No such rep, or not one you may see."
    assert body(not_found) == ERROR_DETAIL


@pytest.mark.parametrize(
    "component, field",
    [
        ("LeadEvent", "actor"),
        ("Decision", "actor"),
        ("Publication", "published_by"),
        ("RuleSet", "created_by"),
    ],
)
def test_who_did_it_is_nullable_where_the_system_did_it(schema, component, field):
    # OpenAPI 3.1 (for its webhooks section) says nullable as a "null" type.
    assert "null" in schema["components"]["schemas"][component]["properties"][field]["type"]


def test_a_leads_email_is_a_plain_string_as_it_may_be_empty(schema):
    email = schema["components"]["schemas"]["Lead"]["properties"]["email"]

    assert email["type"] == "string"
    assert "format" not in email


def test_working_hours_are_local_times_without_an_offset(schema):
    for component in ("WorkingHours", "WorkingHoursRequest"):
        properties = schema["components"]["schemas"][component]["properties"]
        for field in ("start", "end"):
            assert "format" not in properties[field]
            assert properties[field]["pattern"] == "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
