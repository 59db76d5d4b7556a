"""The rep's pages: "My queue" (their open leads, their claim queues, their presence), the
lead page with why the lead came to them, and their in-app notifications.

Every action is a POST to ``leads/<id>/<action>/`` that calls one service: of the lead's
lifecycle (``leadhub.leads.services``: accept, touch, status, note) or of routing (decline,
claim, release). With htmx it answers with the part of the page that changed (a queue
row, the live region, the lead's body) and a message for the ``role="status"`` region; a
refusal is a 403 (not yours to do) or a 409 (the lead's state), a form error a 400, with
the message next to its form. Without JavaScript the same forms post normally and are
redirected back with the message.

Who sees what and may do what is asked of ``routing.selectors``, as the API asks it: a lead
the user may not see (``user_may_see_lead``) is a 404, so another rep's lead does not
leak; an action they may not do is a 403 (``lead_action_refusal``). ``/queue/`` is the signed-in
person's own queue: a manager or a RevOps person who is also a rep has one (leads come to
managers by escalation); someone without a rep profile is sent to ``web:home``, which
takes managers and RevOps to their dashboard."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from leadhub.leads.intake import LeadDataError
from leadhub.leads.models import Lead
from leadhub.leads.selectors import user_may_work_lead
from leadhub.leads.services import (
    REASSIGNABLE_STATUSES,
    LeadTransitionError,
    lead_accept,
    lead_note,
    lead_set_status,
    lead_touch,
)
from leadhub.web import selectors
from leadhub.web.forms import (
    DeclineForm,
    NoteForm,
    PresenceForm,
    StatusForm,
    TouchForm,
    next_statuses,
)
from leadhub.web.words import clock_views, decision_words, lead_fields, timeline
from reps.models import Rep
from reps.selectors import rep_of
from reps.services import rep_set_presence
from routing import services as routing
from routing.selectors import (
    lead_action_refusal,
    user_may_claim_lead,
    user_may_see_lead,
    user_may_set_lead_status,
)
from sla.selectors import notifications_of
from sla.services import lead_name, notification_mark_read

# How many notifications the page lists (unread first, then the newest).
NOTIFICATIONS_SHOWN = 100


def _back(request: HttpRequest, default: str) -> str:
    """Where a plain (no-JS) POST returns to: its ``next`` when it is on this site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _leads_prefix() -> str:
    """ "/leads/": a lead's page is <prefix><id>/, its actions <prefix><id>/<action>/."""
    return reverse("web:lead", args=[0]).removesuffix("0/")


def _work_on(lead: Lead, *, owner: bool, manages: bool, prefix: str = "") -> None:
    """What the page offers on this lead: only what the services would allow."""
    working = lead.status in REASSIGNABLE_STATUSES
    lead.name = lead_name(lead) or f"Lead #{lead.pk}"
    # Built here, not with {% url %} per form: reversing 1,400 URLs is half a 200-row page.
    lead.url = f"{prefix or _leads_prefix()}{lead.pk}/"
    lead.errors, lead.values = {}, {}
    lead.can_accept = owner and lead.status == "assigned"
    lead.can_decline = owner and lead.status in {"assigned", "accepted"}
    lead.can_touch = owner and working
    lead.can_release = owner and lead.status == "assigned" and getattr(lead, "claimed", False)
    lead.statuses = next_statuses(lead.status) if manages and lead.is_open else []
    lead.can_note = manages


def _rows(leads: list[Lead], now) -> list[Lead]:
    prefix = _leads_prefix()
    for lead in leads:
        _work_on(lead, owner=True, manages=True, prefix=prefix)
        lead.clocks = clock_views(lead.live_clocks, now)
    return leads


def _live_context(request: HttpRequest, me: Rep) -> dict[str, Any]:
    now = timezone.now()
    leads = _rows(list(selectors.queue_leads(me)), now)
    board = selectors.claim_board(me)
    for _pool, waiting in board:
        for lead in waiting:
            lead.name = lead_name(lead) or f"Lead #{lead.pk}"
            lead.clocks = clock_views(lead.live_clocks, now)
    return {
        "me": me,
        "leads": leads,
        "board": board,
        "waiting_count": sum(len(waiting) for _pool, waiting in board),
        "version": selectors.queue_version(request.user, me),
        "next": reverse("web:queue"),
    }


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    me = rep_of(request.user)
    if me is None:
        return redirect("web:home")
    context = _live_context(request, me)
    context["presence_form"] = PresenceForm(initial={"presence": me.presence})
    return render(request, "web/queue/page.html", context)


@login_required
@require_GET
def queue_poll(request: HttpRequest) -> HttpResponse:
    """The live region again, only when the version the page holds is out of date: a poll
    that finds nothing new costs the version's two queries and answers 204."""
    me = rep_of(request.user)
    if me is None:
        return HttpResponse(status=204)
    version = selectors.queue_version(request.user, me)
    if request.GET.get("v") == version:
        return HttpResponse(status=204)
    context = _live_context(request, me)
    context["unread"] = selectors.unread_count(request.user)
    return render(request, "web/queue/_poll.html", context)


# --- The lead page ----------------------------------------------------------------------


def _lead_context(request: HttpRequest, lead: Lead) -> dict[str, Any]:
    me = rep_of(request.user)
    owner = user_may_work_lead(request.user, lead)
    _work_on(lead, owner=owner, manages=user_may_set_lead_status(request.user, lead))
    lead.can_claim = lead.status == "queued" and user_may_claim_lead(request.user, lead)
    decisions = [decision_words(d) for d in selectors.lead_decisions(lead)]
    effective = next((d for d in decisions if d["decision"].effective), None)
    return {
        "lead": lead,
        "me": me,
        "owner": owner,
        "fields": lead_fields(lead),
        "clocks": clock_views(lead.all_clocks, timezone.now()),
        "timeline": timeline(lead.timeline),
        "why": effective,
        "earlier": [d for d in decisions if d is not effective],
        "next": reverse("web:lead", args=[lead.pk]),
    }


@login_required
@require_GET
def lead_page(request: HttpRequest, pk: int) -> HttpResponse:
    lead = selectors.lead_for_page(request.user, pk)
    if lead is None:
        raise Http404("No such lead.")
    return render(request, "web/queue/lead.html", _lead_context(request, lead))


@login_required
@require_GET
def lead_more_actions(request: HttpRequest, pk: int) -> HttpResponse:
    """The forms of a queue row's "More actions", fetched when the rep opens it."""
    me = rep_of(request.user)
    lead = selectors.queue_row(me, pk) if me is not None else None
    if lead is None:
        raise Http404("Not in your queue.")
    _work_on(lead, owner=True, manages=True)
    context = {"lead": lead, "next": reverse("web:queue")}
    return render(request, "web/queue/_more_panel.html", context)


# --- Actions ------------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _valid(form: forms.Form) -> dict[str, Any]:
    if not form.is_valid():
        raise _Invalid(" ".join(str(e) for errors in form.errors.values() for e in errors))
    return form.cleaned_data


# Each action: the signed-in user, the lead (one they may see and may do the action to, as
# ``lead_action_refusal`` answered) and their rep (there is one for every action but status
# and note, which RevOps may do without one). Returns the message for the page.


def _accept(request: HttpRequest, lead: Lead, me: Rep | None) -> str:
    lead_accept(lead_id=lead.pk, rep_id=me.pk, actor=request.user)
    return "Accepted: the lead is yours to work."


def _decline(request: HttpRequest, lead: Lead, me: Rep | None) -> str:
    data = _valid(DeclineForm(request.POST))
    routing.lead_decline(lead_id=lead.pk, rep_id=me.pk, reason=data["reason"], actor=request.user)
    return "Declined: the lead is routed again without you."


def _touch(request: HttpRequest, lead: Lead, me: Rep | None) -> str:
    data = _valid(TouchForm(request.POST))
    lead_touch(
        lead_id=lead.pk, rep_id=me.pk, kind=data["kind"], note=data["note"], actor=request.user
    )
    return f"{data['kind'].capitalize()} logged."


def _status(request: HttpRequest, lead: Lead, me: Rep | None) -> str:
    data = _valid(StatusForm(request.POST, current=lead.status))
    lead = lead_set_status(
        lead_id=lead.pk, status=data["status"], reason=data["reason"], actor=request.user
    )
    return f"Status changed to {lead.get_status_display()}."


def _note(request: HttpRequest, lead: Lead, me: Rep | None) -> str:
    data = _valid(NoteForm(request.POST))
    lead_note(lead_id=lead.pk, text=data["text"], actor=request.user)
    return "Note added."


def _claim(request: HttpRequest, lead: Lead, me: Rep | None) -> str:
    routing.lead_claim(lead_id=lead.pk, rep=me, actor=request.user)
    return "Claimed: the lead is in your leads now; accept it to start work."


def _release(request: HttpRequest, lead: Lead, me: Rep | None) -> str:
    routing.lead_release(lead_id=lead.pk, rep=me, actor=request.user)
    return "Released: the lead is back in its queue."


ACTIONS = {
    "accept": _accept,
    "decline": _decline,
    "touch": _touch,
    "status": _status,
    "note": _note,
    "claim": _claim,
    "release": _release,
}


@login_required
@require_POST
@vary_on_headers("HX-Request")  # a fragment for htmx, a redirect otherwise
def lead_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    do = ACTIONS.get(action)
    if do is None:
        raise Http404("No such action.")
    if not user_may_see_lead(request.user, pk):
        raise Http404("No such lead.")
    me = rep_of(request.user)
    view = request.POST.get("view", "row")
    if request.htmx and view != "lead" and me is None:
        raise Http404("No queue.")  # the queue's parts are a rep's
    lead = Lead.objects.select_related("owner").get(pk=pk)
    status, errors = 200, {}
    try:
        if refusal := lead_action_refusal(request.user, lead, action):
            status, message = (403 if refusal.forbidden else 409), refusal.message
        else:
            message = do(request, lead, me)
    except _Invalid as exc:
        status, message = 400, exc.message
    except LeadDataError as exc:
        status, message = 400, " ".join(str(e) for field in exc.errors.values() for e in field)
    except (LeadTransitionError, routing.RoutingError) as exc:
        status, message = 409, str(exc)
    if status != 200:
        errors = {action: message}
    level = "success" if status == 200 else "error"

    if not request.htmx:
        getattr(messages, level)(request, message)
        default = reverse("web:lead", args=[pk]) if view == "lead" else reverse("web:queue")
        return redirect(_back(request, default))

    context: dict[str, Any] = {"flash": message, "level": level}
    if view == "lead":
        lead = selectors.lead_for_page(request.user, pk)
        if lead is None:  # declined or released: no longer theirs to see
            getattr(messages, level)(request, message)
            return HttpResponse(status=204, headers={"HX-Redirect": reverse("web:queue")})
        context.update(_lead_context(request, lead))
        template = "web/queue/_lead_response.html"
    elif view == "live":
        context.update(_live_context(request, me))
        template = "web/queue/_live_response.html"
    else:
        lead = selectors.queue_row(me, pk)
        context["lead"] = _rows([lead], timezone.now())[0] if lead else None
        context["next"] = reverse("web:queue")
        template = "web/queue/_row_response.html"
    _show_errors(context, pk, errors, request.POST)
    return render(request, template, context, status=status)


def _show_errors(context: dict[str, Any], pk: int, errors: dict[str, str], values) -> None:
    """Put a refused action's message (and what was typed) on the lead it was about, for
    ``_actions.html`` to show next to its form."""
    leads = [context.get("lead"), *context.get("leads", ())]
    leads += [lead for _pool, waiting in context.get("board", ()) for lead in waiting]
    for lead in leads:
        if lead is not None and lead.pk == pk and errors:
            lead.errors, lead.values = errors, values


# --- Presence and notifications -----------------------------------------------------------


@login_required
@require_POST
@vary_on_headers("HX-Request")  # a fragment for htmx, a redirect otherwise
def presence(request: HttpRequest) -> HttpResponse:
    me = rep_of(request.user)
    if me is None:
        raise Http404("No rep profile.")
    form = PresenceForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            rep_set_presence(rep=me, presence=form.cleaned_data["presence"], actor=request.user)
            message = f"You are {me.get_presence_display().lower()}."
        except ValidationError as exc:
            status, message = 400, " ".join(exc.messages)
    else:
        status, message = 400, "Choose available, away or offline."
    if not request.htmx:
        (messages.success if status == 200 else messages.error)(request, message)
        return redirect(_back(request, reverse("web:queue")))
    form = PresenceForm(initial={"presence": me.presence})
    context = {"me": me, "presence_form": form, "presence_message": message, "level": status}
    return render(request, "web/queue/_presence.html", context, status=status)


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    notes = list(notifications_of(request.user).select_related("lead")[:NOTIFICATIONS_SHOWN])
    return render(
        request,
        "web/queue/notifications.html",
        {"notes": notes, "unread": sum(1 for n in notes if n.read_at is None)},
    )


@login_required
@require_POST
@vary_on_headers("HX-Request")  # a fragment for htmx, a redirect otherwise
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    note = get_object_or_404(notifications_of(request.user).select_related("lead"), pk=pk)
    notification_mark_read(notification=note)
    if not request.htmx:
        return redirect(_back(request, reverse("web:notifications")))
    context = {"note": note, "unread": selectors.unread_count(request.user), "oob": True}
    return render(request, "web/queue/_notification_response.html", context)
