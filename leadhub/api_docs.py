"""The OpenAPI schema and its Swagger page, public or not by LEADHUB_API_DOCS_PUBLIC."""

from django.conf import settings
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import permissions


class ApiDocsAccess(permissions.BasePermission):
    """Anyone when LEADHUB_API_DOCS_PUBLIC is on (development's default); otherwise a
    signed-in user or a token (an intake key is neither). Read per request, so a test can
    switch it."""

    def has_permission(self, request, view) -> bool:
        if settings.LEADHUB_API_DOCS_PUBLIC:
            return True
        return bool(request.user and request.user.is_authenticated)


api_schema_view = SpectacularAPIView.as_view(permission_classes=[ApiDocsAccess])
api_docs_view = SpectacularSwaggerView.as_view(
    url_name="api-schema", permission_classes=[ApiDocsAccess]
)
