"""Every move of a lead is an engine decision stored one way: the SLA escalation held back
by what holds back the rules' manager fallback, one payload format for every kind,
abandoned partial leads routed, re-routing (one lead, a selection), and handover."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from leadhub.leads.models import Lead
from leadhub.leads.services import lead_capture_partial, lead_transition
from leadhub.leads.tests.factories import LeadFactory, WebFormFactory
from reps.models import Rep
from reps.services import rep_set_presence, rep_update, time_off_add
from reps.tests.factories import RepFactory, TeamFactory, UserFactory
from routing import engine
from routing.models import Decision, Handover, PoolState, Rule
from routing.services import (
    RoutingError,
    handovers_due,
    lead_claim,
    lead_decline,
    lead_escalate,
    lead_reassign,
    lead_release,
    lead_reroute,
    lead_route,
    lead_sla_reassign,
    lead_sla_triage,
    leads_pending,
    rep_handover,
    ruleset_draft,
    ruleset_publish,
    time_off_handover,
)
from routing.tests.factories import PoolFactory, PoolMemberFactory

pytestmark = pytest.mark.django_db

OPEN = {"check_hours": False}


def publish(*rules: dict) -> None:
    draft = ruleset_draft()
    draft.rules.all().delete()
    for position, rule in enumerate(rules):
        Rule.objects.create(ruleset=draft, position=position, **rule)
    ruleset_publish(note="test")


@pytest.fixture
def team():
    """A team with a manager and a round-robin pool of three reps, every lead to it."""
    row = TeamFactory(name="EMEA")
    team = SimpleNamespace(
        row=row,
        manager=RepFactory(team=row, role="manager"),
        pool=PoolFactory(name="EMEA pool", team=row, settings=OPEN),
        reps=[RepFactory(team=row) for _ in range(3)],
    )
    for position, rep in enumerate(team.reps):
        PoolMemberFactory(pool=team.pool, rep=rep, position=position)
    publish({"name": "All", "condition": {}, "action": "pool", "action_pool": team.pool})
    return team


# --- SLA escalation: the engine's rule for a manager -------------------------------------


@pytest.mark.parametrize("presence", ["offline"])
def test_an_sla_escalation_to_an_offline_manager_goes_to_triage_as_the_fallback_does(
    team, presence
):
    lead = LeadFactory()
    routed = lead_route(lead_id=lead.pk)
    rep_set_presence(rep=team.manager, presence=presence, actor=None)
    escalation = lead_escalate(lead_id=lead.pk, reason="SLA: accept deadline missed")
    assert (escalation.outcome, escalation.rep_id) == ("triage", None)
    assert "team manager" in " ".join(escalation.payload["explanation"])
    lead.refresh_from_db()
    assert (lead.status, lead.owner_id) == ("triage", None)
    assert routed.rep_id in {r.pk for r in team.reps}

    # The rules' manager fallback says the same about the same manager.
    for rep in team.reps:
        rep_update(rep=rep, max_open=0)
    publish(
        {
            "name": "All",
            "condition": {},
            "action": "pool",
            "action_pool": team.pool,
            "fallback": "manager",
        }
    )
    assert lead_route(lead_id=LeadFactory().pk).outcome == "triage"


def test_an_sla_escalation_reaches_an_available_manager_and_not_twice(team):
    lead = LeadFactory()
    lead_route(lead_id=lead.pk)
    escalation = lead_escalate(lead_id=lead.pk, reason="SLA")
    assert (escalation.outcome, escalation.rep_id, escalation.method) == (
        "assigned",
        team.manager.pk,
        "escalation",
    )
    assert lead_escalate(lead_id=lead.pk, reason="SLA") is None  # the manager holds it


def test_an_escalation_of_a_lead_already_in_triage_leaves_it_there_without_a_decision(team):
    lead = LeadFactory()
    lead_route(lead_id=lead.pk)
    lead_sla_triage(lead_id=lead.pk, reason="SLA")
    rep_set_presence(rep=team.manager, presence="offline", actor=None)
    before = Decision.objects.filter(lead=lead).count()
    assert lead_escalate(lead_id=lead.pk, reason="SLA") is None
    assert Decision.objects.filter(lead=lead).count() == before


# --- One payload for every kind ------------------------------------------------------------

PAYLOAD_KEYS = set(engine.decide_triage({}, engine.World(), timezone.now(), why="").to_dict()) | {
    "kind",
    "reason",
    "from_rep_id",
}


def test_every_kind_of_decision_is_stored_in_one_payload_format(team):
    claim_pool = PoolFactory(name="Queue", team=team.row, method="claim_queue", settings=OPEN)
    PoolMemberFactory(pool=claim_pool, rep=team.reps[0], position=0)
    lead = LeadFactory()
    made = [lead_route(lead_id=lead.pk)]
    owner = made[0].rep_id
    made.append(lead_decline(lead_id=lead.pk, rep_id=owner, reason="Not mine"))
    made.append(lead_sla_reassign(lead_id=lead.pk, reason="SLA"))
    made.append(lead_escalate(lead_id=lead.pk, reason="SLA"))
    made.append(lead_reassign(lead_id=lead.pk, rep_id=team.reps[2].pk, actor=None, reason="VIP"))
    made.append(lead_sla_triage(lead_id=lead.pk, reason="SLA"))
    made.append(lead_reroute(lead_id=lead.pk, actor=None, reason="Rules changed"))
    publish({"name": "Queue", "condition": {}, "action": "pool", "action_pool": claim_pool})
    queued = LeadFactory()
    made.append(lead_route(lead_id=queued.pk))
    made.append(lead_claim(lead_id=queued.pk, rep=team.reps[0]))
    made.append(lead_release(lead_id=queued.pk, rep=team.reps[0]))
    kinds = {d.kind for d in made}
    assert kinds == {"auto", "decline", "sla", "manual", "reroute", "claim", "release"}
    for decision in made:
        assert set(decision.payload) == PAYLOAD_KEYS, decision.kind
        assert decision.payload["kind"] == decision.kind
        assert decision.payload["explanation"], decision.kind
        assert decision.payload["outcome"] == decision.outcome
    assert made[4].payload["from_rep_id"] == team.manager.pk
    assert Decision.objects.filter(lead=lead, effective=True).count() == 1


# --- Abandoned partial leads --------------------------------------------------------------


def test_an_abandoned_partial_lead_is_routed_and_a_rule_can_send_it_to_triage(team, settings):
    settings.LEADHUB_PARTIAL_ROUTE_MINUTES = 30
    publish(
        {
            "name": "Partial: triage",
            "condition": {"field": "partial", "op": "eq", "value": True},
            "action": "triage",
        },
        {"name": "All", "condition": {}, "action": "pool", "action_pool": team.pool},
    )
    lead, errors = lead_capture_partial(
        form=WebFormFactory(), form_session="s-1", data={"email": "half@typed.example"}
    )
    assert not errors
    assert lead.is_partial and lead.status == "new"
    assert lead.pk not in leads_pending(older_than=timedelta(0))
    assert lead_route(lead_id=lead.pk) is None  # still being typed

    Lead.objects.filter(pk=lead.pk).update(updated_at=timezone.now() - timedelta(minutes=31))
    assert lead.pk in leads_pending(older_than=timedelta(0))
    decision = lead_route(lead_id=lead.pk)
    assert (decision.outcome, decision.rule_name) == ("triage", "Partial: triage")


# --- Re-route -----------------------------------------------------------------------------


def test_a_lead_in_triage_is_routed_again_by_the_rules_now_in_force(team):
    publish()  # nothing matches: triage
    lead = LeadFactory()
    assert lead_route(lead_id=lead.pk).outcome == "triage"
    publish({"name": "All", "condition": {}, "action": "pool", "action_pool": team.pool})
    decision = lead_reroute(lead_id=lead.pk, actor=None, reason="Rules fixed")
    assert (decision.kind, decision.outcome, decision.reason) == (
        "reroute",
        "assigned",
        "Rules fixed",
    )
    lead.refresh_from_db()
    assert lead.owner_id == decision.rep_id and lead.status == "assigned"


def test_re_routing_to_the_same_owner_moves_nothing_and_counts_no_second_turn(team):
    only = team.reps[0]
    for rep in team.reps[1:]:
        rep_update(rep=rep, active=False)
    lead = LeadFactory()
    lead_route(lead_id=lead.pk)
    lead_transition(lead_id=lead.pk, status="accepted")
    decision = lead_reroute(lead_id=lead.pk, actor=None, reason="Check")
    lead.refresh_from_db()
    assert (decision.rep_id, lead.owner_id, lead.status) == (only.pk, only.pk, "accepted")
    assert not decision.rotation
    assert sum(PoolState.objects.get(pool=team.pool).assigned.values()) == 1


def test_a_closed_lead_is_not_routed_again(team):
    lead = LeadFactory()
    lead_route(lead_id=lead.pk)
    lead_transition(lead_id=lead.pk, status="junk")
    with pytest.raises(RoutingError, match="closed"):
        lead_reroute(lead_id=lead.pk, actor=None, reason="Again")


def test_the_api_reroutes_for_revops_and_the_team_manager_only(team, api):
    lead = LeadFactory()
    lead_route(lead_id=lead.pk)
    url = f"/api/leads/{lead.pk}/reroute/"
    other_manager = RepFactory(role="manager")
    api.force_authenticate(other_manager.user)
    assert api.post(url, {"reason": "x"}, format="json").status_code == 404
    api.force_authenticate(Lead.objects.get(pk=lead.pk).owner.user)
    assert api.post(url, {"reason": "x"}, format="json").status_code == 403
    api.force_authenticate(team.manager.user)
    assert api.post(url, {}, format="json").status_code == 400
    answer = api.post(url, {"reason": "Territories changed"}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["kind"] == "reroute"


def test_a_bulk_reassignment_moves_each_lead_and_says_why_one_was_refused(team, api):
    leads = [LeadFactory() for _ in range(3)]
    for lead in leads:
        lead_route(lead_id=lead.pk)
    lead_transition(lead_id=leads[2].pk, status="junk")
    target = team.reps[0]
    api.force_authenticate(team.manager.user)
    answer = api.post(
        "/api/leads/bulk/",
        {
            "action": "reassign",
            "leads": [x.pk for x in leads] + [999_999],
            "rep": target.pk,
            "reason": "Coverage",
        },
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    by_lead = {row["lead"]: row for row in answer.json()}
    moved = [x.pk for x in leads if by_lead[x.pk]["decision"]]
    already = [x.pk for x in leads[:2] if Lead.objects.get(pk=x.pk).owner_id == target.pk]
    assert set(moved) | set(already) >= {leads[0].pk, leads[1].pk}
    assert "junk" in by_lead[leads[2].pk]["error"].lower()
    assert by_lead[999_999]["error"] == "No such lead."
    bad = api.post(
        "/api/leads/bulk/", {"action": "reassign", "leads": [1], "reason": "x"}, format="json"
    )
    assert bad.status_code == 400 and "rep" in bad.json()


# --- Handover -----------------------------------------------------------------------------


def _owned_by(rep: Rep, count: int) -> list[Lead]:
    leads = []
    while len(leads) < count:
        lead = LeadFactory()
        if lead_route(lead_id=lead.pk).rep_id == rep.pk:
            leads.append(lead)
    return leads


def test_a_dry_run_lists_where_each_lead_would_go_and_the_handover_does_exactly_that(team):
    leaving = team.reps[0]
    leads = _owned_by(leaving, 3)
    decisions_before = Decision.objects.count()
    plan = rep_handover(rep=leaving, reason="Leaves the company", dry_run=True)
    assert Decision.objects.count() == decisions_before
    assert [i.lead_id for i in plan] == [x.pk for x in leads]
    assert all(i.outcome == "assigned" and i.rep_id != leaving.pk for i in plan)

    done = rep_handover(rep=leaving, reason="Leaves the company")
    assert [(i.lead_id, i.rep_id) for i in done] == [(i.lead_id, i.rep_id) for i in plan]
    for item in done:
        decision = Decision.objects.get(pk=item.decision_id)
        assert (decision.kind, decision.effective) == ("handover", True)
        assert "Leaves the company" in decision.reason
    assert not Lead.objects.filter(owner=leaving).exists()
    assert Handover.objects.get().moved == 3


def test_a_handover_to_a_successor_gives_them_every_open_lead(team):
    leaving, successor = team.reps[0], team.reps[1]
    leads = _owned_by(leaving, 2)
    lead_transition(lead_id=leads[0].pk, status="accepted")
    done = rep_handover(rep=leaving, successor=successor, reason="Parental leave")
    assert {i.rep_id for i in done} == {successor.pk}
    assert set(Lead.objects.filter(owner=successor).values_list("pk", flat=True)) >= {
        x.pk for x in leads
    }
    with pytest.raises(RoutingError, match="another rep"):
        rep_handover(rep=leaving, successor=leaving, reason="x")


def test_switching_a_rep_off_hands_their_leads_on_after_commit(
    team, django_capture_on_commit_callbacks, settings
):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    leaving = team.reps[0]
    leads = _owned_by(leaving, 2)
    with django_capture_on_commit_callbacks(execute=True):
        rep_update(rep=leaving, active=False)
    assert not Lead.objects.filter(owner=leaving).exists()
    handover = Handover.objects.get()
    assert (handover.trigger, handover.moved) == ("deactivated", 2)
    assert all(Decision.objects.get(lead=x, effective=True).kind == "handover" for x in leads)


def test_long_time_off_hands_leads_on_once_when_it_begins_and_short_time_off_does_not(
    team, settings
):
    settings.LEADHUB_HANDOVER_TIME_OFF_DAYS = 2
    away, briefly = team.reps[0], team.reps[1]
    _owned_by(away, 1)
    _owned_by(briefly, 1)
    now = timezone.now()
    long_off = time_off_add(
        rep=away,
        start=now - timedelta(hours=1),
        end=now + timedelta(days=5),
        reason="Vacation",
        actor=None,
    )
    time_off_add(
        rep=briefly,
        start=now - timedelta(hours=1),
        end=now + timedelta(hours=20),
        reason="",
        actor=None,
    )
    future = time_off_add(
        rep=team.reps[2],
        start=now + timedelta(days=1),
        end=now + timedelta(days=9),
        reason="",
        actor=None,
    )
    assert handovers_due() == [long_off.pk]
    moved = time_off_handover(time_off_id=long_off.pk)
    assert len(moved) == 1 and moved[0].rep_id != away.pk
    assert time_off_handover(time_off_id=long_off.pk) == []  # once
    assert handovers_due() == []
    assert future.pk not in handovers_due()


def test_the_handover_api_needs_the_teams_manager_and_a_dry_run_writes_nothing(team, api):
    leaving = team.reps[0]
    _owned_by(leaving, 2)
    url = f"/api/reps/{leaving.pk}/handover/"
    api.force_authenticate(team.reps[1].user)
    assert api.post(url, {"reason": "x"}, format="json").status_code in (403, 404)
    api.force_authenticate(UserFactory())
    assert api.post(url, {"reason": "x"}, format="json").status_code in (403, 404)
    api.force_authenticate(team.manager.user)
    before = Decision.objects.count()
    dry = api.post(url, {"reason": "Leaves", "dry_run": True}, format="json")
    assert dry.status_code == 200, dry.json()
    assert len(dry.json()) == 2 and all(row["decision"] is None for row in dry.json())
    assert Decision.objects.count() == before
    done = api.post(url, {"reason": "Leaves", "successor": team.reps[2].pk}, format="json")
    assert done.status_code == 200
    assert {row["rep"] for row in done.json()} == {team.reps[2].pk}
    bad = api.post(url, {"reason": "", "successor": "x"}, format="json")
    assert bad.status_code == 400 and {"reason", "successor"} <= set(bad.json())


@pytest.mark.parametrize(
    "url, body, field",
    [
        ("/api/leads/bulk/", {"action": "reroute", "leads": [2**70], "reason": "x"}, "leads"),
        ("/api/leads/bulk/", {"action": "reroute", "leads": [1], "reason": "a\x00"}, "reason"),
        ("/api/leads/bulk/", {"action": "reroute", "leads": [1] * 501, "reason": "x"}, "leads"),
        ("/api/leads/bulk/", {"action": "warp", "leads": [1], "reason": "x"}, "action"),
        ("/api/reps/{rep}/handover/", {"reason": "x", "successor": 2**70}, "successor"),
        ("/api/reps/{rep}/handover/", {"reason": "x", "dry_run": "maybe"}, "dry_run"),
    ],
)
def test_bad_input_to_the_move_endpoints_is_a_400_naming_the_field(revops_api, url, body, field):
    rep = RepFactory()
    answer = revops_api.post(url.format(rep=rep.pk), body, format="json")
    assert answer.status_code == 400 and field in answer.json()
