"""A small hand-built history whose metrics are known, for the metric and page tests.

January 2026. Team North: manager Mia, reps Ann and Bob (pool "North RR", Ann weight 1, Bob
weight 3). Team South: manager Sam, rep Cat. Rows are written directly (not through the
services), with the timestamps the services would have stamped, so each number below can be
worked out by hand.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from leadhub.leads.models import Lead, LeadEvent
from leadhub.web.metrics import MetricFilter
from reps.models import Rep, RepLoad
from reps.tests.factories import RepFactory, TeamFactory, UserFactory
from routing.models import Decision, Pool, PoolMember
from sla.models import Notification, SlaClock, SlaPolicy

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
JANUARY = MetricFilter(start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2026, 2, 1, tzinfo=UTC))


@dataclass
class World:
    north: object
    south: object
    mia: Rep
    ann: Rep
    bob: Rep
    sam: Rep
    cat: Rep
    revops: object
    pool: Pool
    leads: list[Lead]
    breached_lead: Lead


def build() -> World:
    north, south = TeamFactory(name="North"), TeamFactory(name="South")
    mia = RepFactory(team=north, role=Rep.Role.MANAGER, user=UserFactory(username="mia"))
    ann = RepFactory(team=north, user=UserFactory(username="ann", first_name="Ann", last_name="A"))
    bob = RepFactory(
        team=north,
        weight=3,
        max_open=2,
        user=UserFactory(username="bob", first_name="Bob", last_name="B"),
    )
    sam = RepFactory(team=south, role=Rep.Role.MANAGER, user=UserFactory(username="sam"))
    cat = RepFactory(team=south, user=UserFactory(username="cat", first_name="Cat", last_name="C"))
    revops = UserFactory(username="rev", is_staff=True)
    pool = Pool.objects.create(name="North RR", team=north, method=Pool.Method.ROUND_ROBIN)
    PoolMember.objects.create(pool=pool, rep=ann, position=0)
    PoolMember.objects.create(pool=pool, rep=bob, position=1, weight=3)
    policy = SlaPolicy.objects.create(name="Hot", accept_minutes=5, touch_minutes=60)

    leads = []
    # Five North leads on Jan 10: assigned after 10..50 s; accepted after 60..300 s (the
    # last never accepted); Ann gets 1 and Bob 4, every one through the pool's rotation.
    for i in range(5):
        owner = ann if i == 0 else bob
        captured = T0 + timedelta(hours=i)
        assigned = captured + timedelta(seconds=10 * (i + 1))
        lead = Lead.objects.create(
            email=f"n{i}@x.example",
            source="web_form" if i < 3 else "partner",
            owner=owner,
            score=10 * (i + 1),
            status=["converted", "converted", "disqualified", "accepted", "assigned"][i],
            captured_at=captured,
            assigned_at=assigned,
            accepted_at=assigned + timedelta(seconds=60 * (i + 1)) if i < 4 else None,
            first_touch_at=assigned + timedelta(minutes=30) if i < 3 else None,
            closed_at=assigned + timedelta(days=1) if i < 3 else None,
            routed_rule="Inbound" if i < 4 else "Partners",
        )
        decision = Decision.objects.create(
            lead=lead, kind="auto", rule_name="Inbound" if i < 4 else "Partners", pool=pool,
            rep=owner, outcome="assigned", rotation=True, created_at=assigned,
        )  # fmt: skip
        Notification.objects.create(
            lead=lead, decision=decision, rep=owner, channel="in_app", event="lead.assigned",
            title="New lead", status="sent", created_at=assigned + timedelta(seconds=2),
        )  # fmt: skip
        leads.append(lead)
    # A refunded rotation decision and an owner-routed one: both out of fairness.
    Decision.objects.create(
        lead=leads[0], kind="auto", effective=False, pool=pool, rep=ann, outcome="assigned",
        rotation=True, refunded_at=T0, created_at=T0,
    )  # fmt: skip
    Decision.objects.create(
        lead=leads[1], kind="manual", effective=False, pool=pool, rep=ann, outcome="assigned",
        rotation=False, created_at=T0,
    )  # fmt: skip

    # One South lead: Cat, converted; captured in December (outside January's speed and
    # conversion), but its decline event is in January.
    south_lead = Lead.objects.create(
        email="s@x.example", source="web_form", owner=cat, status="converted",
        captured_at=T0 - timedelta(days=40), assigned_at=T0 - timedelta(days=40),
        closed_at=T0 - timedelta(days=39),
    )  # fmt: skip
    LeadEvent.objects.create(
        lead=south_lead, kind="declined", at=T0, data={"rep": cat.pk, "reason": "Not my area"}
    )
    # Bob declined twice (one reason twice), Ann once.
    for rep, reason in ((bob, "Too busy"), (bob, "Too busy"), (ann, "Wrong language")):
        LeadEvent.objects.create(
            lead=leads[4], kind="declined", at=T0, data={"rep": rep.pk, "reason": reason}
        )

    # SLA clocks, all started in January: Ann met 1; Bob met 2, breached 1 (status), and one
    # stopped by an SLA reassignment (a breach event names it) = breached; one stopped
    # because the lead closed (no breach event) = neither; one running = neither.
    def clock(lead, rep, status):
        return SlaClock.objects.create(
            lead=lead, policy=policy, kind="accept", rep=rep, status=status, started_at=T0,
            due_at=T0 + timedelta(minutes=5), next_at=T0 + timedelta(minutes=5),
        )  # fmt: skip

    clock(leads[0], ann, "met")
    clock(leads[1], bob, "met")
    clock(leads[2], bob, "met")
    clock(leads[3], bob, "breached")
    stopped = clock(leads[4], bob, "stopped")
    clock(leads[4], bob, "stopped")
    clock(leads[4], bob, "running")
    LeadEvent.objects.create(
        lead=leads[4], kind="sla", at=T0 + timedelta(minutes=6),
        data={"step": "breach", "clock": "accept", "clock_id": stopped.pk, "policy": "Hot",
              "rep": bob.pk, "action": "reassigned"},
    )  # fmt: skip
    LeadEvent.objects.create(
        lead=leads[3], kind="sla", at=T0 + timedelta(minutes=7),
        data={"step": "breach", "clock": "accept", "clock_id": 0, "policy": "Hot",
              "rep": bob.pk, "action": "escalated"},
    )  # fmt: skip
    LeadEvent.objects.create(  # a reminder is not a breach
        lead=leads[3], kind="sla", at=T0, data={"step": "remind", "clock": "accept", "rep": bob.pk}
    )

    RepLoad.objects.update_or_create(rep=bob, defaults={"open_leads": 3})
    RepLoad.objects.update_or_create(rep=ann, defaults={"open_leads": 1})
    Lead.objects.create(email="t@x.example", status="triage", captured_at=T0)
    return World(north, south, mia, ann, bob, sam, cat, revops, pool, leads, breached_lead=leads[4])
