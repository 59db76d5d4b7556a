"""The API's token authentication (django-rest-knox), in a module of its own: REST_FRAMEWORK
names it, and DRF imports it while ``rest_framework.views`` loads, so it imports no view.
"""

from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.models import AuthToken


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's, with one query per request: knox also loads every other token of the user
    on each request to delete the expired ones; here an expired token is refused (and
    deleted) when it is presented, and a user's other expired tokens are deleted when the
    user signs in again (``TokenObtainView``)."""

    def _cleanup_token(self, auth_token: AuthToken) -> bool:
        if auth_token.expiry is not None and auth_token.expiry <= timezone.now():
            auth_token.delete()
            return True
        return False


class TokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI document's name and shape for it, as they were with DRF's tokens."""

    target_class = "leadhub.token_auth.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )
