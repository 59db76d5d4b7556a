"""Django's 404 for URLs that match no route: JSON under /api/, the usual page elsewhere."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/leads/abc/decision/", "/api/pools/0.5/", "/api/nowhere/"])
def test_an_api_url_that_matches_no_route_is_a_json_404(revops_api, path):
    response = revops_api.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_any_other_url_that_matches_no_route_is_the_html_404(client):
    response = client.get("/nowhere/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
