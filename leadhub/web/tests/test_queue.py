"""My queue: the rep's open leads with their clocks, the actions (htmx and plain), the
claim queues, presence, notifications, the poll, who sees what, and the fixed number of
queries."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from leadhub.leads.models import Lead, LeadEvent
from leadhub.leads.tests.factories import LeadFactory
from leadhub.web.tests.conftest import HTMX, T0
from routing.models import Decision
from sla.models import Notification, SlaClock

pytestmark = pytest.mark.django_db

QUEUE = reverse("web:queue")
POLL = reverse("web:queue-poll")


def act(lead: Lead, action: str) -> str:
    return reverse("web:lead-act", args=[lead.pk, action])


def more(lead: Lead) -> str:
    return reverse("web:lead-more-actions", args=[lead.pk])


def clock_of(lead: Lead, kind: str) -> SlaClock:
    return SlaClock.objects.filter(lead=lead, kind=kind).order_by("-pk").first()


# --- Who sees what --------------------------------------------------------------------


def test_the_rep_pages_need_sign_in(client, floor):
    lead = floor.lead()
    for url in (QUEUE, POLL, reverse("web:notifications")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("web:login"))
    response = client.post(act(lead, "accept"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))
    assert Lead.objects.get(pk=lead.pk).status == "assigned"


def test_a_rep_sees_their_open_leads_new_first_and_never_a_colleagues(as_user, floor, clock):
    accepted = floor.lead(first_name="Older")
    floor.ann.presence = "available"
    clock.shift(timedelta(minutes=1))
    newest_first = [floor.lead(first_name="Middle")]
    clock.shift(timedelta(minutes=1))
    newest_first.insert(0, floor.lead(first_name="Newest"))
    as_user(floor.ann).post(act(accepted, "accept"))
    colleague = LeadFactory(first_name="Bobs", owner=floor.bob, status="assigned")
    closed = LeadFactory(first_name="Closed", owner=floor.ann, status="converted")

    page = as_user(floor.ann).get(QUEUE).content.decode()

    order = [page.index(f'id="lead-{lead.pk}"') for lead in [*newest_first, accepted]]
    assert order == sorted(order)
    assert "Bobs" not in page and f"lead-{colleague.pk}" not in page
    assert f"lead-{closed.pk}" not in page
    # Status in words, and the clocks with their words (not colour alone).
    assert "Status: <strong" in page and ">Assigned</strong>" in page and ">Accepted</strong>"
    assert 'data-due="2026-11-24T15:07:00+00:00"' in page and "5:00 left" in page
    assert "3 open" in page


def test_queue_for_managers_and_revops(as_user, floor):
    floor.lead()
    manager_page = as_user(floor.manager).get(QUEUE)
    assert manager_page.status_code == 200  # a manager with a rep profile has a queue
    assert "No open leads" in manager_page.content.decode()

    revops = as_user(floor.revops).get(QUEUE)
    assert revops.status_code == 302 and revops["Location"] == reverse("web:home")


@pytest.mark.parametrize("action", ["accept", "decline", "touch", "status", "note", "release"])
@pytest.mark.parametrize("who", ["bob", "other_manager"])
def test_another_reps_lead_is_a_404_for_every_action(as_user, floor, action, who):
    lead = floor.lead()
    data = {"reason": "no", "kind": "call", "status": "junk", "text": "hi"}
    response = as_user(getattr(floor, who)).post(act(lead, action), data, **HTMX)
    assert response.status_code == 404
    lead.refresh_from_db()
    assert (lead.status, lead.owner_id) == ("assigned", floor.ann.pk)
    assert not LeadEvent.objects.filter(lead=lead, kind__in=["note", "declined"]).exists()


def test_a_rows_other_actions_are_fetched_when_opened_and_linked_without_js(as_user, floor):
    lead = floor.lead()
    page = as_user(floor.ann).get(QUEUE).content.decode()
    assert f'hx-get="{more(lead)}" hx-trigger="toggle once"' in page
    assert f'<a href="{reverse("web:lead", args=[lead.pk])}">Decline, log a touch' in page
    for action in ("decline", "touch", "note"):
        assert (
            f'action="{act(lead, action)}"' in as_user(floor.ann).get(more(lead)).content.decode()
        )
    assert as_user(floor.bob).get(more(lead)).status_code == 404
    assert as_user(floor.manager).get(more(lead)).status_code == 404  # not in their queue


def test_an_unknown_action_is_a_404(as_user, floor):
    lead = floor.lead()
    assert as_user(floor.ann).post(act(lead, "delete")).status_code == 404


def test_every_post_needs_the_csrf_token(floor):
    lead = floor.lead()
    client = Client(enforce_csrf_checks=True)
    client.force_login(floor.ann.user)
    assert client.post(act(lead, "accept")).status_code == 403
    assert client.post(reverse("web:presence"), {"presence": "away"}).status_code == 403
    page = client.get(QUEUE).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 2 and '"X-CSRFToken"' in page
    panel = client.get(more(lead)).content.decode()
    assert panel.count('name="csrfmiddlewaretoken"') == 4


def test_names_are_escaped(as_user, floor):
    floor.lead(first_name="<script>alert(1)</script>", company="<b>Bold</b>")
    page = as_user(floor.ann).get(QUEUE).content.decode()
    assert "<script>alert(1)</script>" not in page and "<b>Bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- The actions ------------------------------------------------------------------------


def test_accept_with_htmx_meets_the_accept_clock_and_swaps_just_the_row(as_user, floor):
    lead = floor.lead()
    response = as_user(floor.ann).post(act(lead, "accept"), {"view": "row"}, **HTMX)

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<li id="lead-{lead.pk}"') and "<html" not in body
    assert ">Accepted</strong>" in body
    assert 'id="flash" class="flash" hx-swap-oob="innerHTML"' in body and "Accepted:" in body
    assert clock_of(lead, "accept").status == "met"
    assert Lead.objects.get(pk=lead.pk).status == "accepted"


def test_accept_without_javascript_redirects_back_with_a_message(as_user, floor):
    lead = floor.lead()
    client = as_user(floor.ann)
    response = client.post(act(lead, "accept"), {"next": QUEUE})
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert "Accepted: the lead is yours" in client.get(QUEUE).content.decode()
    # A next that leaves the site is ignored.
    other = floor.lead()
    response = client.post(act(other, "accept"), {"next": "https://evil.example/"})
    assert response["Location"] == QUEUE


def test_a_refused_action_is_a_409_with_the_message_next_to_its_form(as_user, floor):
    lead = floor.lead()
    client = as_user(floor.ann)
    client.post(act(lead, "accept"), **HTMX)
    response = client.post(act(lead, "accept"), **HTMX)
    assert response.status_code == 409
    assert "An accepted lead cannot be accepted." in response.content.decode()

    plain = client.post(act(lead, "accept"))
    assert plain.status_code == 302
    assert "cannot be accepted" in client.get(QUEUE).content.decode()


def test_decline_needs_a_reason_then_records_it_and_the_lead_leaves_the_queue(as_user, floor):
    lead = floor.lead()
    client = as_user(floor.ann)

    empty = client.post(act(lead, "decline"), {"reason": "  "}, **HTMX)
    assert empty.status_code == 400
    body = empty.content.decode()
    assert '<details class="act" open>' in body and "Give a reason for declining." in body
    assert 'aria-invalid="true"' in body

    response = client.post(act(lead, "decline"), {"reason": "Existing customer"}, **HTMX)
    assert response.status_code == 200
    assert f'id="lead-{lead.pk}"' not in response.content.decode()  # the row goes
    event = LeadEvent.objects.get(lead=lead, kind="declined")
    assert event.data["reason"] == "Existing customer" and event.actor == floor.ann.user
    lead.refresh_from_db()
    assert lead.owner_id != floor.ann.pk
    assert f'id="lead-{lead.pk}"' not in client.get(QUEUE).content.decode()


def test_touch_logs_a_call_and_meets_the_touch_clock(as_user, floor):
    lead = floor.lead()
    response = as_user(floor.ann).post(
        act(lead, "touch"), {"kind": "call", "note": "Left a voicemail"}, **HTMX
    )
    assert response.status_code == 200 and ">Contacted</strong>" in response.content.decode()
    event = LeadEvent.objects.get(lead=lead, kind="touched")
    assert event.data == {"kind": "call", "note": "Left a voicemail"}
    assert clock_of(lead, "touch").status == "met"

    bad = as_user(floor.ann).post(act(lead, "touch"), {"kind": "fax"}, **HTMX)
    assert bad.status_code == 400 and "fax is not one of" in bad.content.decode()


def test_status_offers_the_allowed_next_statuses_and_records_the_reason(as_user, floor):
    lead = floor.lead()
    client = as_user(floor.ann)
    client.post(act(lead, "touch"), {"kind": "email"}, **HTMX)  # now contacted
    row = client.get(more(lead), **HTMX).content.decode()
    select = row[row.index(f'id="status-new-{lead.pk}"') :].split("</select>")[0]
    assert 'value="qualified"' in select and 'value="disqualified"' in select
    assert 'value="converted"' not in select and 'value="assigned"' not in select

    wrong = client.post(act(lead, "status"), {"status": "converted"}, **HTMX)
    assert wrong.status_code == 400 and "not one of the available choices" in wrong.content.decode()

    response = client.post(act(lead, "status"), {"status": "qualified", "reason": "Budget"}, **HTMX)
    assert response.status_code == 200 and ">Qualified</strong>" in response.content.decode()
    event = LeadEvent.objects.filter(lead=lead, kind="status_changed").last()
    assert event.data == {"from": "contacted", "to": "qualified", "reason": "Budget"}


def test_a_note_is_added_and_an_empty_one_refused(as_user, floor):
    lead = floor.lead()
    client = as_user(floor.ann)
    assert client.post(act(lead, "note"), {"text": " "}, **HTMX).status_code == 400
    response = client.post(act(lead, "note"), {"text": "Call after 3pm"}, **HTMX)
    assert response.status_code == 200 and "Note added." in response.content.decode()
    assert LeadEvent.objects.get(lead=lead, kind="note").data == {"text": "Call after 3pm"}


# --- Claim queues -------------------------------------------------------------------------


def test_the_claim_queues_list_waiting_leads_oldest_first_with_their_deadline(
    as_user, floor, clock
):
    first = floor.lead(source="queue", first_name="First")
    clock.shift(timedelta(minutes=2))
    second = floor.lead(source="queue", first_name="Second")

    page = as_user(floor.bob).get(QUEUE).content.decode()
    assert "Shark tank" in page and "2 waiting" in page
    assert page.index(f'id="queued-{first.pk}"') < page.index(f'id="queued-{second.pk}"')
    assert "Claim from the queue: " in page and 'data-due="2026-11-24T15:10:00+00:00"' in page
    # Not a member: no queue.
    assert "You are not in any claim queue." in as_user(floor.cyd).get(QUEUE).content.decode()


def test_claim_then_a_second_claimer_is_told_and_release_puts_it_back(as_user, floor, client):
    lead = floor.lead(source="queue")

    response = as_user(floor.ann).post(act(lead, "claim"), {"view": "live"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="queue-live"') and f'id="lead-{lead.pk}"' in body
    assert "Release to the queue" in body
    lead.refresh_from_db()
    assert (lead.owner_id, lead.status) == (floor.ann.pk, "assigned")

    late = as_user(floor.bob).post(act(lead, "claim"), {"view": "live"}, **HTMX)
    assert late.status_code == 409
    assert "already claimed by" in late.content.decode()

    released = as_user(floor.ann).post(act(lead, "release"), {"view": "live"}, **HTMX)
    assert released.status_code == 200 and f'id="queued-{lead.pk}"' in released.content.decode()
    lead.refresh_from_db()
    assert (lead.owner_id, lead.status) == (None, "queued")
    assert Decision.objects.get(lead=lead, effective=True).kind == "release"


def test_a_lead_routed_to_a_rep_offers_no_release(as_user, floor):
    lead = floor.lead()
    assert "Release to the queue" not in as_user(floor.ann).get(QUEUE).content.decode()
    assert as_user(floor.ann).post(act(lead, "release"), **HTMX).status_code == 409


# --- Presence and notifications ------------------------------------------------------------


def test_presence_is_set_through_the_page(as_user, floor):
    client = as_user(floor.ann)
    response = client.post(reverse("web:presence"), {"presence": "away"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<form id="presence"') and "You are away." in body
    floor.ann.refresh_from_db()
    assert floor.ann.presence == "away"

    assert client.post(reverse("web:presence"), {"presence": "gone"}, **HTMX).status_code == 400
    plain = client.post(reverse("web:presence"), {"presence": "offline", "next": QUEUE})
    assert plain.status_code == 302
    floor.ann.refresh_from_db()
    assert floor.ann.presence == "offline"
    assert (
        as_user(floor.revops).post(reverse("web:presence"), {"presence": "away"}).status_code == 404
    )


def test_notifications_unread_count_list_and_mark_read(as_user, floor):
    lead = floor.lead()
    mine = Notification.objects.filter(rep=floor.ann, channel="in_app")
    assert mine.count() == 1
    client = as_user(floor.ann)
    assert 'id="unread-count" class="badge warn">1 unread<' in client.get(QUEUE).content.decode()

    page = client.get(reverse("web:notifications")).content.decode()
    note = mine.get()
    assert note.title in page and reverse("web:lead", args=[lead.pk]) in page

    response = client.post(reverse("web:notification-read", args=[note.pk]), **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert (
        ">read</span>" in body
        and 'id="unread-count" class="badge" hx-swap-oob="true">0 unread' in body
    )
    note.refresh_from_db()
    assert note.read_at is not None

    other = Notification.objects.create(rep=floor.bob, event="lead.assigned", title="Bob's")
    assert client.post(reverse("web:notification-read", args=[other.pk])).status_code == 404


# --- Live updates -----------------------------------------------------------------------


def version_of(page: str) -> str:
    return page.split('id="queue-version" name="v" value="')[1].split('"')[0]


def test_the_poll_answers_204_until_a_lead_lands_then_the_list(
    as_user, floor, clock, django_assert_num_queries
):
    floor.lead()
    client = as_user(floor.ann)
    version = version_of(client.get(QUEUE).content.decode())

    # Session, user, rep; the version: the leads' numbers and the unread count.
    with django_assert_num_queries(5):
        assert client.get(POLL, {"v": version}, **HTMX).status_code == 204

    clock.shift(timedelta(seconds=3))
    landed = floor.lead(first_name="Landed")
    response = client.get(POLL, {"v": version}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert '<div id="queue-live" hx-swap-oob="true">' in body and "Landed" in body
    assert f'id="lead-{landed.pk}"' in body and "2 unread" in body
    new_version = version_of(body)
    assert new_version != version
    assert client.get(POLL, {"v": new_version}, **HTMX).status_code == 204

    # A lead arriving in one of the rep's claim queues counts too.
    floor.lead(source="queue")
    assert client.get(POLL, {"v": new_version}, **HTMX).status_code == 200


def test_the_page_polls_every_4_seconds_with_its_version(as_user, floor):
    page = as_user(floor.ann).get(QUEUE).content.decode()
    assert f'hx-get="{POLL}"' in page and 'hx-trigger="every 4s' in page
    assert 'hx-include="#queue-version"' in page and "web/queue.js" in page


# --- Speed and accessibility --------------------------------------------------------------


def fill(floor, count: int) -> None:
    """``count`` open leads of ann's in every working status, each with running clocks,
    some claimed from the queue; and leads waiting in her claim queue."""
    statuses = ["assigned", "accepted", "contacted", "qualified"]
    leads = [
        LeadFactory(owner=floor.ann, status=statuses[i % 4], assigned_at=T0, score_band="standard")
        for i in range(count)
    ]
    SlaClock.objects.bulk_create(
        SlaClock(lead=lead, kind=kind, rep=floor.ann, due_at=T0, next_at=T0)
        for lead in leads
        for kind in ("accept", "touch")
    )
    Decision.objects.bulk_create(
        Decision(lead=lead, kind="claim", rep=floor.ann, pool=floor.queue, outcome="assigned")
        for lead in leads[::10]
    )
    for _ in range(count // 10):
        floor.lead(source="queue")


@pytest.mark.parametrize("count", [20, 200])
def test_the_queue_page_takes_the_same_queries_for_20_and_200_leads(
    as_user, floor, count, django_assert_num_queries
):
    fill(floor, count)
    client = as_user(floor.ann)
    # Session, user, rep; groups (role for the nav); unread (nav); own leads, their clocks;
    # queues, waiting leads, their clocks; version: leads, unread.
    with django_assert_num_queries(12):
        response = client.get(QUEUE)
    assert response.content.decode().count('class="lead-row"') == count + count // 10


class Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: list[dict] = []
        self.labels: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label" and attrs.get("for"):
            self.labels.add(attrs["for"])
        if tag in {"input", "select", "textarea"} and attrs.get("type") not in {
            "hidden",
            "submit",
        }:
            self.fields.append(attrs)


def unlabelled(page: str) -> list[dict]:
    parser = Inputs()
    parser.feed(page)
    return [
        f for f in parser.fields if f.get("id") not in parser.labels and not f.get("aria-label")
    ]


def test_every_field_on_the_queue_page_has_a_label(as_user, floor):
    floor.lead()
    floor.lead(source="queue")
    lead = floor.lead()
    client = as_user(floor.ann)
    client.post(act(lead, "accept"))
    page = client.get(QUEUE).content.decode()
    panel = client.get(more(lead), **HTMX).content.decode()
    parser = Inputs()
    parser.feed(page + panel)
    assert len(parser.fields) >= 8
    assert unlabelled(page) == [] and unlabelled(panel) == []
    notes = client.get(reverse("web:notifications")).content.decode()
    assert unlabelled(notes) == []
