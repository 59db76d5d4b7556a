import pytest
from django.contrib.auth.models import Group

from leadhub.leads.tests.clients import client_as
from leadhub.leads.tests.factories import LeadFactory
from reps.models import Rep
from reps.tests.factories import RepFactory, TeamFactory, UserFactory
from routing.models import Decision, Pool, Publication, Rule, RuleSet
from routing.services import lead_route, ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Team A: a manager and two reps in a pool; team B: a manager and a rep; RevOps."""
    team_a, team_b = TeamFactory(name="A"), TeamFactory(name="B")
    revops = UserFactory(username="revops")
    revops.groups.add(Group.objects.get_or_create(name="RevOps")[0])
    world = {
        "rep": RepFactory(team=team_a, user__username="rep"),
        "other_rep": RepFactory(team=team_a, user__username="other_rep"),
        "manager": RepFactory(team=team_a, role=Rep.Role.MANAGER, user__username="manager"),
        "other_manager": RepFactory(
            team=team_b, role=Rep.Role.MANAGER, user__username="other_manager"
        ),
        "b_rep": RepFactory(team=team_b, user__username="b_rep"),
        "revops": revops,
    }
    pool = PoolFactory(name="A pool", team=team_a, settings={"check_hours": False})
    PoolMemberFactory(pool=pool, rep=world["rep"], position=0)
    world["pool"] = pool
    return world


def routed_lead(world):
    draft = ruleset_draft()
    Rule.objects.create(
        ruleset=draft, name="All", condition={}, action="pool", action_pool=world["pool"]
    )
    ruleset_publish(note="v1")
    lead = LeadFactory(country="DE")
    decision = lead_route(lead_id=lead.pk)
    assert decision.rep_id == world["rep"].pk
    return lead


# --- Decision -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, expected",
    [
        ("revops", 200),
        ("manager", 200),
        ("rep", 200),
        ("other_rep", 404),
        ("other_manager", 404),
        ("intake_key", 403),
        ("anonymous", 401),
    ],
)
def test_a_decision_is_seen_by_whoever_sees_the_lead(world, who, expected):
    lead = routed_lead(world)
    response = client_as(world, who).get(f"/api/leads/{lead.pk}/decision/")
    assert response.status_code == expected


def test_the_decision_explains_rule_version_method_and_candidates(world):
    lead = routed_lead(world)
    body = client_as(world, "rep").get(f"/api/leads/{lead.pk}/decision/").json()
    assert (body["rule"], body["version"], body["method"], body["kind"]) == (
        "All",
        1,
        "round_robin",
        "auto",
    )
    assert body["candidates"][0]["rep_id"] == world["rep"].pk
    assert body["candidates"][0]["chosen"] is True
    assert body["explanation"] and body["actor"] is None


def test_a_lead_without_a_decision_is_a_404(world):
    lead = LeadFactory()
    response = client_as(world, "revops").get(f"/api/leads/{lead.pk}/decision/")
    assert response.status_code == 404
    assert response.json() == {"detail": "This lead has no routing decision yet."}


# --- Reassign -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, expected",
    [
        ("revops", 200),
        ("manager", 200),
        ("other_manager", 404),
        ("rep", 403),
        ("other_rep", 404),
        ("intake_key", 403),
        ("anonymous", 401),
    ],
)
def test_a_lead_is_reassigned_by_revops_or_the_owning_teams_manager(world, who, expected):
    lead = routed_lead(world)
    body = {"rep": world["other_rep"].pk, "reason": "Speaks German"}
    response = client_as(world, who).post(f"/api/leads/{lead.pk}/reassign/", body, format="json")
    assert response.status_code == expected
    lead.refresh_from_db()
    assert lead.owner_id == (world["other_rep"].pk if expected == 200 else world["rep"].pk)


def test_reassigning_returns_the_new_manual_decision(world):
    lead = routed_lead(world)
    body = {"rep": world["other_rep"].pk, "reason": "Speaks German"}
    response = client_as(world, "manager").post(
        f"/api/leads/{lead.pk}/reassign/", body, format="json"
    )
    data = response.json()
    assert (data["kind"], data["rep"], data["reason"], data["actor"]) == (
        "manual",
        world["other_rep"].pk,
        "Speaks German",
        "manager",
    )
    assert Decision.objects.get(lead=lead, effective=True).pk == data["id"]


def test_an_unowned_lead_is_reassigned_by_the_manager_of_the_target_reps_team(world):
    lead = LeadFactory()
    url = f"/api/leads/{lead.pk}/reassign/"
    to_b = {"rep": world["b_rep"].pk, "reason": "Their region"}
    assert client_as(world, "manager").post(url, to_b, format="json").status_code == 404
    assert client_as(world, "other_manager").post(url, to_b, format="json").status_code == 200


def test_reassigning_without_a_reason_is_a_400_on_reason(world):
    lead = routed_lead(world)
    response = client_as(world, "revops").post(
        f"/api/leads/{lead.pk}/reassign/", {"rep": world["other_rep"].pk}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["reason"]


def test_a_refused_reassignment_is_a_400_saying_why(world):
    lead = routed_lead(world)
    body = {"rep": world["rep"].pk, "reason": "Again"}
    response = client_as(world, "revops").post(
        f"/api/leads/{lead.pk}/reassign/", body, format="json"
    )
    assert response.status_code == 400
    message = f"The lead is already {world['rep'].display_name}'s."
    assert response.json() == {"non_field_errors": [message]}


def test_a_manager_cannot_reassign_their_lead_to_another_teams_rep_a_400_on_rep(world):
    lead = routed_lead(world)
    body = {"rep": world["b_rep"].pk, "reason": "Their region"}
    response = client_as(world, "manager").post(
        f"/api/leads/{lead.pk}/reassign/", body, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["rep"]
    assert "your own team" in response.json()["rep"][0]
    lead.refresh_from_db()
    assert lead.owner_id == world["rep"].pk


def test_revops_reassign_across_teams(world):
    lead = routed_lead(world)
    body = {"rep": world["b_rep"].pk, "reason": "Their region"}
    response = client_as(world, "revops").post(
        f"/api/leads/{lead.pk}/reassign/", body, format="json"
    )
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.owner_id == world["b_rep"].pk


# --- Set-up ---------------------------------------------------------------------------

CONFIG_READ = [
    ("revops", 200),
    ("manager", 200),
    ("other_manager", 200),
    ("rep", 403),
    ("intake_key", 403),
    ("anonymous", 401),
]


@pytest.mark.parametrize("path", ["territories", "pools", "rules", "rulesets"])
@pytest.mark.parametrize("who, expected", CONFIG_READ)
def test_the_set_up_is_read_by_revops_and_managers(world, path, who, expected):
    assert client_as(world, who).get(f"/api/{path}/").status_code == expected


@pytest.mark.parametrize(
    "who, expected", [("revops", 201), ("manager", 403), ("rep", 403), ("intake_key", 403)]
)
def test_only_revops_change_the_set_up(world, who, expected):
    body = {"name": "Germany", "countries": ["DE"]}
    response = client_as(world, who).post("/api/territories/", body, format="json")
    assert response.status_code == expected


def test_a_pool_is_created_with_members_in_order(world):
    body = {
        "name": "B pool",
        "method": "weighted_round_robin",
        "settings": {"check_hours": False},
        "members": [{"rep": world["b_rep"].pk, "weight": 3}, {"rep": world["rep"].pk}],
    }
    response = client_as(world, "revops").post("/api/pools/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["members"] == [
        {"rep": world["b_rep"].pk, "position": 0, "weight": 3},
        {"rep": world["rep"].pk, "position": 1, "weight": None},
    ]


@pytest.mark.parametrize(
    "pool_settings, message",
    [
        ({"colour": "red"}, "Unknown pool settings: colour."),
        ({"catch_up_limit": "two"}, "catch_up_limit must be int, not 'two'."),
    ],
)
def test_bad_pool_settings_are_a_400_naming_the_key(world, pool_settings, message):
    # Not named "settings": that would hide pytest-django's fixture from the autouse ones.
    response = client_as(world, "revops").patch(
        f"/api/pools/{world['pool'].pk}/", {"settings": pool_settings}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"settings": [message]}
    assert Pool.objects.get(pk=world["pool"].pk).settings == {"check_hours": False}


def test_rules_are_added_to_the_draft_and_a_bad_condition_names_the_node(world):
    client = client_as(world, "revops")
    bad = {
        "name": "Bad",
        "action": "triage",
        "condition": {
            "all": [
                {"field": "country", "op": "in", "value": "DE"},
                {"field": "country", "op": "like", "value": "D"},
            ]
        },
    }
    response = client.post("/api/rules/", bad, format="json")
    assert response.status_code == 400
    assert response.json() == {"condition": ["rules[0].condition.all[1]: Unknown operator 'like'."]}
    good = {"name": "Germany", "action": "pool", "action_pool": world["pool"].pk}
    response = client.post("/api/rules/", good, format="json")
    assert response.status_code == 201
    assert Rule.objects.get(pk=response.json()["id"]).ruleset.is_draft


def test_a_pool_rule_without_a_pool_is_a_400_on_action(world):
    response = client_as(world, "revops").post(
        "/api/rules/", {"name": "Nowhere", "action": "pool"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["action"]


def test_published_rules_are_not_listed_or_editable_as_draft_rules(world):
    routed_lead(world)
    published = Rule.objects.get(ruleset__version=1)
    client = client_as(world, "revops")
    assert (
        client.patch(f"/api/rules/{published.pk}/", {"name": "X"}, format="json").status_code == 404
    )
    names = [r["name"] for r in client.get("/api/rules/").json()["results"]]
    assert names == ["All"]  # the draft's copy


def test_publish_and_rollback_through_the_api(world):
    client = client_as(world, "revops")
    client.post("/api/rules/", {"name": "First", "action": "triage"}, format="json")
    response = client.post("/api/rulesets/publish/", {"note": "first"}, format="json")
    assert response.status_code == 201
    assert (response.json()["version"], [r["name"] for r in response.json()["rules"]]) == (
        1,
        ["First"],
    )
    client.post("/api/rules/", {"name": "Second", "action": "nurture"}, format="json")
    # "First" matches every lead, so lint finds "Second" unreachable: only forced.
    response = client.post("/api/rulesets/publish/", {"force": True}, format="json")
    assert response.json()["version"] == 2
    response = client.post("/api/rulesets/1/rollback/", {"note": "oops"}, format="json")
    assert response.status_code == 201
    assert Publication.objects.first().ruleset.version == 1
    assert Publication.objects.first().is_rollback
    detail = client.get("/api/rulesets/1/").json()
    assert [p["note"] for p in detail["publications"]] == ["oops", "first"]
    assert client.post("/api/rulesets/9/rollback/", {}, format="json").status_code == 404


@pytest.mark.parametrize("who", ["manager", "rep", "intake_key"])
def test_only_revops_publish(world, who):
    ruleset_draft()
    response = client_as(world, who).post("/api/rulesets/publish/", {}, format="json")
    assert response.status_code == 403
    assert not RuleSet.objects.filter(is_draft=False).exists()


def test_publishing_with_no_draft_is_a_400(world):
    response = client_as(world, "revops").post("/api/rulesets/publish/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["There is no draft to publish."]}


def test_the_schema_documents_the_routing_endpoints(revops_api):
    schema = revops_api.get("/api/schema/", {"format": "json"}).json()
    for path in (
        "/api/leads/{id}/decision/",
        "/api/leads/{id}/reassign/",
        "/api/pools/",
        "/api/rules/",
        "/api/rulesets/publish/",
        "/api/rulesets/{version}/rollback/",
    ):
        assert path in schema["paths"], path
