import json

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leadhub.leads.models import Lead
from leadhub.leads.tests.factories import LeadFactory
from leadhub.leads.tests.test_admin import admin_url, form_data
from reps.tests.factories import RepFactory, TeamFactory, UserFactory
from routing.admin import territories
from routing.config_services import territory_save
from routing.models import (
    Decision,
    Pool,
    PoolMember,
    PoolState,
    Publication,
    Rule,
    RuleSet,
    Territory,
)
from routing.selectors import ruleset_in_force
from routing.services import lead_route, ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory, TerritoryFactory

pytestmark = pytest.mark.django_db

ROUTING_MODELS = sorted(
    (m for m in admin.site._registry if m._meta.app_label == "routing"),
    key=lambda m: m._meta.model_name,
)
BAD_CONDITION = {"field": "country", "op": "like", "value": "x"}


@pytest.fixture
def pool():
    team = TeamFactory(name="EMEA")
    pool = PoolFactory(name="EMEA round robin", team=team)
    for position, name in enumerate(["Ada", "Bea"]):
        rep = RepFactory(team=team, user=UserFactory(first_name=name, last_name="Rep"))
        PoolMemberFactory(pool=pool, rep=rep, position=position)
    return pool


def publish_to(pool: Pool) -> RuleSet:
    draft = ruleset_draft()
    draft.rules.all().delete()
    Rule.objects.create(
        ruleset=draft, position=0, name="Everyone", condition={}, action="pool", action_pool=pool
    )
    return ruleset_publish(note="v")


@pytest.fixture
def one_of_each(pool):
    """A row of every routing model, so each change page has something to show."""
    TerritoryFactory(name="DACH", countries=["DE", "AT"], pool=pool)
    publish_to(pool)
    lead_route(lead_id=LeadFactory().pk)
    ruleset_draft()
    assert PoolState.objects.exists() and Decision.objects.exists()


@pytest.mark.parametrize("model", ROUTING_MODELS, ids=lambda m: m._meta.model_name)
def test_every_routing_admin_page_renders(admin_client, one_of_each, model):
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    for obj in model.objects.all():
        response = admin_client.get(admin_url(model, "change", obj.pk))
        assert response.status_code == 200, obj
    model_admin = admin.site._registry[model]
    request = admin_client.get(admin_url(model, "changelist")).wsgi_request
    if model_admin.has_add_permission(request):
        response = admin_client.get(admin_url(model, "add"), follow=True)
        assert response.status_code == 200


def test_pool_list_counts_members_without_a_query_per_pool(admin_client, pool):
    url = admin_url(Pool, "changelist")
    with CaptureQueriesContext(connection) as one:
        response = admin_client.get(url)
    assert response.status_code == 200
    for _ in range(3):
        PoolMemberFactory(pool=PoolFactory(), rep=RepFactory())
    with CaptureQueriesContext(connection) as four:
        admin_client.get(url)
    assert len(four) == len(one)


def test_pool_settings_are_checked_by_the_engines_rules(admin_client, pool):
    url = admin_url(Pool, "change", pool.pk)
    data = form_data(admin_client.get(url))
    data["settings"] = json.dumps({"catch_up_limit": "three", "colour": "red"})
    response = admin_client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["settings"]
    assert "Unknown pool settings: colour." in errors
    data["settings"] = json.dumps({"catch_up_limit": 3})
    assert admin_client.post(url, data).status_code == 302
    pool.refresh_from_db()
    assert pool.settings == {"catch_up_limit": 3}


def test_a_published_version_is_read_only(admin_client, pool):
    version = publish_to(pool)
    url = admin_url(RuleSet, "change", version.pk)
    response = admin_client.get(url)
    content = response.content.decode()
    assert response.status_code == 200
    assert 'name="_save"' not in content
    assert 'name="rules-0-name"' not in content
    assert "Everyone" in content
    assert "Put this version back in force (rollback)" in content
    assert admin_client.post(url, {"note": "changed"}).status_code == 403
    delete = admin_client.post(admin_url(RuleSet, "delete", version.pk), {"post": "yes"})
    assert delete.status_code == 403
    version.refresh_from_db()
    assert version.note == "v"


def test_create_draft_then_publish_makes_the_next_version_in_force(admin_client, admin_user, pool):
    publish_to(pool)
    RuleSet.objects.filter(is_draft=True).delete()
    confirm = admin_client.get(admin_url(RuleSet, "add"))
    assert "Create the draft" in confirm.content.decode()
    response = admin_client.post(admin_url(RuleSet, "add"))
    draft = RuleSet.objects.get(is_draft=True)
    assert response.url == admin_url(RuleSet, "change", draft.pk)
    assert list(draft.rules.values_list("name", flat=True)) == ["Everyone"]

    url = admin_url(RuleSet, "change", draft.pk)
    data = form_data(admin_client.get(url))
    data["rules-0-name"] = "Everyone, renamed"
    assert admin_client.post(url, data).status_code == 302

    response = admin_client.post(
        reverse("admin:routing_ruleset_publish", args=[draft.pk]), {"note": "rename"}
    )
    assert response.status_code == 302
    version = ruleset_in_force()
    assert version.version == 2
    assert list(version.rules.values_list("name", flat=True)) == ["Everyone, renamed"]
    publication = Publication.objects.first()
    assert (publication.ruleset, publication.published_by, publication.note) == (
        version,
        admin_user,
        "rename",
    )
    listing = admin_client.get(admin_url(RuleSet, "changelist")).content.decode()
    assert "in force" in listing and "Publish the draft" in listing


def test_a_bad_condition_is_shown_on_its_field_and_not_saved(admin_client, pool):
    draft = ruleset_draft()
    url = admin_url(RuleSet, "change", draft.pk)
    data = form_data(admin_client.get(url))
    data.update(
        {
            "rules-TOTAL_FORMS": "1",
            "rules-0-position": "1",
            "rules-0-name": "Bad",
            "rules-0-enabled": "on",
            "rules-0-condition": json.dumps({"all": [BAD_CONDITION]}),
            "rules-0-action": "pool",
            "rules-0-action_pool": str(pool.pk),
            "rules-0-fallback": "triage",
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 200
    inline_form = response.context["inline_admin_formsets"][0].formset.forms[0]
    [error] = inline_form.errors["condition"]
    assert error.startswith("condition.all[0]") and "like" in error
    data["rules-0-action_pool"] = ""
    data["rules-0-condition"] = "{}"
    response = admin_client.post(url, data)
    assert (
        "needs a target"
        in response.context["inline_admin_formsets"][0].formset.forms[0].errors["action_pool"][0]
    )
    assert not draft.rules.exists()


def test_publishing_a_draft_with_a_bad_rule_names_the_rule(admin_client, pool):
    draft = ruleset_draft()
    Rule.objects.create(
        ruleset=draft, position=4, name="Broken", condition=BAD_CONDITION, action="triage"
    )
    response = admin_client.post(
        reverse("admin:routing_ruleset_publish", args=[draft.pk]), {"note": ""}, follow=True
    )
    [message] = [str(m) for m in response.context["messages"]]
    assert "rule 'Broken' (#4)" in message and "like" in message
    assert not RuleSet.objects.filter(is_draft=False).exists()


def test_rollback_puts_an_older_version_back_in_force(admin_client, admin_user, pool):
    first = publish_to(pool)
    second = publish_to(pool)
    assert ruleset_in_force() == second
    url = reverse("admin:routing_ruleset_rollback", args=[first.pk])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"note": "v2 misroutes"}).status_code == 302
    publication = Publication.objects.first()
    assert (publication.ruleset, publication.is_rollback, publication.published_by) == (
        first,
        True,
        admin_user,
    )
    assert ruleset_in_force() == first
    assert (
        "Not published"
        not in admin_client.get(admin_url(RuleSet, "change", first.pk)).content.decode()
    )


def test_preview_shows_the_chosen_rep_and_every_candidate_and_writes_nothing(admin_client, pool):
    publish_to(pool)
    ruleset_draft()
    counts = (Lead.objects.count(), Decision.objects.count(), PoolState.objects.count())
    url = reverse("admin:routing_preview")
    assert admin_client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.post(
            url, {"email": "ana@acme.example", "country": "Germany", "score": "10"}
        )
    assert response.status_code == 200
    result = response.context["result"]
    first = PoolMember.objects.filter(pool=pool).order_by("position").first().rep
    assert (result["outcome"], result["rep"], result["rule_name"]) == (
        "assigned",
        first,
        "Everyone",
    )
    assert [(c["name"], c["eligible"], c["chosen"]) for c in result["candidates"]] == [
        ("Ada Rep", "yes", True),
        ("Bea Rep", "yes", False),
    ]
    content = response.content.decode()
    assert "Ada Rep chosen" in content and "<td>yes</td>" in content
    assert (Lead.objects.count(), Decision.objects.count(), PoolState.objects.count()) == counts
    assert not PoolState.objects.filter(pool=pool).exists()
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []


def test_preview_of_the_draft_and_of_a_version(admin_client, pool):
    publish_to(pool)
    draft = ruleset_draft()
    draft.rules.update(action="nurture", action_pool=None)
    url = reverse("admin:routing_preview")
    lead = {"email": "ana@acme.example", "country": "DE", "score": "0"}
    assert admin_client.post(url, {**lead, "ruleset": "draft"}).context["result"]["outcome"] == (
        "nurture"
    )
    assert admin_client.post(url, {**lead, "ruleset": "1"}).context["result"]["outcome"] == (
        "assigned"
    )


def test_preview_shows_lead_data_errors_on_the_form(admin_client, pool):
    response = admin_client.post(
        reverse("admin:routing_preview"), {"country": "Atlantis", "custom": "[1]", "score": "0"}
    )
    form = response.context["form"]
    assert "Unknown country" in form.errors["country"][0]
    assert form.errors["custom"] == ["Must be a JSON object."]
    assert response.context["result"] is None


def test_reassign_needs_a_reason_then_the_lead_page_shows_why(admin_client, admin_user, pool):
    publish_to(pool)
    lead = LeadFactory()
    routed = lead_route(lead_id=lead.pk)
    other = PoolMember.objects.filter(pool=pool).exclude(rep_id=routed.rep_id).get().rep
    change = admin_client.get(admin_url(Lead, "change", lead.pk)).content.decode()
    url = reverse("admin:leads_lead_reassign", args=[lead.pk])
    assert url in change
    assert "Routing decision" in change and "Rule &#x27;Everyone&#x27;" in change

    response = admin_client.post(url, {"rep": other.pk, "reason": ""})
    assert response.context["form"].errors["reason"]
    response = admin_client.post(url, {"rep": routed.rep_id, "reason": "again"})
    assert "already" in response.context["form"].non_field_errors()[0]

    response = admin_client.post(url, {"rep": other.pk, "reason": "Speaks German"})
    assert response.url == admin_url(Lead, "change", lead.pk)
    lead.refresh_from_db()
    assert lead.owner == other
    manual = Decision.objects.get(lead=lead, effective=True)
    assert (manual.kind, manual.actor, manual.reason) == ("manual", admin_user, "Speaks German")
    page = admin_client.get(admin_url(Lead, "change", lead.pk)).content.decode()
    assert "Reassigned by hand" in page and "Speaks German" in page
    assert "Manual reassignment" in page  # the decisions inline


def test_people_who_are_not_staff_are_sent_to_log_in(client, pool):
    publish_to(pool)
    lead = LeadFactory()
    client.force_login(UserFactory())
    for url in [
        reverse("admin:routing_preview"),
        reverse("admin:leads_lead_reassign", args=[lead.pk]),
        admin_url(RuleSet, "changelist"),
        reverse("admin:routing_ruleset_rollback", args=[RuleSet.objects.get(version=1).pk]),
    ]:
        response = client.post(url, {"reason": "x", "country": "DE", "score": "0"})
        assert response.status_code == 302 and "/login/" in response.url, url
    assert Publication.objects.count() == 1


def test_staff_without_the_view_permission_cannot_preview(client):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(reverse("admin:routing_preview")).status_code == 403


def test_territory_admin_lists_and_filters(admin_client, pool):
    parent = TerritoryFactory(name="Europe", countries=["DE", "FR"])
    TerritoryFactory(name="Bavaria", parent=parent, states=["BY"], pool=pool)
    response = admin_client.get(
        admin_url(Territory, "changelist"), {"parent__id__exact": parent.pk}
    )
    assert [t.name for t in response.context["cl"].result_list] == ["Bavaria"]


def territory_form(territory: Territory, **changes) -> dict:
    data = {
        "name": territory.name,
        "parent": str(territory.parent_id or ""),
        "pool": str(territory.pool_id or ""),
        "countries": json.dumps(territory.countries),
        "states": json.dumps(territory.states),
        "postal_prefixes": json.dumps(territory.postal_prefixes),
        "postal_ranges": json.dumps(territory.postal_ranges),
        "active": "on",
    }
    return {**data, **changes}


def test_a_territory_made_its_own_ancestor_is_a_form_error_on_parent_and_not_saved(admin_client):
    europe = TerritoryFactory(name="Europe", countries=["DE"])
    dach = TerritoryFactory(name="DACH", parent=europe, countries=["DE"])
    url = admin_url(Territory, "change", europe.pk)

    response = admin_client.post(url, territory_form(europe, parent=str(dach.pk)))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["parent"] == ["A territory cannot be its own ancestor."]
    europe.refresh_from_db()
    assert europe.parent is None


def test_territories_are_added_and_changed_through_territory_save(admin_client, monkeypatch, pool):
    calls = []

    def spy(**kwargs):
        calls.append(kwargs["territory"].name)
        return territory_save(**kwargs)

    monkeypatch.setattr(territories, "territory_save", spy)
    europe = TerritoryFactory(name="Europe")
    add = territory_form(Territory(name="DACH", parent=europe), countries='["DE", "AT"]')

    assert admin_client.post(admin_url(Territory, "add"), add).status_code == 302
    dach = Territory.objects.get(name="DACH")
    assert (dach.parent, dach.countries) == (europe, ["DE", "AT"])
    change = territory_form(dach, pool=str(pool.pk))
    assert admin_client.post(admin_url(Territory, "change", dach.pk), change).status_code == 302
    dach.refresh_from_db()
    assert dach.pool == pool
    assert calls == ["DACH", "DACH"]


def test_pool_settings_that_are_not_an_object_get_the_services_own_message(admin_client, pool):
    url = admin_url(Pool, "change", pool.pk)
    data = form_data(admin_client.get(url))
    data["settings"] = json.dumps(["check_hours"])

    response = admin_client.post(url, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["settings"]
    # The words of routing.config_services.check_pool_settings, which the API shows too.
    assert errors == ["Must be an object of method settings."]


def test_pool_members_are_saved_by_pool_save_in_the_order_of_their_positions(admin_client, pool):
    url = admin_url(Pool, "change", pool.pk)
    data = form_data(admin_client.get(url))
    data["settings"] = "{}"
    ada, bea = pool.members.order_by("position")
    data["members-0-position"], data["members-1-position"] = "10", "5"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    # pool_save numbers the rotation from 0, in the order the positions give.
    assert list(pool.members.values_list("rep_id", "position")) == [
        (bea.rep_id, 0),
        (ada.rep_id, 1),
    ]


def test_a_rule_that_gives_a_pool_to_an_action_without_one_is_a_form_error(admin_client, pool):
    draft = ruleset_draft()
    url = admin_url(RuleSet, "change", draft.pk)
    data = form_data(admin_client.get(url))
    data.update(
        {
            "rules-TOTAL_FORMS": "1",
            "rules-0-position": "1",
            "rules-0-name": "Triage all",
            "rules-0-enabled": "on",
            "rules-0-condition": "{}",
            "rules-0-action": "triage",
            "rules-0-action_pool": str(pool.pk),
            "rules-0-fallback": "triage",
        }
    )

    response = admin_client.post(url, data)

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.forms[0].errors
    assert errors["action"] == ["Action 'triage' takes no pool or rep."]
    assert not draft.rules.exists()
    data["rules-0-action_pool"] = ""
    assert admin_client.post(url, data).status_code == 302
    assert list(draft.rules.values_list("name", "action")) == [("Triage all", "triage")]
