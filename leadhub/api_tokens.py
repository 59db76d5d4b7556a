"""API tokens (django-rest-knox): only a SHA-512 digest of each token is stored, every
token expires (LEADHUB_API_TOKEN_TTL_DAYS), and a token is revoked by signing out with it
(``POST /api/auth/logout/``), by signing out everywhere (``/api/auth/logout-all/``) or by
deleting it in the admin (``/admin/knox/authtoken/``, which shows digests, never a token).

The header stays ``Authorization: Token <token>``: knox's default prefix is DRF's.
"""

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.models import AuthToken
from knox.settings import knox_settings
from knox.views import LogoutAllView, LogoutView
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leadhub.throttles import LockoutThrottle, TokenThrottle
from leadhub.token_auth import TokenAuthentication


class TokenRequestSerializer(AuthTokenSerializer):
    """DRF's, with the username no longer than a username can be: an overlong one is a 400
    naming it, before it reaches the authentication backends (and axes' records)."""

    username = serializers.CharField(label="Username", write_only=True, max_length=150)


TOKEN_RESPONSE = inline_serializer(
    "ApiToken",
    {
        "token": serializers.CharField(help_text="Shown once: only its digest is stored."),
        "expiry": serializers.DateTimeField(help_text="After this the token is refused."),
    },
)


class TokenObtainView(APIView):
    """Username and password in, a new token out (with its expiry), shown this once."""

    permission_classes = (AllowAny,)
    # Per-IP rate and the sign-in lockout: 429 with Retry-After (leadhub.throttles).
    throttle_classes = (LockoutThrottle, TokenThrottle)
    serializer_class = TokenRequestSerializer

    @extend_schema(request=TokenRequestSerializer, responses={200: TOKEN_RESPONSE})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = TokenRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        # Tokens of this user past their expiry: gone (TokenAuthentication refuses them).
        AuthToken.objects.filter(user=user, expiry__lte=timezone.now()).delete()
        instance, token = AuthToken.objects.create(user=user, expiry=knox_settings.TOKEN_TTL)
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        expiry = serializers.DateTimeField().to_representation(instance.expiry)
        return Response({"token": token, "expiry": expiry})


class TokenLogoutView(LogoutView):
    """Revokes the token the request was sent with."""

    authentication_classes = (TokenAuthentication,)

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, format: str | None = None) -> Response:
        if not isinstance(request.auth, AuthToken):
            raise NotAuthenticated("Sign out with the token to revoke.")
        return super().post(request, format)


class TokenLogoutAllView(LogoutAllView):
    """Revokes every token of the user the request's token belongs to."""

    authentication_classes = (TokenAuthentication,)

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, format: str | None = None) -> Response:
        return super().post(request, format)
