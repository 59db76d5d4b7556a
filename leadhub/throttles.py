"""Abuse limits that hold across processes: every count lives in the shared cache (Redis
when REDIS_URL is set, the database's ``leadhub_cache`` table otherwise) or, for sign-in
failures, in django-axes' table, so gunicorn workers and machines share one budget.

- API throttles (DRF): the token endpoint per client IP, lead intake per intake key and per
  user, the metrics API per user. Each rate is a setting (``"N/second|minute|hour|day"``,
  or off when empty); past it the API answers 429 with ``Retry-After``.
- Hosted forms: ``form_submit_wait`` counts a submission per client IP and per form.
- Sign-in lockout (django-axes): ``LockoutThrottle`` refuses a locked-out token request
  with 429 and ``Retry-After``; ``lockout_response`` is the page ``/login/`` and the admin
  show. ``SignInLockoutBackend`` is axes' backend minus the requests that have no request.

The client's IP is ``client_ip``: REMOTE_ADDR, or with ``LEADHUB_NUM_PROXIES`` proxies in
front the address the outermost of them saw (never a header the client wrote itself).
"""

import ipaddress
import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from leadhub.leads.auth import intake_key_of


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the limits and the sign-in lockout count it (DRF's rule,
    with REST_FRAMEWORK["NUM_PROXIES"] from LEADHUB_NUM_PROXIES). Should X-Forwarded-For
    hold something else than an address there (no proxy in front, yet one configured), the
    connection's own address; None when there is no address at all (a request made in
    process, e.g. a test client's sign-in: django-axes stores it in an address column)."""
    for ident in (BaseThrottle().get_ident(request), request.META.get("REMOTE_ADDR")):
        try:
            return str(ipaddress.ip_address(ident or ""))
        except ValueError:
            continue
    return None


def _ip_key(request: HttpRequest) -> str:
    """The client's address as a cache key's part."""
    return client_ip(request) or "unknown"


def retry_after(seconds: float | None) -> int:
    """Whole seconds for a Retry-After header: rounded up, at least 1."""
    return max(1, math.ceil(seconds or 0))


class SettingRateThrottle(SimpleRateThrottle):
    """A DRF rate throttle whose rate is the Django setting named by ``setting``, read on
    each request (so ``override_settings`` and the environment are the one source)."""

    setting = ""

    def get_rate(self) -> str | None:
        return getattr(settings, self.setting) or None

    def get_ident(self, request: Any) -> str:
        return _ip_key(request)


class TokenThrottle(SettingRateThrottle):
    """``POST /api/auth/token/`` per client IP: bounds password guessing across usernames,
    which the per-username lockout alone does not."""

    scope = "token"
    setting = "LEADHUB_THROTTLE_TOKEN"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class IntakeKeyThrottle(SettingRateThrottle):
    """``POST /api/leads/`` per intake key."""

    scope = "intake_key"
    setting = "LEADHUB_THROTTLE_INTAKE_KEY"
    methods = frozenset({"POST"})

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        key = intake_key_of(request) if request.method in self.methods else None
        if key is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": key.pk}


class IntakeUserThrottle(SettingRateThrottle):
    """``POST /api/leads/`` per signed-in user (a user's token or session)."""

    scope = "intake_user"
    setting = "LEADHUB_THROTTLE_INTAKE_USER"
    methods = frozenset({"POST"})

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if request.method not in self.methods or intake_key_of(request) is not None:
            return None
        if not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class MetricsThrottle(SettingRateThrottle):
    """``GET /api/metrics/*`` per user: each answer aggregates many rows."""

    scope = "metrics"
    setting = "LEADHUB_THROTTLE_METRICS"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class _KeyedThrottle(SettingRateThrottle):
    """A rate throttle outside DRF's views, counting under a key given to it."""

    def __init__(self, scope: str, setting: str, ident: str) -> None:
        self.scope, self.setting, self.ident = scope, setting, ident
        super().__init__()

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.ident}


def form_submit_wait(request: HttpRequest, *, form_id: int) -> int | None:
    """Count one submission to a hosted form against the per-IP and the per-form limits
    (LEADHUB_FORM_SUBMIT_RATE_PER_IP, LEADHUB_FORM_SUBMIT_RATE_PER_FORM). None when it may
    go on; otherwise the seconds to wait (the Retry-After). A submission refused by the
    per-IP limit does not use up the form's budget."""
    for throttle in (
        _KeyedThrottle("form_ip", "LEADHUB_FORM_SUBMIT_RATE_PER_IP", _ip_key(request)),
        _KeyedThrottle("form", "LEADHUB_FORM_SUBMIT_RATE_PER_FORM", str(form_id)),
    ):
        if not throttle.allow_request(request, None):
            return retry_after(throttle.wait())
    return None


def form_partial_wait(request: HttpRequest) -> int | None:
    """Count one partial save (``/f/<slug>/partial``: the fields as a visitor fills them
    in) against the per-IP limit (LEADHUB_FORM_PARTIAL_RATE_PER_IP), over all forms. None
    when it may go on; otherwise the seconds to wait (the Retry-After)."""
    throttle = _KeyedThrottle(
        "form_partial_ip", "LEADHUB_FORM_PARTIAL_RATE_PER_IP", _ip_key(request)
    )
    if not throttle.allow_request(request, None):
        return retry_after(throttle.wait())
    return None


# --- Sign-in lockout (django-axes) ------------------------------------------------------


def cool_off_seconds() -> int:
    return retry_after(get_cool_off().total_seconds())


class LockoutThrottle(BaseThrottle):
    """Refuses a token request while its username (from its IP, per AXES_LOCKOUT_PARAMETERS)
    is locked out, as axes' backend refuses a sign-in on ``/login/``; the refused try counts
    as a failure, so the cool-off restarts from it, as it does on the page."""

    def allow_request(self, request: Any, view: Any) -> bool:
        data = request.data if hasattr(request.data, "get") else {}
        user_model = get_user_model()
        username = data.get(user_model.USERNAME_FIELD)
        longest = user_model._meta.get_field(user_model.USERNAME_FIELD).max_length
        if not isinstance(username, str) or "\x00" in username or len(username) > longest:
            # No username a sign-in could try (the view answers 400 naming the field), and
            # none the database could look up (PostgreSQL refuses NUL in text).
            return True
        credentials = {"username": username}
        if AxesProxyHandler.is_allowed(request, credentials):
            return True
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        return False

    def wait(self) -> int:
        return cool_off_seconds()


class SignInLockoutBackend(AxesStandaloneBackend):
    """Axes' lockout check for every sign-in through a request. A call without a request
    (a management command, the test client's ``login``) has no address to lock, so it is
    left to the next backend instead of failing."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the page a locked-out sign-in gets, 429 with Retry-After."""
    seconds = cool_off_seconds()
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": math.ceil(seconds / 60), "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
