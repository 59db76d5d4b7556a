"""Web forms: the hosted form, the endpoint other sites post to, and partial capture.

``/f/<slug>/``         the hosted form: GET shows it, POST (same origin, CSRF) submits it.
``/f/<slug>/submit``   other websites post here (form-encoded); allowed origins only.
``/f/<slug>/partial``  fields as the visitor fills them in; they make a partial lead that
                       the final submission completes.

All three validate through the capture services (clean_lead_data); the views only parse,
check where the request came from, call one service and answer.

A submission (the hosted form's POST and ``/submit``) first counts against the per-IP and
per-form limits (leadhub.throttles; 429 with Retry-After past them), then goes through the
honeypot: one with the hidden ``lh_homepage`` field filled is answered as a success,
stored nowhere and logged. The Origin check of ``/submit`` stops other sites' pages in a
browser; a script can send any Origin, so the limits and the honeypot are what hold it.
"""

import logging
from urllib.parse import urlsplit

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leadhub.leads.bodies import too_large_reason
from leadhub.leads.forms import LeadWebForm, visit_initial
from leadhub.leads.intake import LeadDataError
from leadhub.leads.models import Channel, WebForm
from leadhub.leads.services import CaptureResult, lead_capture, lead_capture_partial
from leadhub.throttles import client_ip, form_partial_wait, form_submit_wait

logger = logging.getLogger(__name__)

# The pages show admin-written text; should escaping ever fail, the browser still runs
# no script but our own file.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
PREFLIGHT_MAX_AGE = 3600


@never_cache
@require_http_methods(["GET", "POST"])
def form_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The hosted form. Never cached: every page view gets its own form session.

    A POST that fails validation shows the form again with the errors and the values
    (400). A good one redirects (303) to the form's redirect URL, or shows its success
    message; the answer is the same whether or not the person was already a lead.
    """
    webform = get_object_or_404(WebForm, slug=slug, active=True)
    if request.method == "GET":
        return _render(request, webform, LeadWebForm(webform, initial=visit_initial(request.GET)))
    wait = form_submit_wait(request, form_id=webform.pk)
    if wait is not None:
        return _busy_page(request, webform, wait)
    form = LeadWebForm(webform, request.POST)
    if form.is_bot():
        _log_bot(request, webform)
        return _success(request, webform)
    if _capture(webform, form) is None:
        return _render(request, webform, form, status=400)
    return _success(request, webform)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def form_submit(request: HttpRequest, slug: str) -> HttpResponse:
    """Where other websites post a form (application/x-www-form-urlencoded).

    Only an origin listed in the form's allowed origins may post: the request's Origin
    header or, without one, the origin of its Referer; anything else is 403. That keeps
    other sites' pages out, not scripts (which send any Origin they like): the per-IP and
    per-form limits (429 with Retry-After) and the honeypot do that.

    The fields are the form's own (plus utm_source/utm_medium/utm_campaign and an optional
    ``lh_session`` that completes a partial lead); other keys are ignored, fields not sent
    are left as they are, required fields are enforced. Answers, with
    Access-Control-Allow-Origin set to the caller's origin:
    201 ``{"ok": true}`` whether the lead is new or an existing open lead took the
    submission (the caller must not learn which), 400 ``{"errors": {field: [reasons]}}``.
    OPTIONS answers a CORS preflight (204).

    A browser that navigated here (a plain HTML form on the other site; its Accept header
    prefers text/html) gets pages instead of JSON: the hosted form's redirect or success
    message, or on bad input the hosted form with the errors and values (400).
    """
    webform = WebForm.objects.filter(slug=slug, active=True).first()
    if webform is None:
        return _json_error("There is no active form at this address.", status=404)
    origin = request.headers.get("Origin") or _origin_of(request.headers.get("Referer", ""))
    if not origin or not webform.origin_allowed(origin):
        return _forbidden_origin(origin)
    if request.method == "OPTIONS":
        return _preflight(origin)
    wants_page = request.get_preferred_type(["application/json", "text/html"]) == "text/html"
    wait = form_submit_wait(request, form_id=webform.pk)
    if wait is not None:
        if wants_page:
            return _busy_page(request, webform, wait)
        return _allow_origin(_busy_json(wait), origin)
    try:
        form = LeadWebForm(webform, request.POST)
    except RequestDataTooBig:
        if wants_page:
            form = LeadWebForm(webform, initial=visit_initial({}))
            form.refuse(too_large_reason())
            return _render(request, webform, form, status=400)
        return _allow_origin(_too_large(), origin)
    if form.is_bot():
        # The answer a person gets: a bot must not learn that its field gave it away.
        _log_bot(request, webform)
        if wants_page:
            return _success(request, webform)
        return _allow_origin(JsonResponse({"ok": True}, status=201), origin)
    result = _capture(webform, form)
    if wants_page:
        if result is None:
            return _render(request, webform, form, status=400)
        return _success(request, webform)
    if result is None:
        response = JsonResponse({"errors": form.errors_json()}, status=400)
    else:
        # The same answer for a new visitor and a known one: the page that posts here is
        # public, and must not learn whether an email is already a lead.
        response = JsonResponse({"ok": True}, status=201)
    return _allow_origin(response, origin)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def form_partial(request: HttpRequest, slug: str) -> HttpResponse:
    """Fields sent as the visitor fills them in, with the page's ``lh_session``.

    Only for forms that capture partial submissions (404 otherwise). A request with an
    Origin header must come from this site or an allowed origin (403 otherwise); one
    without must carry a valid CSRF token, as the hosted page's does.

    Only the form's visible fields are kept, other keys are ignored. 204 when stored;
    400 ``{"errors": {field: [reasons]}}`` names the invalid fields, while the valid ones
    sent with them are still stored. Past the per-IP limit
    (LEADHUB_FORM_PARTIAL_RATE_PER_IP), 429 with Retry-After and nothing stored.
    """
    webform = WebForm.objects.filter(slug=slug, active=True, capture_partial=True).first()
    if webform is None:
        return _json_error("There is no form capturing partial submissions here.", status=404)
    origin = request.headers.get("Origin")
    # An empty Origin must not match a blank line in the allowed origins.
    if origin is not None and (
        not origin or (origin != _own_origin(request) and not webform.origin_allowed(origin))
    ):
        return _forbidden_origin(origin)
    try:
        posted = request.POST
    except RequestDataTooBig:
        return _allow_origin(_too_large(), origin)
    if origin is None and _csrf_rejected(request):
        return _json_error(
            "CSRF check failed: send the csrfmiddlewaretoken of the form page.", status=403
        )
    if request.method == "OPTIONS":
        return _preflight(origin)
    wait = form_partial_wait(request)
    if wait is not None:
        return _allow_origin(_busy_json(wait), origin)
    form = LeadWebForm(webform, posted, partial=True)
    form.is_valid()
    errors = form.errors_json()
    if form.session:
        _lead, lead_errors = lead_capture_partial(
            form=webform, form_session=form.session, data=form.lead_data()
        )
        errors.update(lead_errors)
    if errors:
        response: HttpResponse = JsonResponse({"errors": errors}, status=400)
    else:
        response = HttpResponse(status=204)
    return _allow_origin(response, origin)


def _capture(webform: WebForm, form: LeadWebForm) -> CaptureResult | None:
    """Capture the submission, or put every problem on the form and return None."""
    if not form.is_valid():
        form.add_data_errors()
        return None
    try:
        return lead_capture(
            data=form.lead_data(),
            channel=Channel.FORM,
            form=webform,
            form_session=form.session,
            default_source=webform.source,
        )
    except LeadDataError as exc:
        form.add_lead_errors(exc.errors)
        return None


def _render(
    request: HttpRequest,
    webform: WebForm,
    form: LeadWebForm | None,
    *,
    status: int = 200,
) -> HttpResponse:
    response = render(request, "leads/form.html", {"webform": webform, "form": form}, status=status)
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def _success(request: HttpRequest, webform: WebForm) -> HttpResponse:
    if webform.redirect_url:
        return HttpResponseRedirect(webform.redirect_url, status=303)
    return _render(request, webform, None)


def _log_bot(request: HttpRequest, webform: WebForm) -> None:
    logger.info(
        "honeypot: dropped a submission to form %s from %s", webform.slug, client_ip(request)
    )


def _busy_message(wait: int) -> str:
    minutes = -(-wait // 60)
    return (
        "Too many submissions from here or to this form just now. Try again in "
        f"{minutes} minute{'s' if minutes != 1 else ''}."
    )


def _busy_page(request: HttpRequest, webform: WebForm, wait: int) -> HttpResponse:
    response = render(
        request,
        "leads/form_busy.html",
        {"webform": webform, "message": _busy_message(wait)},
        status=429,
    )
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Retry-After"] = str(wait)
    return response


def _busy_json(wait: int) -> JsonResponse:
    response = JsonResponse({"error": _busy_message(wait), "retry_after": wait}, status=429)
    response["Retry-After"] = str(wait)
    return response


def _origin_of(url: str) -> str:
    """scheme://host[:port] of a URL (a Referer); "" when it has none."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2].lower()
    if parts.scheme not in ("http", "https") or not host:
        return ""
    return f"{parts.scheme}://{host}"


def _own_origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _csrf_rejected(request: HttpRequest) -> bool:
    """Run Django's CSRF check on a view that is exempt from it by default."""
    middleware = CsrfViewMiddleware(lambda _request: HttpResponse())
    return middleware.process_view(request, None, (), {}) is not None


def _too_large() -> JsonResponse:
    return JsonResponse({"errors": {"non_field_errors": [too_large_reason()]}}, status=400)


def _json_error(message: str, *, status: int) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    patch_vary_headers(response, ["Origin"])
    return response


def _forbidden_origin(origin: str) -> JsonResponse:
    if not origin:
        message = (
            "This form only takes submissions from the sites allowed in its settings, and "
            "this request did not say where it came from (no Origin or Referer header)."
        )
    else:
        message = (
            f"{origin} may not post to this form. Add it to the form's allowed origins "
            "in the admin."
        )
    return _json_error(message, status=403)


def _allow_origin(response: HttpResponse, origin: str | None) -> HttpResponse:
    if origin:
        response["Access-Control-Allow-Origin"] = origin
    patch_vary_headers(response, ["Origin"])
    return response


def _preflight(origin: str | None) -> HttpResponse:
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Methods"] = "POST"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return _allow_origin(response, origin)
