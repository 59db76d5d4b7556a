"""A claim queue's claim limit (``claim_limit``: claimed leads not yet accepted)."""

import pytest

from leadhub.leads.tests.factories import LeadFactory
from reps.tests.factories import RepFactory, TeamFactory
from routing.models import Rule
from routing.services import RoutingError, lead_claim, lead_route, ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory

pytestmark = pytest.mark.django_db


def test_the_claim_limit_counts_the_claims_of_that_queue_only():
    team = TeamFactory()
    ann = RepFactory(team=team)
    queues = []
    for name in ("Queue A", "Queue B"):
        queue = PoolFactory(name=name, team=team, method="claim_queue", settings={"claim_limit": 1})
        PoolMemberFactory(pool=queue, rep=ann)
        queues.append(queue)
    draft = ruleset_draft()
    for position, queue in enumerate(queues):
        Rule.objects.create(
            ruleset=draft,
            position=position,
            name=queue.name,
            condition={"field": "source", "op": "eq", "value": queue.name},
            action="pool",
            action_pool=queue,
        )
    ruleset_publish()
    in_a, also_a, in_b = (LeadFactory(source=s) for s in ("Queue A", "Queue A", "Queue B"))
    for lead in (in_a, also_a, in_b):
        assert lead_route(lead_id=lead.pk).outcome == "queued"

    lead_claim(lead_id=in_a.pk, rep=ann)
    with pytest.raises(RoutingError, match="limit of Queue A is 1"):
        lead_claim(lead_id=also_a.pk, rep=ann)
    assert lead_claim(lead_id=in_b.pk, rep=ann).rep_id == ann.pk
