"""Claiming from a queue respects the rep's caps and absence (issue 13): the API and the
queue page refuse with a 409 naming the reason, and two claims at once cannot both take a
rep's last place (PostgreSQL)."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from leadhub.leads.models import Lead
from leadhub.leads.tests.clients import client_as
from leadhub.leads.tests.factories import LeadFactory
from reps.models import Rep
from reps.tests.factories import RepFactory, TeamFactory
from routing.models import Decision, Pool, Rule
from routing.services import RoutingError, lead_claim, lead_route, ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory


def queue_for(rep: Rep) -> Pool:
    """A claim queue with ``rep`` as its member, where every lead waits."""
    queue = PoolFactory(name="Queue", team=rep.team, method=Pool.Method.CLAIM_QUEUE)
    PoolMemberFactory(pool=queue, rep=rep)
    draft = ruleset_draft()
    Rule.objects.create(ruleset=draft, position=0, name="All", action="pool", action_pool=queue)
    ruleset_publish()
    return queue


def queued() -> Lead:
    lead = LeadFactory()
    assert lead_route(lead_id=lead.pk).outcome == "queued"
    return lead


def claim(rep: Rep, lead: Lead):
    return client_as({"rep": rep}, "rep").post(f"/api/leads/{lead.pk}/claim/")


@pytest.fixture
def ann(db) -> Rep:
    rep = RepFactory(team=TeamFactory(), user__username="ann")
    queue_for(rep)
    return rep


def with_caps(rep: Rep, **caps) -> Rep:
    Rep.objects.filter(pk=rep.pk).update(**caps)
    rep.refresh_from_db()
    return rep


def test_a_rep_at_max_open_is_refused_with_the_cap_named(ann):
    with_caps(ann, max_open=1)
    assert claim(ann, queued()).status_code == 200
    lead = queued()
    response = claim(ann, lead)
    assert response.status_code == 409
    assert "you are at your cap of 1 open leads" in response.json()["detail"]
    lead.refresh_from_db()
    assert (lead.status, lead.owner_id) == ("queued", None)


def test_a_rep_at_the_day_cap_is_refused_with_the_cap_named(ann):
    with_caps(ann, max_per_day=1)
    assert claim(ann, queued()).status_code == 200
    response = claim(ann, queued())
    assert response.status_code == 409
    assert "at your cap of 1 leads a day" in response.json()["detail"]


def test_a_rep_at_the_week_cap_is_refused_with_the_cap_named(ann):
    with_caps(ann, max_per_week=1)
    assert claim(ann, queued()).status_code == 200
    response = claim(ann, queued())
    assert response.status_code == 409
    assert "at your cap of 1 leads a week" in response.json()["detail"]


def test_a_rep_below_the_caps_claims(ann):
    with_caps(ann, max_open=2, max_per_day=2, max_per_week=2)
    assert claim(ann, queued()).status_code == 200
    assert claim(ann, queued()).status_code == 200


def test_an_away_rep_still_claims(ann):
    with_caps(ann, presence="away")
    assert claim(ann, queued()).status_code == 200


def test_an_offline_rep_is_refused(ann):
    with_caps(ann, presence="offline")
    response = claim(ann, queued())
    assert response.status_code == 409
    assert "you are offline" in response.json()["detail"]


def test_the_queue_page_shows_the_same_refusal(ann, client):
    with_caps(ann, max_open=1)
    assert claim(ann, queued()).status_code == 200
    client.force_login(ann.user)
    lead = queued()
    response = client.post(
        reverse("web:lead-act", args=[lead.pk, "claim"]),
        {"view": "live"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 409
    assert "at your cap of 1 open leads" in response.content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_claims_at_once_for_the_last_place_let_exactly_one_in():
    rep = RepFactory(team=TeamFactory(), max_open=2)
    queue_for(rep)
    lead_claim(lead_id=queued().pk, rep=rep)
    leads = [queued(), queued()]
    barrier = threading.Barrier(len(leads))
    outcomes: list[str] = []

    def claimer(lead: Lead) -> None:
        try:
            barrier.wait(timeout=30)
            lead_claim(lead_id=lead.pk, rep=rep)
            outcomes.append("claimed")
        except RoutingError as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer, args=(lead,)) for lead in leads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == [
        "You cannot claim a lead now: you are at your cap of 2 open leads.",
        "claimed",
    ]
    assert Lead.objects.filter(owner=rep, status="assigned").count() == 2
    assert Decision.objects.filter(rep=rep, kind=Decision.Kind.CLAIM, effective=True).count() == 2
