"""What the owner and their managers do to a lead in its lifecycle: accept it, log a touch,
change its status. Who may ask is the callers' check (routing.selectors); these guard the
owner's own steps and the lifecycle."""

import pytest

from leadhub.leads.models import LeadEvent
from leadhub.leads.services import (
    ROUTING_STATUSES,
    LeadTransitionError,
    lead_accept,
    lead_set_status,
    lead_touch,
)
from leadhub.leads.signals import lead_accepted
from leadhub.leads.tests.factories import LeadFactory
from reps.tests.factories import RepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    """The leads ``lead_accepted`` announced, with their status at that moment."""
    got: list[tuple[int, str]] = []

    def receiver(sender, lead, **kwargs):
        got.append((lead.pk, lead.status))

    lead_accepted.connect(receiver, dispatch_uid="test_services_work")
    yield got
    lead_accepted.disconnect(dispatch_uid="test_services_work")


@pytest.mark.parametrize("status", [*sorted(ROUTING_STATUSES), "accepted"])
def test_statuses_routing_or_the_owner_set_are_refused_by_hand(status):
    lead = LeadFactory()
    with pytest.raises(LeadTransitionError):
        lead_set_status(lead_id=lead.pk, status=status)


def test_a_status_change_is_recorded_with_its_reason():
    lead = LeadFactory(status="assigned", owner=RepFactory())
    lead_set_status(lead_id=lead.pk, status="disqualified", reason="  Spam ")
    event = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.STATUS_CHANGED)
    assert event.data == {"from": "assigned", "to": "disqualified", "reason": "Spam"}


def test_the_owner_accepts_and_the_acceptance_is_announced_once(heard):
    owner, other = RepFactory(), RepFactory()
    lead = LeadFactory(status="assigned", owner=owner)
    with pytest.raises(LeadTransitionError, match="owner can accept it"):
        lead_accept(lead_id=lead.pk, rep_id=other.pk)
    assert heard == []

    assert lead_accept(lead_id=lead.pk, rep_id=owner.pk).status == "accepted"
    assert heard == [(lead.pk, "accepted")]
    with pytest.raises(LeadTransitionError, match="An accepted lead cannot be accepted"):
        lead_accept(lead_id=lead.pk, rep_id=owner.pk)
    assert heard == [(lead.pk, "accepted")]


def test_only_the_owner_logs_a_touch_and_accepting_on_the_way_is_no_announcement(heard):
    owner, other = RepFactory(), RepFactory()
    lead = LeadFactory(status="assigned", owner=owner)
    with pytest.raises(LeadTransitionError, match="owner can log a touch"):
        lead_touch(lead_id=lead.pk, rep_id=other.pk, kind="call")
    assert not LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.TOUCHED).exists()

    assert lead_touch(lead_id=lead.pk, rep_id=owner.pk, kind="call").status == "contacted"
    assert heard == []
