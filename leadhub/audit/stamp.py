"""Who made a change and from where, stamped on each audit entry as it is written.

A request's actor is known only once its view has authenticated it: DRF authenticates a
token inside the view, after every middleware has run (and sets the user on the Django
request then). So the middleware keeps the request, not its user, and each entry reads
the user when it is written; the same holds for the admin's session user. The source is
``admin`` for the admin site, ``api`` for a DRF view, ``web`` for the other pages. Outside
a request, an explicit ``leadhub.changes.change_source`` (the playbook import) wins, and
anything else is ``command``.
"""

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from auditlog.models import LogEntry
from django.db.models.signals import pre_save
from django.http import HttpRequest, HttpResponse
from rest_framework.views import APIView

from leadhub.changes import ADMIN, API, COMMAND, WEB, current_change_source

_request: ContextVar[HttpRequest | None] = ContextVar("leadhub_audit_request", default=None)


class ChangeSourceMiddleware:
    """Makes the request the one every audit entry written while it runs is stamped from."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def request_source(request: HttpRequest) -> str:
    match = request.resolver_match
    if match is None:
        return WEB
    if match.app_name == "admin":
        return ADMIN
    view_class = getattr(match.func, "cls", None)
    if isinstance(view_class, type) and issubclass(view_class, APIView):
        return API
    return WEB


def _user_of(request: HttpRequest | None) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def stamp_entry(sender: type, instance: LogEntry, **kwargs: Any) -> None:
    if instance.pk is not None:
        return
    explicit = current_change_source()
    request = _request.get()
    if explicit is not None:
        source = explicit.source
    else:
        source = request_source(request) if request is not None else COMMAND
    actor = (explicit.actor if explicit is not None else None) or _user_of(request)
    if instance.actor_id is None and actor is not None:
        instance.actor = actor
        instance.actor_email = actor.email or None
    instance.additional_data = {**(instance.additional_data or {}), "source": source}
    if request is not None and instance.remote_addr is None:
        instance.remote_addr = request.META.get("REMOTE_ADDR") or None


def connect() -> None:
    pre_save.connect(stamp_entry, sender=LogEntry, dispatch_uid="leadhub.audit.stamp")
