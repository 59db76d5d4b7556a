import pytest
from knox.models import AuthToken

from leadhub.leads.models import IntakeKey, Lead
from leadhub.leads.services import lead_transition
from leadhub.leads.tests.factories import LeadFactory
from reps.tests.factories import RepFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

LEAD = {"email": "ana@initech.com", "company": "Initech", "country": "Germany"}


def test_token_endpoint_swaps_credentials_for_a_token_the_api_accepts(api):
    UserFactory(username="ops", password="s3cret-pass")
    bad = api.post("/api/auth/token/", {"username": "ops", "password": "nope"}, format="json")
    assert bad.status_code == 400
    ok = api.post("/api/auth/token/", {"username": "ops", "password": "s3cret-pass"}, format="json")
    assert ok.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Token {ok.json()['token']}")
    assert api.get("/api/leads/").status_code == 200


def test_the_api_requires_authentication(api):
    assert api.get("/api/leads/").status_code in (401, 403)
    assert api.post("/api/leads/", LEAD, format="json").status_code in (401, 403)
    assert not Lead.objects.exists()


def test_post_creates_a_lead_and_returns_it(revops_api):
    response = revops_api.post("/api/leads/", LEAD, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["country"] == "DE" and body["status"] == "new" and body["owner"] is None
    assert {"id", "status", "owner", "score", "account"} <= set(body)
    assert response["X-LeadHub-Outcome"] == "created"
    assert Lead.objects.get().events.get().actor == revops_api.user


def test_validation_errors_are_400_with_field_and_reason(revops_api):
    response = revops_api.post(
        "/api/leads/", {"email": "x@", "employees": -3, "unknown_thing": 1}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"email", "employees", "unknown_thing"}
    assert revops_api.post("/api/leads/", [LEAD], format="json").status_code == 400
    assert not Lead.objects.exists()


def test_idempotency_key_retry_returns_the_same_lead_with_200(revops_api):
    first = revops_api.post("/api/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    again = revops_api.post("/api/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again["X-LeadHub-Outcome"] == "replayed"
    assert Lead.objects.get().events.count() == 1
    too_long = revops_api.post("/api/leads/", LEAD, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert too_long.status_code == 400


def test_same_email_returns_the_open_lead_with_200_and_a_resubmitted_event(revops_api):
    first = revops_api.post("/api/leads/", LEAD, format="json")
    again = revops_api.post("/api/leads/", {**LEAD, "email": "ANA@initech.com"}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again["X-LeadHub-Outcome"] == "duplicate"
    assert list(Lead.objects.get().events.values_list("kind", flat=True)) == [
        "captured",
        "resubmitted",
    ]


def test_intake_keys_create_leads_get_a_receipt_and_nothing_else(api):
    key = IntakeKey(name="Website", source="website")
    raw = key.set_new_key()
    key.save()
    api.credentials(HTTP_X_API_KEY=raw)
    created = api.post("/api/leads/", LEAD, format="json")
    assert created.status_code == 201
    assert set(created.json()) == {"id", "status", "score", "captured_at"}
    assert Lead.objects.get().source == "website"
    duplicate = api.post("/api/leads/", LEAD, format="json")
    assert duplicate.status_code == 200 and "email" not in duplicate.json()
    assert api.get("/api/leads/").status_code == 403
    assert api.get(f"/api/leads/{created.json()['id']}/").status_code == 403
    key.active = False
    key.save()
    assert api.post("/api/leads/", {**LEAD, "email": "b@x.com"}, format="json").status_code == 401
    api.credentials(HTTP_X_API_KEY="lh_wrong")
    assert api.post("/api/leads/", {**LEAD, "email": "c@x.com"}, format="json").status_code == 401


def test_list_filters_by_status_source_country_score_and_captured_range(revops_api):
    LeadFactory(status="new", source="webinar", country="DE", score=70)
    LeadFactory(status="triage", source="website", country="US", score=10)
    LeadFactory(status="nurture", source="webinar", country="FR", score=-5)

    def ids(query):
        response = revops_api.get(f"/api/leads/?{query}")
        assert response.status_code == 200
        return sorted(r["country"] for r in response.json()["results"])

    assert ids("status=new,triage") == ["DE", "US"]
    assert ids("source=webinar") == ["DE", "FR"]
    assert ids("country=US") == ["US"]
    assert ids("score_min=0&score_max=50") == ["US"]
    assert ids("captured_after=2000-01-01T00:00:00Z") == ["DE", "FR", "US"]
    assert ids("captured_before=2000-01-01T00:00:00Z") == []
    body = revops_api.get("/api/leads/?ordering=-score").json()
    assert body["count"] == 3 and [r["score"] for r in body["results"]] == [70, 10, -5]


@pytest.mark.parametrize("name", ["captured_after", "captured_before"])
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-01-01T00:00:00+19:00", "+19:00 is not a UTC offset"),
        ("2026-01-01T00:00:00-16:30", "-16:30 is not a UTC offset"),
        ("0001-01-01T00:00:00+14:00", "out of range"),
    ],
)
def test_a_datetime_filter_with_an_impossible_utc_offset_is_a_400_naming_it(
    api, name, value, reason
):
    rep = RepFactory()
    LeadFactory(owner=rep)
    api.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=rep.user)[1]}")
    response = api.get("/api/leads/", {name: value})
    assert response.status_code == 400
    assert list(response.json()) == [name]
    assert reason in response.json()[name][0]


def test_a_datetime_filter_reads_any_real_offset(revops_api):
    LeadFactory(captured_at="2026-01-01T12:00:00Z")
    after = revops_api.get("/api/leads/", {"captured_after": "2026-01-02T01:59:00+14:00"})
    before = revops_api.get("/api/leads/", {"captured_before": "2026-01-01T00:00:00-12:00"})
    assert (after.json()["count"], before.json()["count"]) == (1, 0)


def test_detail_has_the_event_timeline(revops_api):
    lead_id = revops_api.post("/api/leads/", LEAD, format="json").json()["id"]
    lead_transition(lead_id=lead_id, status="junk", actor=revops_api.user, reason="spam")
    body = revops_api.get(f"/api/leads/{lead_id}/").json()
    assert [e["kind"] for e in body["events"]] == ["captured", "status_changed"]
    assert body["events"][1]["actor"] == revops_api.user.username


def test_reps_see_only_their_leads_and_managers_their_team(api):
    team, other_team = TeamFactory(name="EMEA"), TeamFactory(name="NA")
    rep, colleague = RepFactory(team=team), RepFactory(team=team)
    outsider = RepFactory(team=other_team)
    manager = RepFactory(team=team, role="manager")
    mine, theirs, far = (
        LeadFactory(owner=rep),
        LeadFactory(owner=colleague),
        LeadFactory(owner=outsider),
    )
    LeadFactory()  # unassigned: RevOps only

    def visible(user):
        api.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=user)[1]}")
        return {r["id"] for r in api.get("/api/leads/").json()["results"]}

    assert visible(rep.user) == {mine.pk}
    assert api.get(f"/api/leads/{theirs.pk}/").status_code == 404
    assert visible(manager.user) == {mine.pk, theirs.pk}
    assert api.get(f"/api/leads/{far.pk}/").status_code == 404
    assert visible(UserFactory()) == set()


def test_openapi_schema_and_locally_served_swagger_ui(revops_api):
    schema = revops_api.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/leads/" in text and "Idempotency-Key" in text and "X-Api-Key" in text
    docs = revops_api.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in html
    assert "cdn." not in html and "unpkg" not in html


def test_the_written_out_representation_is_exactly_drfs():
    from decimal import Decimal

    from rest_framework import serializers

    from leadhub.leads.serializers import LeadDetailSerializer, LeadSerializer
    from leadhub.leads.tests.factories import AccountFactory

    lead = LeadFactory(
        owner=RepFactory(),
        account=AccountFactory(segment="enterprise"),
        annual_revenue=Decimal("1200000.5"),
        employees=30,
        custom={"a": [1]},
        pages=["/pricing"],
        intent_signals=["demo_request"],
    )
    lead_transition(lead_id=lead.pk, status="assigned")
    lead.refresh_from_db()
    bare = LeadFactory()
    for instance in (lead, bare):
        for serializer_class in (LeadSerializer, LeadDetailSerializer):
            fast = serializer_class(instance).data
            drf = serializers.ModelSerializer.to_representation(
                serializer_class(instance), instance
            )
            assert fast == drf
    assert LeadSerializer(lead).data["annual_revenue"] == "1200000.50"
    assert LeadSerializer(lead).data["account"]["segment"] == "enterprise"
