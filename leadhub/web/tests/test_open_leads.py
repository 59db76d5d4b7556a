"""The manager's open leads page: the team's leads listed, a selection reassigned to one
rep or routed again, each lead checked against what the user may do."""

from django.urls import reverse

from leadhub.leads.models import Lead
from routing.models import Decision

LIST = reverse("web:dashboard-leads")
MOVE = reverse("web:dashboard-leads-move")


def test_a_manager_sees_their_teams_open_leads_and_a_rep_may_not(floor, as_user):
    mine = [floor.lead(), floor.lead()]
    page = as_user(floor.manager).get(LIST)
    assert page.status_code == 200
    for lead in mine:
        assert f'value="{lead.pk}"' in page.content.decode()
    assert as_user(floor.other_manager).get(LIST).content.decode().count('name="leads"') == 0
    assert as_user(floor.ann).get(LIST).status_code == 403


def test_a_selection_is_reassigned_at_once_and_a_closed_lead_is_named(floor, as_user):
    leads = [floor.lead() for _ in range(3)]
    Lead.objects.filter(pk=leads[2].pk).update(status="junk")
    client = as_user(floor.manager)
    answer = client.post(
        MOVE,
        {
            "leads": [x.pk for x in leads],
            "action": "reassign",
            "rep": floor.bob.pk,
            "reason": "Ann is out",
            "next": LIST,
        },
        follow=True,
    )
    text = answer.content.decode()
    assert "2 of 3 leads reassigned." in text
    assert f"#{leads[2].pk}:" in text
    assert set(
        Lead.objects.filter(pk__in=[leads[0].pk, leads[1].pk]).values_list("owner_id", flat=True)
    ) == {floor.bob.pk}
    assert Decision.objects.get(lead=leads[0], effective=True).kind == "manual"


def test_routing_a_selection_again_and_bad_input_moves_nothing(floor, as_user):
    lead = floor.lead()
    client = as_user(floor.manager)
    for bad in (
        {"action": "reassign", "reason": "x", "leads": [lead.pk]},  # no rep
        {"action": "reroute", "reason": "x", "leads": ["1; DROP"]},
        {"action": "reroute", "reason": "", "leads": [lead.pk]},
        {"action": "teleport", "reason": "x", "leads": [lead.pk]},
        {"action": "reroute", "reason": "x"},
    ):
        answer = client.post(MOVE, bad, follow=True)
        assert answer.status_code == 200 and "Nothing moved" in answer.content.decode(), bad
    assert Decision.objects.filter(lead=lead).count() == 1
    answer = client.post(
        MOVE, {"action": "reroute", "reason": "Rules", "leads": [lead.pk]}, follow=True
    )
    assert "1 of 1 leads routed again." in answer.content.decode()
    assert Decision.objects.get(lead=lead, effective=True).kind == "reroute"


def test_another_teams_manager_cannot_move_these_leads(floor, as_user):
    lead = floor.lead()
    answer = as_user(floor.other_manager).post(
        MOVE, {"action": "reroute", "reason": "x", "leads": [lead.pk]}, follow=True
    )
    assert "1 not moved" in answer.content.decode()
    assert Decision.objects.filter(lead=lead).count() == 1
