"""The work endpoints (accept, decline, touch, status, claim, release) and the queue listing:
who may do what (404 before 403 before 409), what each does to the lead and its SLA clocks,
and the 400s that name the field."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from leadhub.leads.models import LeadEvent
from leadhub.leads.tests.clients import client_as
from leadhub.leads.tests.factories import LeadFactory
from reps.models import Rep
from reps.tests.factories import RepFactory, TeamFactory, UserFactory
from routing.models import Decision, Pool, Rule
from routing.selectors import claim_queues_for, queue_members
from routing.services import lead_route, ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory
from sla.models import Notification, SlaClock, SlaPolicy
from sla.services import lead_data, lead_name, rep_data
from sla.tests.factories import SlackWebhookFactory, WebhookSubscriptionFactory

pytestmark = pytest.mark.django_db

ROLES = ("rep", "other_rep", "manager", "other_manager", "revops", "intake_key", "anonymous")
RUNNING, MET, STOPPED = SlaClock.Status.RUNNING, SlaClock.Status.MET, SlaClock.Status.STOPPED


@pytest.fixture
def world():
    """Team A: a manager and two reps, both in A's round robin (rep first) and A's claim
    queue; team B: a manager and a rep in no queue; RevOps. German leads go to the round
    robin, French ones wait in the queue. An SLA policy: accept in 5, touch in 15."""
    team_a, team_b = TeamFactory(name="A"), TeamFactory(name="B")
    revops = UserFactory(username="revops")
    revops.groups.add(Group.objects.get_or_create(name="RevOps")[0])
    world = {
        "rep": RepFactory(
            team=team_a, user__username="rep", user__first_name="Ann", user__last_name="Lee"
        ),
        "other_rep": RepFactory(team=team_a, user__username="other_rep"),
        "manager": RepFactory(team=team_a, role=Rep.Role.MANAGER, user__username="manager"),
        "other_manager": RepFactory(
            team=team_b, role=Rep.Role.MANAGER, user__username="other_manager"
        ),
        "b_rep": RepFactory(team=team_b, user__username="b_rep"),
        "revops": revops,
    }
    pool = PoolFactory(name="A pool", team=team_a, settings={"check_hours": False})
    queue = PoolFactory(
        name="A queue",
        team=team_a,
        method=Pool.Method.CLAIM_QUEUE,
        settings={"claim_minutes": 60, "claim_limit": 2},
    )
    for position, who in enumerate(("rep", "other_rep")):
        PoolMemberFactory(pool=pool, rep=world[who], position=position)
        PoolMemberFactory(pool=queue, rep=world[who], position=position)
    draft = ruleset_draft()
    Rule.objects.create(
        ruleset=draft,
        position=0,
        name="French leads wait in the queue",
        condition={"field": "country", "op": "eq", "value": "FR"},
        action="pool",
        action_pool=queue,
    )
    Rule.objects.create(ruleset=draft, position=1, name="All", action="pool", action_pool=pool)
    ruleset_publish(note="v1")
    SlaPolicy.objects.create(name="Standard", accept_minutes=5, touch_minutes=15)
    world.update(pool=pool, queue=queue)
    return world


def assigned_lead(world):
    """A lead routed to ``rep``, with its accept and touch clocks running."""
    lead = LeadFactory(country="DE")
    decision = lead_route(lead_id=lead.pk)
    assert decision.rep_id == world["rep"].pk
    return lead


def queued_lead(world, **fields):
    lead = LeadFactory(country="FR", **fields)
    assert lead_route(lead_id=lead.pk).outcome == "queued"
    return lead


def claimed_lead(world, who="rep"):
    lead = queued_lead(world)
    response = client_as(world, who).post(f"/api/leads/{lead.pk}/claim/")
    assert response.status_code == 200, response.json()
    return lead


def clocks(lead) -> dict[str, str]:
    """The lead's newest clock of each kind: kind → status."""
    found: dict[str, str] = {}
    for kind, status in (
        SlaClock.objects.filter(lead=lead)
        .order_by("started_at", "pk")
        .values_list("kind", "status")
    ):
        found[kind] = status
    return found


def post(world, who, lead, what, body=None):
    return client_as(world, who).post(f"/api/leads/{lead.pk}/{what}/", body or {}, format="json")


# --- Who may do what ---------------------------------------------------------------------


MATRIX = {
    "accept": ({}, (200, 404, 403, 404, 403, 403, 401)),
    "decline": ({"reason": "Not my region"}, (200, 404, 403, 404, 403, 403, 401)),
    "touch": ({"kind": "call"}, (200, 404, 403, 404, 403, 403, 401)),
    "status": ({"status": "disqualified"}, (200, 404, 200, 404, 200, 403, 401)),
    # Not claimed from a queue: the owner is refused by the lead's state.
    "release": ({}, (409, 404, 403, 404, 403, 403, 401)),
}


@pytest.mark.parametrize(
    "what, who, expected",
    [
        (what, who, code)
        for what, (_body, codes) in MATRIX.items()
        for who, code in zip(ROLES, codes, strict=True)
    ],
)
def test_an_assigned_lead_is_worked_by_its_owner_and_hidden_from_who_cannot_see_it(
    world, what, who, expected
):
    lead = assigned_lead(world)
    response = post(world, who, lead, what, MATRIX[what][0])
    assert response.status_code == expected, response.json()
    lead.refresh_from_db()
    changed = (lead.status, lead.owner_id) != ("assigned", world["rep"].pk)
    assert changed == (expected == 200)
    if expected == 403 and who != "intake_key":
        assert response.json()["detail"].startswith("Only ")


@pytest.mark.parametrize(
    "who, expected",
    [
        ("rep", 200),
        ("other_rep", 200),
        ("manager", 403),  # sees their team's queue, is not a member of it
        ("other_manager", 404),
        ("b_rep", 404),  # a rep of no queue
        ("revops", 403),
        ("intake_key", 403),
        ("anonymous", 401),
    ],
)
def test_a_queued_lead_is_claimed_by_the_members_of_its_queue(world, who, expected):
    lead = queued_lead(world)
    response = post(world, who, lead, "claim")
    assert response.status_code == expected, response.json()
    lead.refresh_from_db()
    assert lead.owner_id == (world[who].pk if expected == 200 else None)


@pytest.mark.parametrize(
    "who, expected",
    [
        ("rep", 200),
        ("other_rep", 403),  # a fellow member sees the lead claimed from their queue
        ("manager", 403),
        ("other_manager", 404),
        ("b_rep", 404),
        ("revops", 403),
        ("intake_key", 403),
        ("anonymous", 401),
    ],
)
def test_a_claimed_lead_is_released_only_by_the_rep_holding_it(world, who, expected):
    lead = claimed_lead(world)
    response = post(world, who, lead, "release")
    assert response.status_code == expected, response.json()
    lead.refresh_from_db()
    assert lead.status == ("queued" if expected == 200 else "assigned")


def test_a_fellow_queue_member_cannot_accept_a_colleagues_claimed_lead(world):
    lead = claimed_lead(world)
    response = post(world, "other_rep", lead, "accept")
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "Only the lead's owner can accept it."},
    )


def test_a_missing_lead_is_the_same_404_as_a_hidden_one(world):
    hidden = assigned_lead(world)
    missing = post(world, "b_rep", type(hidden)(pk=hidden.pk + 1000), "accept")
    unseen = post(world, "b_rep", hidden, "accept")
    assert missing.status_code == unseen.status_code == 404
    assert missing.json() == unseen.json()


def test_the_manager_of_an_unowned_queued_leads_queue_may_change_its_status(world):
    lead = queued_lead(world)
    assert post(world, "other_rep", lead, "status", {"status": "junk"}).status_code == 403
    assert post(world, "other_manager", lead, "status", {"status": "junk"}).status_code == 404
    response = post(world, "manager", lead, "status", {"status": "junk"})
    assert response.status_code == 200
    assert response.json()["status"] == "junk"
    assert clocks(lead) == {"claim": STOPPED}


# --- What each does ---------------------------------------------------------------------


def test_accepting_moves_the_lead_to_accepted_and_meets_its_accept_clock(world):
    lead = assigned_lead(world)
    assert clocks(lead) == {"accept": RUNNING, "touch": RUNNING}
    response = post(world, "rep", lead, "accept")
    assert response.status_code == 200
    body = response.json()
    lead.refresh_from_db()
    assert (body["id"], body["status"], body["owner"]) == (lead.pk, "accepted", world["rep"].pk)
    assert body["accepted_at"] is not None and body["first_touch_at"] is None
    assert clocks(lead) == {"accept": MET, "touch": RUNNING}
    touch = SlaClock.objects.get(lead=lead, kind="touch")
    assert body["clocks"] == [
        {
            "kind": "touch",
            "due_at": touch.due_at.isoformat().replace("+00:00", "Z"),
            "status": "running",
        }
    ]
    assert touch.due_at - touch.started_at == timedelta(minutes=15)


def test_accepting_twice_is_a_409_saying_why(world):
    lead = assigned_lead(world)
    assert post(world, "rep", lead, "accept").status_code == 200
    response = post(world, "rep", lead, "accept")
    assert (response.status_code, response.json()) == (
        409,
        {"detail": "An accepted lead cannot be accepted."},
    )


def test_declining_reroutes_to_another_member_and_records_the_reason(world):
    lead = assigned_lead(world)
    response = post(world, "rep", lead, "decline", {"reason": "  Not my region "})
    assert response.status_code == 200
    body = response.json()
    decision = Decision.objects.get(lead=lead, effective=True)
    assert body["owner"] == world["other_rep"].pk and body["status"] == "assigned"
    assert body["decision"] == {
        "id": decision.pk,
        "outcome": "assigned",
        "rep": world["other_rep"].pk,
        "pool": world["pool"].pk,
    }
    assert decision.kind == Decision.Kind.DECLINE
    event = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.DECLINED)
    assert event.data == {"rep": world["rep"].pk, "reason": "Not my region"}
    # The decliner's clocks stop; the new owner's start.
    assert set(
        SlaClock.objects.filter(lead=lead, status=RUNNING).values_list("kind", "rep_id")
    ) == {("accept", world["other_rep"].pk), ("touch", world["other_rep"].pk)}
    assert not SlaClock.objects.filter(lead=lead, rep=world["rep"], status=RUNNING).exists()


def test_touching_stamps_first_touch_and_meets_the_touch_clock(world):
    lead = assigned_lead(world)
    response = post(world, "rep", lead, "touch", {"kind": "meeting", "note": "Demo booked"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "contacted"
    assert body["first_touch_at"] is not None and body["clocks"] == []
    assert clocks(lead) == {"accept": MET, "touch": MET}
    event = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.TOUCHED)
    assert event.data == {"kind": "meeting", "note": "Demo booked"}
    assert event.actor == world["rep"].user


def test_disqualifying_an_assigned_lead_stops_its_running_clocks(world):
    lead = assigned_lead(world)
    response = post(world, "manager", lead, "status", {"status": "disqualified", "reason": "Spam"})
    assert response.status_code == 200
    assert response.json()["clocks"] == []
    assert clocks(lead) == {"accept": STOPPED, "touch": STOPPED}
    event = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.STATUS_CHANGED).first()
    assert event.data == {"from": "assigned", "to": "disqualified", "reason": "Spam"}


def test_a_lead_is_worked_through_to_converted_and_keeps_no_clock_running(world):
    lead = assigned_lead(world)
    assert post(world, "rep", lead, "accept").status_code == 200
    assert clocks(lead) == {"accept": MET, "touch": RUNNING}
    for step in ("contacted", "qualified", "converted"):
        response = post(world, "rep", lead, "status", {"status": step})
        assert response.status_code == 200, response.json()
    lead.refresh_from_db()
    assert (lead.status, lead.closed_at is not None) == ("converted", True)
    assert clocks(lead) == {"accept": MET, "touch": MET}
    assert not SlaClock.objects.filter(lead=lead, status__in=(RUNNING, "paused")).exists()


def test_a_status_the_lifecycle_refuses_is_a_409(world):
    lead = assigned_lead(world)
    response = post(world, "rep", lead, "status", {"status": "converted"})
    assert response.status_code == 409
    assert response.json()["detail"].startswith("An assigned lead cannot become converted.")
    lead.refresh_from_db()
    assert lead.status == "assigned"


def test_claiming_assigns_the_lead_and_starts_the_owners_clocks(world):
    lead = queued_lead(world)
    assert clocks(lead) == {"claim": RUNNING}
    response = post(world, "rep", lead, "claim")
    assert response.status_code == 200
    body = response.json()
    decision = Decision.objects.get(lead=lead, effective=True)
    assert (body["status"], body["owner"]) == ("assigned", world["rep"].pk)
    assert body["decision"] == {
        "id": decision.pk,
        "outcome": "assigned",
        "rep": world["rep"].pk,
        "pool": world["queue"].pk,
    }
    assert decision.kind == Decision.Kind.CLAIM
    assert clocks(lead) == {"claim": STOPPED, "accept": RUNNING, "touch": RUNNING}
    assert sorted(c["kind"] for c in body["clocks"]) == ["accept", "touch"]


def test_a_second_claim_is_a_409_naming_who_has_the_lead(world):
    lead = claimed_lead(world, "rep")
    response = post(world, "other_rep", lead, "claim")
    assert response.status_code == 409
    assert response.json() == {"detail": "This lead was already claimed by Ann Lee (assigned)."}


def test_claiming_past_the_queues_limit_is_a_409_until_one_is_accepted(world):
    first, second = claimed_lead(world), claimed_lead(world)
    third = queued_lead(world)
    response = post(world, "rep", third, "claim")
    assert response.status_code == 409
    assert "You hold 2 claimed leads not yet accepted" in response.json()["detail"]
    assert post(world, "rep", first, "accept").status_code == 200
    assert post(world, "rep", third, "claim").status_code == 200
    assert second.pk != third.pk


def test_claiming_a_lead_in_no_queue_is_a_409(world):
    lead = assigned_lead(world)
    response = post(world, "rep", lead, "claim")
    assert (response.status_code, response.json()) == (
        409,
        {"detail": "This lead is not in a claim queue."},
    )


def test_releasing_puts_the_lead_back_in_its_queue_with_a_new_claim_clock(world):
    lead = claimed_lead(world)
    response = post(world, "rep", lead, "release")
    assert response.status_code == 200
    body = response.json()
    decision = Decision.objects.get(lead=lead, effective=True)
    assert (body["status"], body["owner"], body["accepted_at"]) == ("queued", None, None)
    assert body["decision"] == {
        "id": decision.pk,
        "outcome": "queued",
        "rep": None,
        "pool": world["queue"].pk,
    }
    assert [c["kind"] for c in body["clocks"]] == ["claim"]
    assert SlaClock.objects.filter(lead=lead, kind="claim", status=RUNNING).count() == 1
    assert not SlaClock.objects.filter(lead=lead, kind="accept", status=RUNNING).exists()
    # Back in the queue: the other member can claim it now.
    assert post(world, "other_rep", lead, "claim").status_code == 200


def test_a_queue_without_listed_members_is_claimed_by_its_teams_active_reps(world):
    team = TeamFactory(name="C")
    member, stranger = RepFactory(team=team), world["b_rep"]
    queue = PoolFactory(name="C queue", team=team, method=Pool.Method.CLAIM_QUEUE)
    RepFactory(team=team, active=False)
    world.update(member=member, stranger=stranger)
    draft = ruleset_draft()
    Rule.objects.filter(ruleset=draft).update(position=5)
    Rule.objects.create(
        ruleset=draft,
        position=0,
        name="Spanish leads",
        condition={"field": "country", "op": "eq", "value": "ES"},
        action="pool",
        action_pool=queue,
    )
    ruleset_publish(note="v2")
    lead = LeadFactory(country="ES")
    assert lead_route(lead_id=lead.pk).pool_id == queue.pk
    assert post(world, "stranger", lead, "claim").status_code == 404
    assert post(world, "member", lead, "claim").status_code == 200
    # The selector that widens visibility agrees with the service's membership.
    for rep in Rep.objects.all():
        seen = set(claim_queues_for(rep.user).values_list("pk", flat=True))
        member_of = {
            p.pk for p in Pool.objects.filter(method="claim_queue") if rep.pk in queue_members(p)
        }
        if rep.role == Rep.Role.MANAGER:
            assert member_of <= seen
        else:
            assert seen == member_of, rep


# --- What each announces -----------------------------------------------------------------


def announced(event: str) -> list[tuple]:
    return list(
        Notification.objects.filter(event=event)
        .order_by("pk")
        .values_list("channel", "rep_id", "address", "title", "payload")
    )


def test_accepting_is_announced_to_the_teams_slack_and_the_subscribers_not_to_the_rep(world):
    team_slack = SlackWebhookFactory(team=world["rep"].team)
    SlackWebhookFactory(team=world["b_rep"].team)
    hook = WebhookSubscriptionFactory(events=["lead.accepted"])
    lead = assigned_lead(world)
    assert post(world, "rep", lead, "accept").status_code == 200
    lead.refresh_from_db()
    rep = world["rep"]
    payload = {"lead": lead_data(lead), "rep": rep_data(rep)}
    title = f"{rep} accepted {lead_name(lead)}"
    assert announced("lead.accepted") == [
        ("slack", None, team_slack.url, title, payload),
        ("webhook", None, hook.url, title, payload),
    ]


def test_a_touch_that_accepts_the_lead_on_the_way_is_not_announced_as_an_acceptance(world):
    WebhookSubscriptionFactory(events=["lead.accepted"])
    lead = assigned_lead(world)
    assert post(world, "rep", lead, "touch", {"kind": "call"}).status_code == 200
    assert announced("lead.accepted") == []


def test_declining_is_announced_with_the_reason_and_the_next_decision(world):
    team_slack = SlackWebhookFactory(team=world["rep"].team)
    hook = WebhookSubscriptionFactory(events=["lead.declined"])
    lead = assigned_lead(world)
    assert post(world, "rep", lead, "decline", {"reason": " Not my region "}).status_code == 200
    lead.refresh_from_db()
    decision = Decision.objects.get(lead=lead, effective=True)
    rep = world["rep"]
    payload = {
        "lead": lead_data(lead),
        "reason": "Not my region",
        "next_decision": {"id": decision.pk, "outcome": "assigned", "rep": world["other_rep"].pk},
        "rep": rep_data(rep),
    }
    title = f"{rep} declined {lead_name(lead)}: Not my region"
    assert announced("lead.declined") == [
        ("slack", None, team_slack.url, title, payload),
        ("webhook", None, hook.url, title, payload),
    ]
    # In the decline's transaction, after the new owner was told the lead is theirs.
    told = Notification.objects.get(event="lead.assigned", rep=world["other_rep"], channel="in_app")
    assert told.pk < Notification.objects.filter(event="lead.declined").earliest("pk").pk


def test_a_refused_decline_announces_nothing(world):
    WebhookSubscriptionFactory(events=["lead.declined"])
    lead = claimed_lead(world)
    assert post(world, "other_rep", lead, "decline", {"reason": "Mine now"}).status_code == 403
    assert post(world, "rep", lead, "status", {"status": "disqualified"}).status_code == 200
    assert post(world, "rep", lead, "decline", {"reason": "Too late"}).status_code == 409
    assert announced("lead.declined") == []


# --- Bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "what, body, field",
    [
        ("decline", {}, "reason"),
        ("decline", {"reason": "   "}, "reason"),
        ("touch", {}, "kind"),
        ("touch", {"kind": "fax"}, "kind"),
        ("touch", {"kind": "call", "note": "x" * 2001}, "note"),
        ("status", {}, "status"),
        ("status", {"status": "won"}, "status"),
        ("status", {"status": "assigned"}, "status"),
        ("status", {"status": "queued"}, "status"),
        ("status", {"status": "triage"}, "status"),
        ("status", {"status": "accepted"}, "status"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(world, what, body, field):
    lead = assigned_lead(world)
    response = post(world, "rep", lead, what, body)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    lead.refresh_from_db()
    assert (lead.status, lead.owner_id) == ("assigned", world["rep"].pk)
    assert clocks(lead) == {"accept": RUNNING, "touch": RUNNING}


def test_a_routing_status_is_refused_with_the_reason(world):
    lead = assigned_lead(world)
    response = post(world, "rep", lead, "status", {"status": "queued"})
    assert response.json() == {"status": ["'queued' is set by routing, not by hand."]}


# --- The queue listing ------------------------------------------------------------------


def test_a_member_sees_their_queues_waiting_leads_oldest_first_with_claim_deadlines(world):
    old = queued_lead(world, first_name="Old", last_name="Lead", company="Acme", score=40)
    new = queued_lead(world)
    claimed_lead(world)  # assigned now: no longer waiting
    Decision.objects.filter(lead=old, effective=True).update(
        created_at=Decision.objects.get(lead=new, effective=True).created_at - timedelta(hours=1)
    )
    response = client_as(world, "rep").get("/api/queues/")
    assert response.status_code == 200
    [queue] = response.json()
    assert (queue["id"], queue["name"], queue["count"]) == (world["queue"].pk, "A queue", 2)
    assert [lead["id"] for lead in queue["leads"]] == [old.pk, new.pk]
    first = queue["leads"][0]
    clock = SlaClock.objects.get(lead=old, kind="claim", status=RUNNING)
    assert (first["name"], first["company"], first["country"], first["score"]) == (
        "Old Lead",
        "Acme",
        "FR",
        40,
    )
    assert first["claim_due_at"] == clock.due_at.isoformat().replace("+00:00", "Z")
    assert clock.due_at - clock.started_at == timedelta(minutes=60)
    assert first["waiting_since"] is not None


@pytest.mark.parametrize(
    "who, expected",
    [
        ("rep", ["A queue"]),
        ("manager", ["A queue"]),
        ("other_manager", ["B queue"]),  # their team's, though not a member
        ("b_rep", []),  # on team B, not listed in its queue
        ("revops", ["A queue", "B queue"]),
    ],
)
def test_the_queue_listing_shows_members_their_queues_managers_their_teams_revops_all(
    world, who, expected
):
    PoolFactory(
        name="B queue", team=world["b_rep"].team, method=Pool.Method.CLAIM_QUEUE
    ).members.create(rep=RepFactory(team=world["b_rep"].team))
    response = client_as(world, who).get("/api/queues/")
    assert response.status_code == 200
    assert [q["name"] for q in response.json()] == expected


@pytest.mark.parametrize("who, expected", [("intake_key", 403), ("anonymous", 401)])
def test_the_queue_listing_is_for_signed_in_people(world, who, expected):
    assert client_as(world, who).get("/api/queues/").status_code == expected


def test_the_queue_listing_is_bounded_but_counts_every_waiting_lead(world, monkeypatch):
    monkeypatch.setattr("sla.api.LEADS_PER_QUEUE", 2)
    for _ in range(3):
        queued_lead(world)
    [queue] = client_as(world, "rep").get("/api/queues/").json()
    assert (queue["count"], len(queue["leads"])) == (3, 2)


def test_the_queue_listing_takes_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    for _ in range(5):
        queued_lead(world)
    client = client_as(world, "rep")
    # The session, the rep, the queues, then one per queue.
    with django_assert_max_num_queries(6):
        response = client.get("/api/queues/")
    assert len(response.json()[0]["leads"]) == 5


# --- The schema ---------------------------------------------------------------------------


def test_the_schema_documents_the_work_endpoints_without_warnings(revops_api, tmp_path):
    schema = revops_api.get("/api/schema/", {"format": "json"}).json()
    for what in ("accept", "decline", "touch", "status", "claim", "release"):
        operation = schema["paths"][f"/api/leads/{{id}}/{what}/"]["post"]
        assert {"200", "403", "404", "409"} <= set(operation["responses"]), what
    assert "requestBody" in schema["paths"]["/api/leads/{id}/decline/"]["post"]
    assert "/api/queues/" in schema["paths"]
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
