"""The manager's open leads: their team's (RevOps: every open lead, triage included), with
a selection moved at once, reassigned to one rep or routed again by the rules
(``routing.services.leads_move``, which checks each lead against what the user may do)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from leadhub.leads.models import OPEN_STATUSES
from leadhub.leads.selectors import leads_visible_to
from leadhub.web.forms_dashboard import LeadsFilterForm, MoveLeadsForm
from leadhub.web.metrics import scope_of
from routing.services import RoutingError, leads_move

PER_PAGE = 50
# How many refused leads the message names one by one.
REFUSALS_SHOWN = 5


@login_required
def open_leads(request: HttpRequest) -> HttpResponse:
    scope_of(request.user)  # managers and RevOps only (403 for anyone else)
    filters = LeadsFilterForm(request.GET or None, user=request.user)
    leads = leads_visible_to(request.user).filter(status__in=sorted(OPEN_STATUSES))
    if filters.is_valid():
        if owner := filters.cleaned_data.get("owner"):
            leads = leads.filter(owner=owner)
        if status := filters.cleaned_data.get("status"):
            leads = leads.filter(status=status)
    page = Paginator(leads.order_by("captured_at", "pk"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "web/dashboard/leads.html",
        {
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "move": MoveLeadsForm(user=request.user),
            "here": "leads",
        },
    )


@login_required
@require_POST
def move_leads(request: HttpRequest) -> HttpResponse:
    scope_of(request.user)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("web:dashboard-leads")
    form = MoveLeadsForm(request.POST, user=request.user)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = f"{form.fields[field].label}: " if field in form.fields else ""
            messages.error(request, f"Nothing moved. {label}{' '.join(errors)}")
        return redirect(back)
    data = form.cleaned_data
    try:
        results = leads_move(
            actor=request.user,
            action=data["action"],
            lead_ids=data["leads"],
            rep=data.get("rep"),
            reason=data["reason"],
        )
    except RoutingError as exc:
        messages.error(request, f"Nothing moved: {exc}")
        return redirect(back)
    moved = [r for r in results if r.decision is not None]
    refused = [r for r in results if r.decision is None]
    if moved:
        done = "reassigned" if data["action"] == "reassign" else "routed again"
        messages.success(request, f"{len(moved)} of {len(results)} leads {done}.")
    if refused:
        named = "; ".join(f"#{r.lead_id}: {r.error}" for r in refused[:REFUSALS_SHOWN])
        more = len(refused) - REFUSALS_SHOWN
        messages.error(
            request,
            f"{len(refused)} not moved: {named}" + (f" (and {more} more)" if more > 0 else ""),
        )
    return redirect(back)
