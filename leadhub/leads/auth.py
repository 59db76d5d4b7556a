"""X-Api-Key authentication for intake keys: a key may create leads and do nothing else."""

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from leadhub.leads.models import IntakeKey

HEADER = "HTTP_X_API_KEY"


class IntakeKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = request.META.get(HEADER)
        if not raw:
            return None
        key = IntakeKey.objects.filter(key_hash=IntakeKey.hash(raw.strip()), active=True).first()
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown or inactive intake key.")
        now = timezone.now()
        # Written at most once a minute so a busy form does not turn every intake into two writes.
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            IntakeKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return AnonymousUser(), key

    def authenticate_header(self, request):
        return "X-Api-Key"


def intake_key_of(request) -> IntakeKey | None:
    return request.auth if isinstance(request.auth, IntakeKey) else None


class LeadAccess(permissions.BasePermission):
    """Signed-in users per their role (the selectors narrow what they see); intake keys
    may only create leads."""

    message = "An intake key may only create leads."

    def has_permission(self, request, view) -> bool:
        if intake_key_of(request) is not None:
            return getattr(view, "action", None) == "create"
        return bool(request.user and request.user.is_authenticated)


class IntakeKeyScheme(OpenApiAuthenticationExtension):
    target_class = IntakeKeyAuthentication
    name = "IntakeKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
