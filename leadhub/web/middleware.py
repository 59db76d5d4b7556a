"""Times in the viewer's own time zone: a signed-in person with a rep sees every time (the
``date`` filter, ``localtime``) in their rep's ``timezone``; anyone else (RevOps without a
rep, the signed-out) in ``TIME_ZONE``, as is ``/api/`` for everyone. Pages print the
zone's abbreviation beside a time (the ``T`` format character), so a time is never
ambiguous."""

from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from reps.selectors import rep_of

API = "/api/"


def zone_for(user) -> ZoneInfo | None:
    """The rep's zone, or None for the default (no rep, or a name no longer known)."""
    rep = rep_of(user)
    if rep is None or not rep.timezone:
        return None
    try:
        return ZoneInfo(rep.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return None


class RepTimezoneMiddleware:
    """Activates the zone for the request and deactivates it after, so that a thread that
    serves the next request starts from ``TIME_ZONE``. After ``AuthenticationMiddleware``;
    the rep row it reads is the one the pages' ``rep_of`` reuses."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        zone = None
        # The API answers in UTC whoever asks: a machine reads it, and a token-signed
        # request has no user yet at this point (DRF signs it in inside the view).
        if user is not None and user.is_authenticated and not request.path.startswith(API):
            zone = zone_for(user)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
