"""Routing's per-process copy of its inputs (routing.world): reused between changes, dropped
by every change to what it holds, and never a reason for a route to read history."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leadhub.leads.models import Lead
from leadhub.leads.tests.factories import LeadFactory
from reps.load import rep_loads_recount
from reps.models import Rep
from reps.services import rep_set_presence, time_off_add
from reps.tests.factories import RepFactory, TeamFactory
from routing import world
from routing.models import RoutingStamp, Rule
from routing.services import lead_route, ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool():
    team = TeamFactory()
    pool = PoolFactory(team=team, settings={"check_hours": False})
    for position in range(3):
        PoolMemberFactory(pool=pool, rep=RepFactory(team=team), position=position)
    draft = ruleset_draft()
    Rule.objects.create(ruleset=draft, name="All", condition={}, action="pool", action_pool=pool)
    ruleset_publish()
    return pool


def route_one():
    return lead_route(lead_id=LeadFactory().pk)


def statements(fn):
    with CaptureQueriesContext(connection) as queries:
        result = fn()
    return result, [q["sql"] for q in queries.captured_queries]


def test_the_world_is_loaded_once_and_reused_while_nothing_changes(pool):
    route_one()
    first = world.routing_inputs(now=timezone.now())

    _, sql = statements(route_one)

    assert world.routing_inputs(now=timezone.now()) is first
    assert not any("routing_pool" in s and "routing_poolstate" not in s for s in sql)
    assert not any('FROM "reps_workinghours"' in s for s in sql)


def test_a_presence_change_reaches_the_next_route(pool):
    reps = list(pool.members.order_by("position").values_list("rep", flat=True))
    route_one()
    for rep_id in reps[:2]:
        rep_set_presence(rep=Rep.objects.get(pk=rep_id), presence="offline", actor=None)

    decisions = [route_one() for _ in range(3)]

    assert {d.rep_id for d in decisions} == {reps[2]}


def test_time_off_and_a_new_member_reach_the_next_route(pool):
    route_one()
    newcomer = RepFactory(team=pool.team)
    PoolMemberFactory(pool=pool, rep=newcomer, position=9)
    for member in pool.members.exclude(rep=newcomer):
        time_off_add(
            rep=member.rep,
            start=timezone.now() - timedelta(hours=1),
            end=timezone.now() + timedelta(days=1),
            reason="Offsite",
            actor=None,
        )

    assert route_one().rep_id == newcomer.pk


def test_another_process_change_is_seen_when_the_token_is_read_again(pool, monkeypatch):
    route_one()
    stale = world.routing_inputs(now=timezone.now())
    # Another process published rules: only the shared token tells this one.
    RoutingStamp.objects.filter(pk=1).update(token="moved-elsewhere")

    assert world.routing_inputs(now=timezone.now()) is stale  # re-read at most once a second
    monkeypatch.setattr(world, "RECHECK_SECONDS", 0.0)
    assert world.routing_inputs(now=timezone.now()) is not stale


def test_the_copy_is_reloaded_when_it_is_older_than_max_age(pool):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        route_one()
        copy = world.routing_inputs(now=timezone.now())
        clock.shift(world.MAX_AGE + timedelta(seconds=1))
        assert world.routing_inputs(now=timezone.now()) is not copy


def test_a_route_takes_a_fixed_number_of_statements_however_much_history_is_stored(
    pool, monkeypatch
):
    # Loading the history may outlast the token's re-check interval on a slow machine (a
    # re-read, and a reload of what the re-check finds stale): not what this test counts.
    monkeypatch.setattr(world, "RECHECK_SECONDS", 3600.0)
    route_one()
    _, before = statements(route_one)
    reps = list(pool.members.values_list("rep", flat=True))
    now = timezone.now()
    Lead.objects.bulk_create(
        Lead(
            email=f"old{i}@history.example",
            status="converted" if i % 10 else "assigned",
            owner_id=reps[i % 3],
            captured_at=now - timedelta(days=i % 60),
            assigned_at=now - timedelta(days=i % 60),
        )
        for i in range(300)
    )
    rep_loads_recount()  # the history went around the services

    _, after = statements(route_one)

    assert len(after) == len(before)
    # Nothing reads the leads table but the lead being routed (no counting of history).
    lead_reads = [s for s in after if s.startswith("SELECT") and 'FROM "leads_lead"' in s]
    assert len(lead_reads) == 1 and 'WHERE "leads_lead"."id" = ' in lead_reads[0]
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in lead_reads[0]
