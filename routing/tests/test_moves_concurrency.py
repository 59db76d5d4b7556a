"""Handover, re-route and bulk reassignment while routing runs, on PostgreSQL: threads with
their own connections (as separate processes would) move the same leads and route new
ones at once. No lead is lost, no cap is exceeded by routing, every lead has exactly one
effective decision, and the reps' load counters agree with the leads they hold."""

import threading
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count, Q

from leadhub.leads.models import OPEN_STATUSES, Lead
from leadhub.leads.tests.factories import LeadFactory
from reps.models import Rep, RepLoad
from reps.tests.factories import RepFactory, TeamFactory, UserFactory
from routing.models import Decision, Rule
from routing.services import (
    lead_reassign,
    lead_reroute,
    lead_route,
    leads_bulk,
    rep_handover,
    ruleset_draft,
    ruleset_publish,
)
from routing.tests.factories import PoolFactory, PoolMemberFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HELD = 60  # leads of the rep who leaves
NEW = 60  # leads captured and routed meanwhile
CAP = 40  # each staying rep's max_open


def _run_together(jobs) -> list[BaseException]:
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def thread(job) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            job()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=thread, args=(job,)) for job in jobs]
    for each in threads:
        each.start()
    for each in threads:
        each.join(timeout=240)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    return errors


def test_handover_reroute_and_bulk_reassign_with_routing_running():
    team = TeamFactory(name="AMER")
    pool = PoolFactory(name="AMER pool", team=team, settings={"check_hours": False})
    leaving = RepFactory(team=team)
    staying = [RepFactory(team=team, max_open=CAP) for _ in range(3)]
    target = RepFactory(team=team)  # the bulk reassignment's rep, not in the pool
    PoolMemberFactory(pool=pool, rep=leaving, position=0)
    for position, rep in enumerate(staying, start=1):
        PoolMemberFactory(pool=pool, rep=rep, position=position)
    draft = ruleset_draft()
    Rule.objects.create(
        ruleset=draft, position=0, name="All", condition={}, action="pool", action_pool=pool
    )
    ruleset_publish()
    # The leaving rep holds HELD leads: routed while the others were full.
    Rep.objects.filter(pk__in=[r.pk for r in staying]).update(max_open=0)
    held = [LeadFactory() for _ in range(HELD)]
    for lead in held:
        assert lead_route(lead_id=lead.pk).rep_id == leaving.pk
    Rep.objects.filter(pk__in=[r.pk for r in staying]).update(max_open=CAP)
    from reps.signals import announce_reps_changed
    from routing import world

    announce_reps_changed()
    world.routing_changed()
    Rep.objects.filter(pk=leaving.pk).update(active=False)
    world.routing_changed()
    fresh = [LeadFactory() for _ in range(NEW)]
    manager = UserFactory(is_staff=True)
    held_ids = [x.pk for x in held]

    jobs = [
        lambda: rep_handover(rep=leaving, reason="Left the company", actor=manager),
        lambda: [lead_route(lead_id=x.pk) for x in fresh[::2]],
        lambda: [lead_route(lead_id=x.pk) for x in fresh[1::2]],
        lambda: [lead_reroute(lead_id=pk, actor=manager, reason="Again") for pk in held_ids[::-7]],
        lambda: leads_bulk(
            lambda *, lead_id: lead_reassign(
                lead_id=lead_id, rep_id=target.pk, actor=manager, reason="Coverage"
            ),
            held_ids[::5],
        ),
    ]
    errors = _run_together(jobs)
    assert not errors, errors

    everyone = held + fresh
    assert Lead.objects.filter(pk__in=[x.pk for x in everyone]).count() == HELD + NEW
    assert not Lead.objects.filter(owner=leaving).exists()
    assert not Lead.objects.filter(status="new").exists()
    per_lead = (
        Decision.objects.filter(lead__in=everyone)
        .values("lead")
        .annotate(effective=Count("pk", filter=Q(effective=True)))
    )
    assert Counter(row["effective"] for row in per_lead) == {1: HELD + NEW}
    # The effective decision is where each lead is.
    for lead in Lead.objects.filter(pk__in=[x.pk for x in everyone]):
        decision = Decision.objects.get(lead=lead, effective=True)
        assert decision.rep_id == lead.owner_id, (lead.pk, decision.kind)
    open_counts = Counter(
        Lead.objects.filter(status__in=sorted(OPEN_STATUSES))
        .exclude(owner=None)
        .values_list("owner_id", flat=True)
    )
    for rep in staying:
        assert open_counts[rep.pk] <= CAP, (rep.pk, open_counts)
    for load in RepLoad.objects.all():
        assert load.open_leads == open_counts[load.rep_id], load.rep_id
