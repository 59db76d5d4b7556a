"""Who may do what to a lead, asked through the API and through the pages: both ask the same
selectors (``routing.selectors.user_may_see_lead`` and ``lead_action_refusal``), so a lead
the person may not see is a 404 on both, an action they see but may not do a 403 on both,
and the lead's state a 409 on both."""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from leadhub.leads.models import Lead
from leadhub.web.tests.conftest import HTMX
from routing import services as routing
from routing import world

pytestmark = pytest.mark.django_db

# ann: a member of the claim queue and of the round robin that gives her the leads; cyd: a
# rep of the same team in neither (away); bob: a member of the queue only; the team's
# manager; another team's manager; RevOps, who has no rep profile.
PEOPLE = ("ann", "cyd", "bob", "manager", "other_manager", "revops")
BODIES = {
    "accept": {},
    "decline": {"reason": "Not my region"},
    "touch": {"kind": "call"},
    "status": {"status": "junk"},
    "claim": {},
    "release": {},
}

# Situation → action → the answer for each of PEOPLE.
EXPECTED = {
    # Routed to ann by the round robin, never in a queue.
    "assigned": {
        "accept": (200, 404, 404, 403, 404, 403),
        "decline": (200, 404, 404, 403, 404, 403),
        "touch": (200, 404, 404, 403, 404, 403),
        "status": (200, 404, 404, 200, 404, 200),
        "claim": (409, 404, 404, 409, 404, 409),  # in no queue: nobody's to claim
        "release": (409, 404, 404, 403, 404, 403),  # not claimed: nothing to release
    },
    # Waiting in the team's claim queue: its members and the team's manager see it.
    "queued": {
        "accept": (403, 404, 403, 403, 404, 403),
        "decline": (403, 404, 403, 403, 404, 403),
        "touch": (403, 404, 403, 403, 404, 403),
        "status": (403, 404, 403, 200, 404, 200),
        "claim": (200, 404, 200, 403, 404, 403),
        "release": (403, 404, 403, 403, 404, 403),
    },
    # Claimed by ann: bob, who lost the race, still sees it, and who has it.
    "claimed": {
        "accept": (200, 404, 403, 403, 404, 403),
        "decline": (200, 404, 403, 403, 404, 403),
        "touch": (200, 404, 403, 403, 404, 403),
        "status": (200, 404, 403, 200, 404, 200),
        "claim": (409, 404, 409, 403, 404, 403),
        "release": (200, 404, 403, 403, 404, 403),
    },
}


def _lead(floor, situation: str) -> Lead:
    if situation == "assigned":
        lead = floor.lead()
        assert lead.owner_id == floor.ann.pk
        return lead
    lead = floor.lead(source="queue")
    assert lead.status == "queued"
    if situation == "claimed":
        routing.lead_claim(lead_id=lead.pk, rep=floor.ann)
    return lead


def _undone(request) -> int:
    """Make the request, answer its status, and undo what it did: each person tries each
    action on the same lead."""
    with transaction.atomic():
        status = request().status_code
        transaction.set_rollback(True)
    world.forget()
    return status


def _user(floor, who: str):
    person = getattr(floor, who)
    return getattr(person, "user", person)


@pytest.mark.parametrize("situation", list(EXPECTED))
def test_the_api_and_the_pages_give_each_person_the_same_answer(floor, situation):
    lead = _lead(floor, situation)
    apis, pages = {}, {}
    for who in PEOPLE:
        apis[who] = APIClient()
        apis[who].force_authenticate(_user(floor, who))
        pages[who] = Client()
        pages[who].force_login(_user(floor, who))

    found, expected = {}, {}
    for action, codes in EXPECTED[situation].items():
        api_url = f"/api/leads/{lead.pk}/{action}/"
        page_url = reverse("web:lead-act", args=[lead.pk, action])
        body = BODIES[action]
        for who, code in zip(PEOPLE, codes, strict=True):
            api = _undone(lambda: apis[who].post(api_url, body, format="json"))  # noqa: B023
            page = _undone(
                lambda: pages[who].post(page_url, {**body, "view": "lead"}, **HTMX)  # noqa: B023
            )
            # Done, and the lead is no longer theirs to see (declined): the page sends them
            # back to their queue.
            found[action, who] = (api, 200 if page == 204 else page)
            expected[action, who] = (code, code)
    assert found == expected


def test_the_manager_of_the_queues_team_moves_an_unowned_queued_lead_from_its_page(as_user, floor):
    lead = floor.lead(source="queue")
    client = as_user(floor.manager)
    body = client.get(reverse("web:lead", args=[lead.pk])).content.decode()
    assert "Change status" in body and ">Claim</button>" not in body

    response = client.post(
        reverse("web:lead-act", args=[lead.pk, "status"]),
        {"status": "junk", "view": "lead"},
        **HTMX,
    )
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.status == "junk"


def test_a_refusal_of_who_asks_is_a_403_next_to_the_form(as_user, floor):
    lead = floor.lead()
    response = as_user(floor.manager).post(
        reverse("web:lead-act", args=[lead.pk, "accept"]), {"view": "lead"}, **HTMX
    )
    assert response.status_code == 403
    assert "Only the lead&#x27;s owner can accept it." in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == "assigned"


def test_revops_without_a_queue_is_refused_before_anything_is_done(as_user, floor):
    lead = floor.lead()
    response = as_user(floor.revops).post(
        reverse("web:lead-act", args=[lead.pk, "status"]), {"status": "junk"}, **HTMX
    )
    assert response.status_code == 404  # the queue's parts are a rep's; nothing changed
    lead.refresh_from_db()
    assert lead.status == "assigned"
