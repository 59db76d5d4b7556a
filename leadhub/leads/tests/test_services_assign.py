import pytest

from leadhub.leads.models import LeadEvent
from leadhub.leads.services import LeadTransitionError, lead_assign, lead_capture, lead_transition
from leadhub.leads.signals import leads_captured
from leadhub.leads.tests.factories import LeadFactory
from reps.tests.factories import RepFactory

pytestmark = pytest.mark.django_db


def test_first_assignment_sets_owner_status_and_time_with_an_assigned_event():
    lead, rep = LeadFactory(), RepFactory()
    lead_assign(lead=lead, rep_id=rep.pk, data={"decision": 7})
    lead.refresh_from_db()
    assert (lead.owner, lead.status) == (rep, "assigned")
    assert lead.assigned_at is not None
    event = lead.events.get(kind=LeadEvent.Kind.ASSIGNED)
    assert event.data == {"to": rep.pk, "from": None, "from_status": "new", "decision": 7}


def test_reassignment_records_the_previous_owner_and_asks_the_new_one_to_accept():
    lead, ana, bo = LeadFactory(), RepFactory(), RepFactory()
    lead_assign(lead=lead, rep_id=ana.pk)
    lead = lead_transition(lead_id=lead.pk, status="accepted")
    lead_assign(lead=lead, rep_id=bo.pk, data={"reason": "Ana is out"})
    lead.refresh_from_db()
    assert (lead.owner, lead.status, lead.accepted_at) == (bo, "assigned", None)
    assert lead.events.get(kind=LeadEvent.Kind.REASSIGNED).data["from"] == ana.pk


def test_a_closed_lead_cannot_be_assigned():
    lead = LeadFactory(status="junk")
    with pytest.raises(LeadTransitionError):
        lead_assign(lead=lead, rep_id=RepFactory().pk)


def test_new_leads_are_announced_after_commit_and_duplicates_are_not(
    django_capture_on_commit_callbacks,
):
    seen: list[list[int]] = []

    def receiver(sender, lead_ids, **kwargs):
        seen.append(lead_ids)

    leads_captured.connect(receiver)
    try:
        data = {"email": "a@x.com", "company": "X", "country": "DE"}
        with django_capture_on_commit_callbacks(execute=True):
            first = lead_capture(data=data, channel="api")
        with django_capture_on_commit_callbacks(execute=True):
            lead_capture(data=data, channel="api")
    finally:
        leads_captured.disconnect(receiver)
    assert seen == [[first.lead.pk]]
