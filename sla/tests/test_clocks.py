"""SLA clocks: started by assignment, met by accept and touch, paused, and the sweep's
ladder (remind → reassign → escalate → triage), each step once."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine

from leadhub.leads.models import Lead, LeadEvent
from leadhub.leads.services import LeadTransitionError, lead_accept, lead_touch, lead_transition
from leadhub.leads.tests.factories import LeadFactory
from reps.models import Rep
from reps.tests.factories import RepFactory, TeamFactory
from routing.models import Decision, Pool, Rule
from routing.services import (
    RoutingError,
    lead_claim,
    lead_decline,
    lead_route,
    ruleset_draft,
    ruleset_publish,
)
from routing.tests.factories import PoolFactory, PoolMemberFactory
from sla import clocks
from sla.models import (
    BusinessCalendar,
    BusinessHours,
    Notification,
    SlaClock,
    SlaPolicy,
    SlaStep,
)
from sla.tests.factories import WebhookSubscriptionFactory

pytestmark = pytest.mark.django_db

# Tuesday 24 November 2026, 15:00 UTC.
T0 = datetime(2026, 11, 24, 15, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def team():
    team = TeamFactory(name="Inside sales")
    RepFactory(team=team, role=Rep.Role.MANAGER, user__username="manager")
    return team


def publish_to(pool: Pool) -> None:
    draft = ruleset_draft()
    Rule.objects.create(ruleset=draft, name="All", condition={}, action="pool", action_pool=pool)
    ruleset_publish()


@pytest.fixture
def pool(team):
    pool = PoolFactory(name="Inside", team=team, settings={"check_hours": False})
    for position, name in enumerate(["ann", "bob", "cyd"]):
        PoolMemberFactory(
            pool=pool, rep=RepFactory(team=team, user__username=name), position=position
        )
    publish_to(pool)
    return pool


def ladder_policy(**fields) -> SlaPolicy:
    policy = SlaPolicy.objects.create(
        name="Demo requests", accept_minutes=5, touch_minutes=15, **fields
    )
    SlaStep.objects.create(policy=policy, position=1, action="remind", minutes=2)
    SlaStep.objects.create(policy=policy, position=2, action="reassign", times=2)
    SlaStep.objects.create(policy=policy, position=3, action="escalate")
    SlaStep.objects.create(policy=policy, position=4, action="triage")
    return policy


def owner_name(lead: Lead) -> str | None:
    lead.refresh_from_db()
    return lead.owner.user.username if lead.owner_id else None


def running(lead: Lead, kind: str = "accept") -> SlaClock:
    return SlaClock.objects.get(lead=lead, kind=kind, status="running")


def sla_events(lead: Lead) -> list[tuple[str, str]]:
    return [
        (e.data["step"], e.data.get("action", e.data["clock"]))
        for e in LeadEvent.objects.filter(lead=lead, kind="sla").order_by("at", "pk")
    ]


def test_assignment_starts_the_policys_clocks_and_no_policy_starts_none(clock, pool):
    ladder_policy(condition={"field": "source", "op": "eq", "value": "demo"})
    plain = LeadFactory(source="website")
    demo = LeadFactory(source="demo")

    lead_route(lead_id=plain.pk)
    decision = lead_route(lead_id=demo.pk)

    assert not SlaClock.objects.filter(lead=plain).exists()
    accept, touch = running(demo, "accept"), running(demo, "touch")
    assert (accept.rep_id, accept.due_at, accept.next_at) == (
        decision.rep_id,
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=3),  # the reminder, 2 minutes before
    )
    assert touch.due_at == T0 + timedelta(minutes=15)


def test_deadlines_count_business_time_in_the_policys_calendar(pool):
    calendar = BusinessCalendar.objects.create(name="NY", timezone="America/New_York")
    for weekday in range(5):
        BusinessHours.objects.create(
            calendar=calendar, weekday=weekday, start=time(9), end=time(17)
        )
    SlaPolicy.objects.create(name="Content", touch_minutes=60, calendar=calendar)
    friday_late = datetime(2026, 11, 27, 21, 40, tzinfo=UTC)  # Fri 16:40 in New York
    with time_machine.travel(friday_late, tick=False):
        lead_route(lead_id=(lead := LeadFactory()).pk)

    # 20 minutes on Friday, 40 on Monday from 09:00 New York (14:00 UTC).
    assert running(lead, "touch").due_at == datetime(2026, 11, 30, 14, 40, tzinfo=UTC)


def test_accepting_meets_the_accept_clock_and_a_touch_meets_the_touch_clock(clock, pool):
    ladder_policy()
    lead_route(lead_id=(lead := LeadFactory()).pk)
    rep = Rep.objects.get(pk=Lead.objects.get(pk=lead.pk).owner_id)

    lead_accept(lead_id=lead.pk, rep_id=rep.pk)
    assert SlaClock.objects.get(lead=lead, kind="accept").status == "met"
    assert running(lead, "touch")

    lead_touch(lead_id=lead.pk, rep_id=rep.pk, kind="call", note="Left a voicemail")
    assert SlaClock.objects.get(lead=lead, kind="touch").status == "met"
    assert Lead.objects.get(pk=lead.pk).status == "contacted"


def test_only_the_owner_may_accept(clock, pool):
    ladder_policy()
    lead_route(lead_id=(lead := LeadFactory()).pk)
    stranger = Rep.objects.exclude(pk=Lead.objects.get(pk=lead.pk).owner_id).first()
    with pytest.raises(LeadTransitionError, match="owner"):
        lead_accept(lead_id=lead.pk, rep_id=stranger.pk)


def test_the_reminder_fires_once_at_its_time(clock, pool):
    ladder_policy()
    lead_route(lead_id=(lead := LeadFactory()).pk)
    owner = Lead.objects.get(pk=lead.pk).owner_id

    clock.shift(timedelta(minutes=2, seconds=59))
    assert clocks.clocks_sweep().done == 0
    clock.shift(timedelta(seconds=1))
    report = clocks.clocks_sweep()
    again = clocks.clocks_sweep()

    assert (report.reminded, again.done) == (1, 0)
    assert sla_events(lead) == [("remind", "accept")]
    note = Notification.objects.get(lead=lead, event="sla.reminder", channel="in_app")
    assert note.rep_id == owner and "due in 2 min" in note.title
    assert running(lead).next_at == T0 + timedelta(minutes=5)


def test_breaches_climb_the_ladder_once_each_never_back_to_a_previous_owner(clock, pool):
    ladder_policy()
    lead_route(lead_id=(lead := LeadFactory()).pk)
    owners = [owner_name(lead)]
    for _ in range(4):
        clock.shift(timedelta(minutes=5))
        clocks.clocks_sweep()
        assert clocks.clocks_sweep().done == 0  # nothing twice
        owners.append(owner_name(lead))

    assert owners[:3] == ["ann", "bob", "cyd"]  # reassigned twice, round robin
    assert owners[3] == "manager"  # then escalated
    assert owners[4] is None and Lead.objects.get(pk=lead.pk).status == "triage"
    breaches = [action for step, action in sla_events(lead) if step == "breach"]
    assert breaches == ["reassigned", "reassigned", "escalated", "triaged"]
    assert not SlaClock.objects.filter(lead=lead, status="running").exists()
    kinds = list(
        Decision.objects.filter(lead=lead)
        .order_by("created_at", "pk")
        .values_list("kind", "method")
    )
    assert kinds[1:] == [
        ("sla", "round_robin"),
        ("sla", "round_robin"),
        ("sla", "escalation"),
        ("sla", "triage"),
    ]
    breached = Notification.objects.filter(lead=lead, event="sla.breached", channel="in_app")
    assert sorted(breached.values_list("rep__user__username", flat=True)) == [
        "ann",
        "bob",
        "cyd",
        "manager",
    ]


def test_a_reassignment_with_nobody_left_in_the_pool_escalates_at_once(clock, team):
    pool = PoolFactory(name="Solo", team=team, settings={"check_hours": False})
    PoolMemberFactory(pool=pool, rep=RepFactory(team=team, user__username="solo"))
    publish_to(pool)
    ladder_policy()
    lead_route(lead_id=(lead := LeadFactory()).pk)

    clock.shift(timedelta(minutes=5))
    clocks.clocks_sweep()

    assert owner_name(lead) == "manager"
    assert [a for s, a in sla_events(lead) if s == "breach"] == ["escalated"]


def test_a_paused_clock_does_not_breach_and_resumes_with_the_time_it_had_left(clock, pool):
    ladder_policy(pause_statuses=["nurture"])
    lead_route(lead_id=(lead := LeadFactory()).pk)
    clock.shift(timedelta(minutes=4))  # one minute left, reminder already due
    clocks.clocks_sweep()

    lead_transition(lead_id=lead.pk, status="nurture")
    assert SlaClock.objects.get(lead=lead, kind="accept").status == "paused"
    clock.shift(timedelta(hours=3))
    assert clocks.clocks_sweep().done == 0

    lead_transition(lead_id=lead.pk, status="triage")  # out of the pause status
    resumed = running(lead)
    assert resumed.due_at == T0 + timedelta(hours=3, minutes=5)


def test_closing_the_lead_stops_every_clock(clock, pool):
    ladder_policy()
    lead_route(lead_id=(lead := LeadFactory()).pk)
    lead_transition(lead_id=lead.pk, status="junk")
    assert set(SlaClock.objects.filter(lead=lead).values_list("status", flat=True)) == {"stopped"}
    clock.shift(timedelta(hours=1))
    assert clocks.clocks_sweep().done == 0


def test_a_decline_reroutes_without_the_decliner_and_restarts_the_clocks(clock, pool):
    ladder_policy()
    lead_route(lead_id=(lead := LeadFactory()).pk)
    ann = Rep.objects.get(user__username="ann")
    WebhookSubscriptionFactory(events=["lead.declined"])

    decision = lead_decline(lead_id=lead.pk, rep_id=ann.pk, reason="Not my territory")

    assert decision.kind == "decline" and decision.rep.user.username == "bob"
    assert running(lead).rep_id == decision.rep_id
    assert SlaClock.objects.filter(lead=lead, rep=ann, status="stopped").count() == 2
    webhook = Notification.objects.get(lead=lead, event="lead.declined")
    assert webhook.channel == "webhook" and webhook.payload["reason"] == "Not my territory"
    declined = LeadEvent.objects.get(lead=lead, kind="declined")
    assert declined.data == {"rep": ann.pk, "reason": "Not my territory"}
    with pytest.raises(RoutingError, match="owner"):
        lead_decline(lead_id=lead.pk, rep_id=ann.pk, reason="again")


def test_claim_queue_one_claim_wins_and_an_unclaimed_lead_escalates(clock, team):
    queue = PoolFactory(
        name="Hot leads",
        team=team,
        method="claim_queue",
        settings={"claim_minutes": 10, "claim_limit": 1},
    )
    ann = RepFactory(team=team, user__username="ann")
    bob = RepFactory(team=team, user__username="bob")
    for rep in (ann, bob):
        PoolMemberFactory(pool=queue, rep=rep)
    publish_to(queue)
    first, second = LeadFactory(), LeadFactory()
    for lead in (first, second):
        assert lead_route(lead_id=lead.pk).outcome == "queued"
    assert Lead.objects.get(pk=first.pk).status == "queued"
    assert running(first, "claim").due_at == T0 + timedelta(minutes=10)

    lead_claim(lead_id=first.pk, rep=ann)
    with pytest.raises(RoutingError, match="already claimed by"):
        lead_claim(lead_id=first.pk, rep=bob)
    with pytest.raises(RoutingError, match="limit"):
        lead_claim(lead_id=second.pk, rep=ann)  # holds one not yet accepted
    assert owner_name(first) == "ann"
    assert not SlaClock.objects.filter(lead=first, kind="claim", status="running").exists()

    clock.shift(timedelta(minutes=10))
    clocks.clocks_sweep()

    assert owner_name(second) == "manager"
    assert [a for s, a in sla_events(second) if s == "breach"] == ["escalated"]


def test_a_step_whose_clock_was_met_meanwhile_is_not_done(clock, pool):
    ladder_policy()
    lead_route(lead_id=(lead := LeadFactory()).pk)
    clock.shift(timedelta(minutes=5))
    due = clocks.clocks_due(now=datetime.now(UTC), limit=10)
    lead_accept(lead_id=lead.pk, rep_id=Lead.objects.get(pk=lead.pk).owner_id)

    # A sweep that listed the clock before the accept finds it met and does nothing.
    assert clocks._breach(due[0][0], lead.pk, datetime.now(UTC)) is None
    assert owner_name(lead) == "ann"
