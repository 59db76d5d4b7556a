"""RevOps in the admin: a handover previewed then done, and a selection of leads
reassigned or routed again by an action."""

import pytest
from django.urls import reverse

from leadhub.leads.models import Lead
from leadhub.leads.tests.factories import LeadFactory
from reps.tests.factories import RepFactory, TeamFactory
from routing.models import Decision, Handover, Rule
from routing.services import lead_route, ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reps():
    team = TeamFactory()
    pool = PoolFactory(team=team, settings={"check_hours": False})
    reps = [RepFactory(team=team) for _ in range(3)]
    for position, rep in enumerate(reps):
        PoolMemberFactory(pool=pool, rep=rep, position=position)
    draft = ruleset_draft()
    Rule.objects.create(
        ruleset=draft, position=0, name="All", condition={}, action="pool", action_pool=pool
    )
    ruleset_publish()
    return reps


def test_a_handover_is_previewed_without_moving_anything_then_done(admin_client, reps):
    leads = [LeadFactory() for _ in range(3)]
    for lead in leads:
        lead_route(lead_id=lead.pk)
    leaving = reps[0]
    held = Lead.objects.filter(owner=leaving).count()
    assert held >= 1
    url = reverse("admin:routing_handover_add")
    preview = admin_client.post(url, {"rep": leaving.pk, "reason": "Leaves", "_preview": "1"})
    assert preview.status_code == 200
    assert "Where each lead would go" in preview.content.decode()
    assert Lead.objects.filter(owner=leaving).count() == held
    assert not Handover.objects.exists()

    done = admin_client.post(url, {"rep": leaving.pk, "reason": "Leaves", "_apply": "1"})
    assert done.status_code == 302
    assert not Lead.objects.filter(owner=leaving).exists()
    assert Handover.objects.get().moved == held
    missing = admin_client.post(url, {"rep": leaving.pk, "_apply": "1"})
    assert missing.status_code == 200 and "This field is required" in missing.content.decode()


def test_the_lead_admin_routes_a_selection_again_and_reassigns_one(admin_client, reps):
    leads = [LeadFactory() for _ in range(2)]
    for lead in leads:
        lead_route(lead_id=lead.pk)
    changelist = reverse("admin:leads_lead_changelist")
    ids = [str(x.pk) for x in leads]
    page = admin_client.post(changelist, {"action": "reroute_selected", "_selected_action": ids})
    assert page.status_code == 200 and "Run the rules again" in page.content.decode()
    done = admin_client.post(
        changelist,
        {"action": "reroute_selected", "_selected_action": ids, "_apply": "1", "reason": "Fix"},
    )
    assert done.status_code == 302
    assert {d.kind for d in Decision.objects.filter(lead__in=leads, effective=True)} == {"reroute"}

    target = reps[2]
    answer = admin_client.post(
        changelist,
        {
            "action": "reassign_selected",
            "_selected_action": ids,
            "_apply": "1",
            "reason": "Cover",
            "rep": target.pk,
        },
        follow=True,
    )
    assert answer.status_code == 200
    assert set(Lead.objects.filter(pk__in=ids).values_list("owner_id", flat=True)) == {target.pk}
    no_rep = admin_client.post(
        changelist,
        {"action": "reassign_selected", "_selected_action": ids, "_apply": "1", "reason": "x"},
    )
    assert no_rep.status_code == 200 and "Choose the rep" in no_rep.content.decode()
