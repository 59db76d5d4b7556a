"""The manager's dashboard: every metric for the filters, drill-downs per team and rep, the
CSV export of each table, and reassigning a lead by hand. Managers see their own team,
RevOps everything; a rep gets a 403, another team's page a 404."""

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from leadhub.csv_export import csv_response
from leadhub.leads.models import OPEN_STATUSES, Lead
from leadhub.web import dashboard_tables, metrics, rollup
from leadhub.web.forms_dashboard import MetricFilterForm, ReassignForm
from reps.selectors import reps_visible_to, teams_visible_to
from routing.selectors import user_may_reassign
from routing.services import RoutingError, lead_reassign

METRICS = {
    "speed": metrics.speed,
    "sla": metrics.sla,
    "acceptance": metrics.acceptance,
    "conversion": metrics.conversion,
    "fairness": metrics.fairness,
    "workload": metrics.workload,
}


def _filter_form(request: HttpRequest, fixed: dict[str, Any]) -> MetricFilterForm:
    metrics.scope_of(request.user)  # a rep or nobody: 403 before anything is read
    data = request.GET.copy()
    for key, value in fixed.items():
        data[key] = str(value)
    return MetricFilterForm(data, user=request.user)


def _drill(request: HttpRequest, team_id: int | None, rep_id: int | None) -> dict[str, Any]:
    """The fixed filter of a drill-down page, or a 404 for a team or rep not visible."""
    metrics.scope_of(request.user)
    if team_id is not None:
        team = get_object_or_404(teams_visible_to(request.user), pk=team_id)
        return {"team": team.pk, "title": team.name, "kind": "team"}
    if rep_id is not None:
        rep = get_object_or_404(reps_visible_to(request.user), pk=rep_id)
        return {"rep": rep.pk, "title": rep.display_name, "kind": "rep"}
    return {}


# The page's sections in order, each loaded by its own request (htmx, on load): one
# metric per request, so no request waits for the sum of them.
SECTIONS = {
    "speed": "Speed to lead",
    "sla": "SLA compliance",
    "acceptance": "Acceptance",
    "conversion": "Conversion",
    "fairness": "Fairness",
    "workload": "Workload and queues",
}
# Which charts (by canvas id prefix) each section draws.
SECTION_CHARTS = {"speed": "chart-speed", "sla": "chart-sla", "fairness": "chart-pool-",
                  "workload": "chart-workload"}  # fmt: skip


def _page_query(request: HttpRequest, fixed: dict[str, Any]) -> str:
    query = request.GET.copy()
    query.update({k: str(v) for k, v in fixed.items()})
    return query.urlencode()


@login_required
@require_GET
def dashboard(
    request: HttpRequest, team_id: int | None = None, rep_id: int | None = None
) -> HttpResponse:
    """The page: the headline numbers (``metrics.headline``), the filters, and a
    placeholder per section (``section`` fills each)."""
    drill = _drill(request, team_id, rep_id)
    fixed = {k: v for k, v in drill.items() if k in ("team", "rep")}
    form = _filter_form(request, fixed)
    context: dict[str, Any] = {"form": form, "drill": drill, "fixed": fixed}
    if form.is_valid():
        context.update(
            sections=SECTIONS,
            query=_page_query(request, fixed),
            headline=metrics.headline(form.metric_filter(), request.user),
        )
    status = 200 if form.is_valid() else 400
    return render(request, "web/dashboard/index.html", context, status=status)


@login_required
@require_GET
@vary_on_headers("HX-Request")  # a fragment for htmx, a page of its own otherwise
def section(request: HttpRequest, name: str) -> HttpResponse:
    """One section of the page for the page's filters (``team``/``rep`` among them): its
    numbers, tables and charts. A fragment for htmx, a page of its own otherwise."""
    if name not in SECTIONS:
        raise Http404("No such section.")
    form = _filter_form(request, {})
    if not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    data = _partial_data(form.metric_filter(), request.user, name)
    prefix = SECTION_CHARTS.get(name)
    charts = [c for c in dashboard_tables.charts(data) if prefix and c["id"].startswith(prefix)]
    context: dict[str, Any] = {
        "name": name,
        "title": SECTIONS[name],
        "data": data,
        "tables": dashboard_tables.build(data),
        "charts": charts,
        "query": request.GET.urlencode(),
        "page_url": f"{reverse('web:dashboard')}?{request.GET.urlencode()}",
        "frame": (
            "web/dashboard/_fragment.html" if request.htmx else
            "web/dashboard/section_page.html"
        ),
    }  # fmt: skip
    if name == "speed":
        # Days before today come from the rollup (refreshed every 5 minutes) when it
        # serves the filters: say as of when.
        context["speed_as_of"] = rollup.as_of(form.metric_filter())
    if name == "sla":
        # Evaluated once: a choices iterator would query again for every row.
        context.update(
            reassign_choices=list(ReassignForm(user=request.user).fields["rep"].choices)[1:],
            open_statuses=OPEN_STATUSES,
        )
    return render(request, "web/dashboard/section.html", context)


@login_required
@require_GET
def export(request: HttpRequest, table: str) -> HttpResponse:
    """One table as CSV, streamed, for the same filters as the page."""
    form = _filter_form(request, {})
    if not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    f = form.metric_filter()
    if table == "sla_events":
        columns = dashboard_tables.EVENT_COLUMNS
        rows: Any = metrics.iter_sla_events(f, request.user)
    else:
        source = {
            "speed": ("speed",),
            "sla_by_policy": ("sla",),
            "sla_by_team": ("sla",),
            "sla_by_rep": ("sla",),
            "acceptance": ("acceptance",),
            "decline_reasons": ("acceptance",),
            "conversion_by_rep": ("conversion",),
            "conversion_by_rule": ("conversion",),
            "conversion_by_source": ("conversion",),
            "fairness": ("fairness",),
            "fairness_pools": ("fairness",),
            "workload": ("workload",),
            "queues": ("workload",),
        }.get(table)
        if source is None:
            raise Http404("No such table.")
        data = _partial_data(f, request.user, source[0], events_limit=0)
        built = dashboard_tables.build(data)[table]
        columns, rows = built.columns, built.rows

    def lines() -> Iterator[list[Any]]:
        yield [c.label for c in columns]
        for row in rows:
            yield [row.get(c.key) for c in columns]

    return csv_response(lines(), filename=f"leadhub-{table}.csv")


def _partial_data(
    f: metrics.MetricFilter, user, needed: str, *, events_limit: int = 50
) -> dict[str, Any]:
    """The one metric a section or table needs, with empty stand-ins for the others
    (``build`` makes every table); ``events_limit``: SLA breach events to list."""
    empty: dict[str, Any] = {
        "speed": {
            "overall": {m: dict.fromkeys(("p50", "p90", "p95")) for m in metrics.SPEED_MEASURES},
            "daily": [],
        },
        "sla": {"by_policy": [], "by_team": [], "by_rep": [], "events": []},
        "acceptance": {"by_rep": [], "decline_reasons": []},
        "conversion": {"by_rep": [], "by_rule": [], "by_source": []},
        "fairness": [],
        "workload": {"reps": [], "queues": []},
    }
    if needed == "sla":
        empty["sla"] = metrics.sla(f, user, events_limit=events_limit)
    else:
        empty[needed] = METRICS[needed](f, user)
    return empty


@login_required
@require_POST
def reassign(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Give a lead to another rep by hand, with a reason (``routing.services.lead_reassign``;
    who may: ``routing.selectors.user_may_reassign``)."""
    metrics.scope_of(request.user)
    lead = get_object_or_404(Lead.objects.select_related("owner"), pk=lead_id)
    form = ReassignForm(request.POST, user=request.user)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("web:dashboard")
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"Lead #{lead.pk} not reassigned: {label} - {' '.join(errors)}")
        return redirect(back)
    rep = form.cleaned_data["rep"]
    if not user_may_reassign(request.user, lead, rep):
        raise Http404("No such lead, or not one you may reassign.")
    try:
        lead_reassign(
            lead_id=lead.pk, rep_id=rep.pk, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except RoutingError as exc:
        messages.error(request, f"Lead #{lead.pk} not reassigned: {exc}")
    else:
        messages.success(request, f"Lead #{lead.pk} reassigned to {rep}.")
    return redirect(back)
