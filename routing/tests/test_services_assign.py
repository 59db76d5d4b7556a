import importlib
from collections import Counter

import pytest
from django.db import connection

from leadhub.leads.services import lead_transition
from leadhub.leads.tests.factories import LeadFactory
from reps.tests.factories import RepFactory, TeamFactory
from routing.models import Decision, PoolState, Publication, Rule
from routing.services import (
    RoutingError,
    decision_refund,
    lead_reassign,
    lead_route,
    ruleset_draft,
    ruleset_publish,
    ruleset_rollback,
)
from routing.tests.factories import PoolFactory, PoolMemberFactory

pytestmark = pytest.mark.django_db


def publish(*rules: dict) -> None:
    draft = ruleset_draft()
    draft.rules.all().delete()
    for position, rule in enumerate(rules):
        Rule.objects.create(ruleset=draft, position=position, **rule)
    ruleset_publish(note="test")


@pytest.fixture
def pool():
    team = TeamFactory(name="EMEA")
    pool = PoolFactory(name="EMEA round robin", team=team)
    for position in range(3):
        PoolMemberFactory(pool=pool, rep=RepFactory(team=team), position=position)
    return pool


def test_with_no_published_rules_a_lead_goes_to_triage_with_a_decision():
    lead = LeadFactory()
    decision = lead_route(lead_id=lead.pk)
    lead.refresh_from_db()
    assert (decision.outcome, lead.status) == ("triage", "triage")
    assert "No rule matched" in decision.payload["explanation"][0]


def test_round_robin_pool_assigns_in_turn_and_persists_the_rotation(pool):
    publish({"name": "Everyone", "condition": {}, "action": "pool", "action_pool": pool})
    decisions = [lead_route(lead_id=LeadFactory().pk) for _ in range(6)]
    owners = Counter(d.rep_id for d in decisions)
    assert sorted(owners.values()) == [2, 2, 2]
    assert [d.rep_id for d in decisions[:3]] == [d.rep_id for d in decisions[3:]]
    state = PoolState.objects.get(pool=pool)
    assert sum(state.assigned.values()) == 6
    assert all(d.rotation and d.effective for d in decisions)


def test_routing_twice_does_nothing_the_second_time(pool):
    publish({"name": "Everyone", "condition": {}, "action": "pool", "action_pool": pool})
    lead = LeadFactory()
    assert lead_route(lead_id=lead.pk) is not None
    assert lead_route(lead_id=lead.pk) is None
    assert Decision.objects.filter(lead=lead).count() == 1


def test_publish_refuses_a_draft_that_does_not_compile_and_rollback_restores_a_version(pool):
    publish({"name": "v1", "condition": {}, "action": "pool", "action_pool": pool})
    draft = ruleset_draft()
    Rule.objects.create(
        ruleset=draft,
        position=9,
        name="bad",
        condition={"field": "country", "op": "like", "value": "x"},
        action="triage",
    )
    with pytest.raises(RoutingError, match="like"):
        ruleset_publish()
    draft.rules.filter(name="bad").delete()
    Rule.objects.filter(ruleset=draft).update(action="triage", action_pool=None)
    v2 = ruleset_publish()
    assert v2.version == 2
    assert lead_route(lead_id=LeadFactory().pk).outcome == "triage"
    ruleset_rollback(version=1)
    assert lead_route(lead_id=LeadFactory().pk).outcome == "assigned"
    assert list(Publication.objects.values_list("ruleset__version", "is_rollback")) == [
        (1, True),
        (2, False),
        (1, False),
    ]


def test_manual_reassignment_needs_a_reason_and_supersedes_the_decision(pool):
    publish({"name": "Everyone", "condition": {}, "action": "pool", "action_pool": pool})
    lead = LeadFactory()
    first = lead_route(lead_id=lead.pk)
    other = next(m.rep for m in pool.members.all() if m.rep_id != first.rep_id)
    with pytest.raises(RoutingError, match="reason"):
        lead_reassign(lead_id=lead.pk, rep_id=other.pk, actor=None, reason=" ")
    manual = lead_reassign(lead_id=lead.pk, rep_id=other.pk, actor=None, reason="Speaks German")
    first.refresh_from_db()
    lead.refresh_from_db()
    assert (first.effective, manual.effective, manual.rotation) == (False, True, False)
    assert lead.owner == other
    assert lead.events.filter(kind="reassigned").exists()


def test_a_junk_lead_refunds_its_pool_turn_once(pool):
    publish({"name": "Everyone", "condition": {}, "action": "pool", "action_pool": pool})
    lead = LeadFactory()
    decision = lead_route(lead_id=lead.pk)
    lead_transition(lead_id=lead.pk, status="junk")
    assert decision_refund(lead_id=lead.pk) is True
    assert decision_refund(lead_id=lead.pk) is False
    assert PoolState.objects.get(pool=pool).assigned[str(decision.rep_id)] == 0


def test_a_big_capture_is_routed_in_tasks_of_at_most_fifty_leads(monkeypatch):
    from leadhub import lanes
    from routing import receivers

    batches = []

    def enqueue(lane, func, ids, **options):
        assert (lane, func) == (lanes.ROUTING, "routing.tasks.route_leads")
        batches.append(ids)

    monkeypatch.setattr(lanes, "enqueue", enqueue)
    receivers.route_captured(None, lead_ids=list(range(120)))
    assert [len(b) for b in batches] == [50, 50, 20]
    assert [i for batch in batches for i in batch] == list(range(120))


def test_a_lead_keeps_the_rule_of_its_first_automatic_decision(pool):
    publish({"name": "Everyone", "condition": {}, "action": "pool", "action_pool": pool})
    lead = LeadFactory()
    first = lead_route(lead_id=lead.pk)
    lead.refresh_from_db()
    assert lead.routed_rule == "Everyone"

    other = next(m.rep for m in pool.members.all() if m.rep_id != first.rep_id)
    lead_reassign(lead_id=lead.pk, rep_id=other.pk, actor=None, reason="Covering")
    lead.refresh_from_db()
    assert lead.routed_rule == "Everyone"

    unmatched = LeadFactory()
    publish()
    lead_route(lead_id=unmatched.pk)
    unmatched.refresh_from_db()
    assert unmatched.routed_rule == ""  # routed, no rule matched
    assert LeadFactory().routed_rule is None  # not routed yet


def test_the_backfill_stamps_the_first_automatic_decisions_rule(pool):
    migration = importlib.import_module("routing.migrations.0006_lead_routed_rule_backfill")
    lead, untouched = LeadFactory(), LeadFactory()
    for name in ("First", "Later"):
        Decision.objects.create(lead=lead, kind="auto", rule_name=name, outcome="triage",
                                effective=False)  # fmt: skip
    Decision.objects.create(lead=untouched, kind="manual", outcome="triage", effective=False)

    with connection.cursor() as cursor:
        cursor.execute(migration.BACKFILL)
        cursor.execute(migration.BACKFILL)  # twice: nothing more to do

    lead.refresh_from_db()
    untouched.refresh_from_db()
    assert (lead.routed_rule, untouched.routed_rule) == ("First", None)


# --- Escalations to a manager: a ceiling of their own ---------------------------------


@pytest.fixture
def capped_team():
    """A pool whose only member is at their cap, a rule falling back to the manager, and
    a manager with a routine cap of 1 and a ceiling of 2 escalated leads."""
    team = TeamFactory(name="AMER")
    pool = PoolFactory(name="AMER pool", team=team, settings={"check_hours": False})
    PoolMemberFactory(pool=pool, rep=RepFactory(team=team, max_open=0), position=0)
    manager = RepFactory(team=team, role="manager", max_open=1, max_escalated=2)
    publish(
        {
            "name": "All",
            "condition": {},
            "action": "pool",
            "action_pool": pool,
            "fallback": "manager",
        }
    )
    return manager


def ceiling_notices(manager) -> int:
    from sla.models import Notification

    return Notification.objects.filter(
        rep=manager, event="manager.escalation_ceiling", channel="in_app"
    ).count()


def test_escalations_past_the_managers_ceiling_go_to_triage_and_the_manager_is_told_once(
    capped_team,
):
    manager = capped_team
    leads = [LeadFactory() for _ in range(5)]
    outcomes = [(d.outcome, d.rep_id) for d in (lead_route(lead_id=x.pk) for x in leads)]
    assert outcomes == [("assigned", manager.pk)] * 2 + [("triage", None)] * 3
    assert ceiling_notices(manager) == 1
    # A closed escalated lead frees a place under the ceiling.
    lead_transition(lead_id=leads[0].pk, status="junk")
    assert lead_route(lead_id=LeadFactory().pk).rep_id == manager.pk
    assert ceiling_notices(manager) == 2


def test_the_setting_is_the_ceiling_of_a_manager_without_one_of_their_own(capped_team, settings):
    settings.LEADHUB_MANAGER_MAX_ESCALATED = 1
    manager = capped_team
    manager.max_escalated = None
    manager.save(update_fields=["max_escalated"])
    first, second = (lead_route(lead_id=LeadFactory().pk) for _ in range(2))
    assert (first.rep_id, second.outcome) == (manager.pk, "triage")


def test_an_sla_escalation_past_the_managers_ceiling_goes_to_triage(capped_team):
    from routing.services import lead_escalate

    manager = capped_team
    manager.max_escalated = 1
    manager.save(update_fields=["max_escalated"])
    team = manager.team
    pool = PoolFactory(name="AMER open", team=team, settings={"check_hours": False})
    PoolMemberFactory(pool=pool, rep=RepFactory(team=team), position=0)
    publish({"name": "Open", "condition": {}, "action": "pool", "action_pool": pool})
    first, second = (lead_route(lead_id=LeadFactory().pk).lead_id for _ in range(2))
    assert lead_escalate(lead_id=first, reason="SLA").rep_id == manager.pk
    assert ceiling_notices(manager) == 1
    to_triage = lead_escalate(lead_id=second, reason="SLA")
    assert (to_triage.outcome, to_triage.rep_id) == ("triage", None)
    explanation = to_triage.payload["explanation"]
    assert explanation[0] == "SLA"
    assert f"{manager.user.get_full_name() or manager} holds 1 open escalated leads" in (
        " ".join(explanation)
    )
    assert ceiling_notices(manager) == 1
