import pytest

from leadhub.leads.tests.factories import LeadFactory
from reps.models import Rep
from reps.services import rep_update
from reps.tests.factories import RepFactory, TeamFactory
from routing.models import Rule
from routing.services import lead_reassign, lead_route, ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory
from sla.models import Notification
from sla.services import notification_for_decision, notification_mark_read

pytestmark = pytest.mark.django_db


@pytest.fixture
def routed(django_capture_on_commit_callbacks):
    team = TeamFactory()
    pool = PoolFactory(team=team)
    PoolMemberFactory(pool=pool, rep=RepFactory(team=team))
    draft = ruleset_draft()
    Rule.objects.create(ruleset=draft, name="All", condition={}, action="pool", action_pool=pool)
    ruleset_publish()
    lead = LeadFactory(first_name="Ana", last_name="Lima", company="Initech")
    with django_capture_on_commit_callbacks(execute=True):
        decision = lead_route(lead_id=lead.pk)
    return decision


def test_the_assigned_rep_gets_one_unread_in_app_notification_after_commit(routed):
    note = Notification.objects.get(channel="in_app")
    assert (note.rep_id, note.lead_id, note.event) == (
        routed.rep_id,
        routed.lead_id,
        "lead.assigned",
    )
    assert (note.status, note.sent_at) == ("sent", note.created_at)
    assert note.title == "New lead: Ana Lima (Initech)"
    assert note.read_at is None
    assert notification_for_decision(decision_id=routed.pk) == note  # idempotent
    assert Notification.objects.filter(channel="in_app").count() == 1
    assert notification_mark_read(notification=note).read_at is not None


def test_triage_decisions_notify_nobody_and_a_manual_reassignment_tells_the_new_rep(
    routed, django_capture_on_commit_callbacks
):
    other = RepFactory()
    with django_capture_on_commit_callbacks(execute=True):
        manual = lead_reassign(lead_id=routed.lead_id, rep_id=other.pk, actor=None, reason="VIP")
    assert Notification.objects.get(decision=manual, channel="in_app").event == "lead.reassigned"
    assert notification_for_decision(decision_id=routed.pk).rep_id == routed.rep_id
    rep_update(rep=Rep.objects.get(pk=routed.rep_id), active=False)  # the pool empties: triage
    triage = LeadFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert lead_route(lead_id=triage.pk).outcome == "triage"
    assert not Notification.objects.filter(lead=triage).exists()
