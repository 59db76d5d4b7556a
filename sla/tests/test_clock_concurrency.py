"""Two sweeps at once on PostgreSQL (threads, each with its own connection): every clock
step is done exactly once, by whichever sweep claims it first."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from leadhub.leads.models import Lead, LeadEvent
from leadhub.leads.tests.factories import LeadFactory
from leadhub.tests.threads import at_once
from reps.models import Rep
from reps.tests.factories import RepFactory, TeamFactory
from routing.models import Rule
from routing.services import lead_route, ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory
from sla import clocks
from sla.models import SlaPolicy, SlaStep

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LEADS = 60
SWEEPERS = 3
T0 = datetime(2026, 11, 24, 15, tzinfo=UTC)


def sweep_at_once(count: int) -> list[clocks.SweepReport]:
    return at_once(count, clocks.clocks_sweep)


def test_concurrent_sweeps_do_each_reminder_and_each_breach_once():
    team = TeamFactory()
    RepFactory(team=team, role=Rep.Role.MANAGER)
    pool = PoolFactory(team=team, settings={"check_hours": False})
    for position in range(4):
        PoolMemberFactory(pool=pool, rep=RepFactory(team=team), position=position)
    draft = ruleset_draft()
    Rule.objects.create(ruleset=draft, name="All", condition={}, action="pool", action_pool=pool)
    ruleset_publish()
    policy = SlaPolicy.objects.create(name="Fast", accept_minutes=5)
    SlaStep.objects.create(policy=policy, position=1, action="remind", minutes=2)
    SlaStep.objects.create(policy=policy, position=2, action="reassign", times=3)
    with time_machine.travel(T0, tick=False) as clock:
        leads = [LeadFactory() for _ in range(LEADS)]
        first_owner = {}
        for lead in leads:
            first_owner[lead.pk] = lead_route(lead_id=lead.pk).rep_id

        clock.shift(timedelta(minutes=3))
        reminded = sweep_at_once(SWEEPERS)
        clock.shift(timedelta(minutes=2))
        breached = sweep_at_once(SWEEPERS)

    assert sum(r.reminded for r in reminded) == LEADS
    assert sum(r.breached for r in breached) == LEADS
    steps = Counter(
        (event.lead_id, event.data["step"])
        for event in LeadEvent.objects.filter(kind="sla", lead__in=leads)
    )
    assert set(steps.values()) == {1}  # one reminder and one breach per lead, no more
    assert len(steps) == 2 * LEADS
    for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads]):
        assert lead.owner_id not in (None, first_owner[lead.pk])
        assert lead.decisions.filter(kind="sla").count() == 1
