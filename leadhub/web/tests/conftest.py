"""A small sales floor for the page tests: a team (manager "max", reps "ann", "bob",
"cyd"), a round-robin pool of ann and cyd (cyd away, so ann gets the leads), a claim queue
of ann and bob, rules sending ``source=queue`` leads to the queue and the rest to the
pool, and an SLA policy (accept in 5 minutes, first touch in 15)."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group

from leadhub.leads.models import Lead
from leadhub.leads.tests.factories import LeadFactory
from reps.models import Rep
from reps.tests.factories import RepFactory, TeamFactory, UserFactory
from routing.models import Pool, Rule
from routing.services import lead_route, ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory
from sla.models import SlaPolicy

# Tuesday 24 November 2026, 15:00 UTC.
T0 = datetime(2026, 11, 24, 15, tzinfo=UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}
_PUBLISHED = itertools.count(1)


class Floor:
    def __init__(self) -> None:
        self.team = TeamFactory(name="Inside sales")
        self.manager = RepFactory(team=self.team, role=Rep.Role.MANAGER, user__username="max")
        self.ann = RepFactory(team=self.team, user__username="ann")
        self.bob = RepFactory(team=self.team, user__username="bob")
        self.cyd = RepFactory(team=self.team, user__username="cyd", presence="away")
        other_team = TeamFactory(name="Field sales")
        self.other_manager = RepFactory(
            team=other_team, role=Rep.Role.MANAGER, user__username="oda"
        )
        self.revops = UserFactory(username="rita")
        self.revops.groups.add(Group.objects.get(name="RevOps"))

        self.pool = PoolFactory(name="Inside", team=self.team, settings={"check_hours": False})
        PoolMemberFactory(pool=self.pool, rep=self.ann, position=0)
        PoolMemberFactory(pool=self.pool, rep=self.cyd, position=1)
        self.queue = PoolFactory(
            name="Shark tank",
            team=self.team,
            method=Pool.Method.CLAIM_QUEUE,
            settings={"check_hours": False, "claim_minutes": 10},
        )
        PoolMemberFactory(pool=self.queue, rep=self.ann, position=0)
        PoolMemberFactory(pool=self.queue, rep=self.bob, position=1)
        draft = ruleset_draft()
        Rule.objects.create(
            ruleset=draft,
            position=0,
            name="Queue leads",
            condition={"field": "source", "op": "eq", "value": "queue"},
            action="pool",
            action_pool=self.queue,
        )
        Rule.objects.create(
            ruleset=draft, position=1, name="Everyone else", condition={}, action="pool",
            action_pool=self.pool,
        )  # fmt: skip
        # routing.selectors caches compiled rule sets by (pk, version, created_at): publish
        # at an instant no other test uses, or another app's tests frozen at the same T0
        # would be served these rules.
        with time_machine.travel(T0 - timedelta(hours=1, microseconds=next(_PUBLISHED))):
            ruleset_publish()
        SlaPolicy.objects.create(name="Standard", accept_minutes=5, touch_minutes=15)

    def lead(self, **fields) -> Lead:
        """A lead routed by the rules (to ann, or to the claim queue with source=queue)."""
        lead = LeadFactory(**fields)
        lead_route(lead_id=lead.pk)
        lead.refresh_from_db()
        return lead


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def floor(db, clock) -> Floor:
    return Floor()


@pytest.fixture
def as_user(client):
    """Sign the test client in as a user (or a rep's user) and return it."""

    def sign_in(who):
        client.force_login(getattr(who, "user", who))
        return client

    return sign_in
