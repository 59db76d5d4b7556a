"""The lead page: who may open it, what it shows (fields, clocks, timeline, why the lead
came), and the same actions as the queue."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from leadhub.leads.models import Lead
from leadhub.web.tests.conftest import HTMX

pytestmark = pytest.mark.django_db


def page_of(lead: Lead) -> str:
    return reverse("web:lead", args=[lead.pk])


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("ann", 200),  # the owner
        ("bob", 404),  # a colleague
        ("manager", 200),  # the owner's team manager
        ("other_manager", 404),  # another team's manager
        ("revops", 200),
    ],
)
def test_who_may_open_a_lead(as_user, floor, who, status):
    lead = floor.lead()
    assert as_user(getattr(floor, who)).get(page_of(lead)).status_code == status


def test_anonymous_is_sent_to_sign_in(client, floor):
    response = client.get(page_of(floor.lead()))
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))


def test_a_queued_lead_is_open_to_its_queues_members_and_its_teams_manager(as_user, floor):
    lead = floor.lead(source="queue")
    member = as_user(floor.bob).get(page_of(lead))
    assert member.status_code == 200
    body = member.content.decode()
    assert ">Waiting in a claim queue</strong>" in body and ">Claim</button>" in body
    assert "Add a note" not in body  # a member may claim it, not work it
    assert as_user(floor.cyd).get(page_of(lead)).status_code == 404  # in no queue
    assert as_user(floor.other_manager).get(page_of(lead)).status_code == 404
    assert as_user(floor.manager).get(page_of(lead)).status_code == 200

    # Claimed: whoever lost the race sees who won it, as the API shows them, and no more
    # than that to do.
    as_user(floor.ann).post(reverse("web:lead-act", args=[lead.pk, "claim"]))
    body = as_user(floor.bob).get(page_of(lead)).content.decode()
    assert f"Owner: {escape(floor.ann)}" in body
    assert ">Claim</button>" not in body and ">Accept</button>" not in body
    assert as_user(floor.cyd).get(page_of(lead)).status_code == 404


def test_the_page_shows_fields_clocks_and_the_timeline_oldest_first(as_user, floor):
    lead = floor.lead(first_name="Ida", title="CTO", utm_campaign="spring")
    client = as_user(floor.ann)
    client.post(reverse("web:lead-act", args=[lead.pk, "note"]), {"text": "Met at the fair"})

    body = client.get(page_of(lead)).content.decode()
    assert "<dt>Title</dt><dd>CTO</dd>" in body and "<dt>Utm campaign</dt><dd>spring</dd>" in body
    assert "Owner: " in body and "(you)" in body
    assert "Accept: <time" in body and "First touch: <time" in body and "5:00 left" in body
    timeline = body[body.index('id="timeline-title"') :]
    assert timeline.index("<strong>Assigned</strong>") < timeline.index("<strong>Note</strong>")
    assert f"LeadHub: to {floor.ann} (round robin)" in timeline
    assert f"{floor.ann.user.get_full_name()}: Met at the fair" in timeline


def test_why_this_lead_came_names_the_rule_the_pool_and_each_candidates_reasons(as_user, floor):
    lead = floor.lead()
    body = as_user(floor.ann).get(page_of(lead)).content.decode()
    why = body[body.index('id="why-title"') : body.index('id="timeline-title"')]
    assert "Why this lead came to me" in why
    assert "It matched the rule “Everyone else”" in why
    assert "The pool Inside shares its leads by round robin." in why
    assert f"{floor.ann} was chosen." in why
    assert f"<td>{floor.ann} <strong>(chosen)</strong></td>" in why
    assert f"<td>{floor.cyd}</td><td>Inside</td><td>no</td><td>away</td>" in why


def test_after_a_decline_the_next_owner_sees_why_and_the_earlier_decision(as_user, floor):
    floor.cyd.presence = "available"
    floor.cyd.save()
    lead = floor.lead()
    owner = floor.ann if lead.owner_id == floor.ann.pk else floor.cyd
    other = floor.cyd if owner == floor.ann else floor.ann
    as_user(owner).post(
        reverse("web:lead-act", args=[lead.pk, "decline"]), {"reason": "Wrong region"}
    )

    body = as_user(other).get(page_of(lead)).content.decode()
    assert "Re-routed after a decline" in body and "Reason given: Wrong region." in body
    assert (
        f"<td>{owner}</td><td>Inside</td><td>no</td><td>declined or held this lead before" in body
    )
    assert "Earlier decisions (1)" in body
    assert f"{owner.user.get_full_name()} declined — Wrong region" in body


def test_actions_from_the_lead_page_swap_its_body(as_user, floor):
    lead = floor.lead()
    client = as_user(floor.ann)
    url = reverse("web:lead-act", args=[lead.pk, "accept"])

    response = client.post(url, {"view": "lead"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="lead-body">') and ">Accepted</strong>" in body
    assert "Accept: <time" in body and ">met</time>" in body

    plain = client.post(
        reverse("web:lead-act", args=[lead.pk, "note"]), {"text": "x", "view": "lead"}
    )
    assert plain.status_code == 302 and plain["Location"] == page_of(lead)


def test_declining_from_the_lead_page_goes_back_to_the_queue(as_user, floor):
    lead = floor.lead()
    response = as_user(floor.ann).post(
        reverse("web:lead-act", args=[lead.pk, "decline"]),
        {"view": "lead", "reason": "Not mine"},
        **HTMX,
    )
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("web:queue")


def test_a_manager_may_note_and_move_a_team_lead_but_not_accept_it(as_user, floor):
    lead = floor.lead()
    client = as_user(floor.manager)
    body = client.get(page_of(lead)).content.decode()
    assert "Add a note" in body and "Change status" in body and ">Accept</button>" not in body

    refused = client.post(reverse("web:lead-act", args=[lead.pk, "accept"]), **HTMX)
    assert refused.status_code == 403  # not theirs to do, as the API answers
    noted = client.post(reverse("web:lead-act", args=[lead.pk, "note"]), {"text": "Chase"}, **HTMX)
    assert noted.status_code == 200
    assert lead.events.filter(kind="note", actor=floor.manager.user).exists()


def test_the_lead_page_escapes_and_labels_everything(as_user, floor):
    from leadhub.web.tests.test_queue import unlabelled

    lead = floor.lead(first_name="<script>alert(1)</script>", message="<img src=x onerror=1>")
    body = as_user(floor.ann).get(page_of(lead)).content.decode()
    assert "<script>alert(1)</script>" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert unlabelled(body) == []
