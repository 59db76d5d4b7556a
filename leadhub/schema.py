"""The OpenAPI document's error responses, declared once for every endpoint.

DRF answers the same few ways whatever the view: a 401 when credentials are missing or
wrong, a 403 when the user may not, a 404 for an object (or a page) that is not there or not
theirs, a 400 for bad input. ``LeadHubAutoSchema`` adds each of these to an operation whose
view can give it, with the body as a component (``ErrorDetail``, ``ValidationError``), so
the document lists every status the API uses without an annotation on each view. A view's
own ``@extend_schema`` description of a status is kept; only its body is filled in.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, build_basic_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import permissions

FREE_FORM = build_basic_type(OpenApiTypes.OBJECT)

ERROR_DETAIL = ResolvedComponent(
    name="ErrorDetail",
    type=ResolvedComponent.SCHEMA,
    object="ErrorDetail",
    schema={
        "type": "object",
        "description": "Why the request was refused, in words.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
)
VALIDATION_ERROR = ResolvedComponent(
    name="ValidationError",
    type=ResolvedComponent.SCHEMA,
    object="ValidationError",
    schema={
        "type": "object",
        "description": (
            "Every problem with the input by field: `{field: [reasons]}`; `non_field_errors` "
            "for the input as a whole. A nested field's problems are nested the same way (a "
            "list item's by its index)."
        ),
        "additionalProperties": {
            "anyOf": [
                {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
                {"type": "object"},
            ]
        },
    },
)

# Status → (the body's components, the description when the view gives none).
ERRORS: dict[str, tuple[tuple[ResolvedComponent, ...], str]] = {
    "400": (
        (VALIDATION_ERROR, ERROR_DETAIL),
        "Bad input: every problem by field, or `detail` when the body cannot be parsed.",
    ),
    "401": ((ERROR_DETAIL,), "No credentials, or a token or intake key that is not valid."),
    "403": ((ERROR_DETAIL,), "Signed in, but not allowed to do this."),
    "404": ((ERROR_DETAIL,), "No such object or page, or not one you may see."),
    "409": ((ERROR_DETAIL,), "The object's state does not allow it."),
    "429": (
        (ERROR_DETAIL,),
        "Over a rate limit or locked out after failed sign-ins (leadhub.throttles): wait "
        "the seconds of the Retry-After header.",
    ),
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}


# A query string past the web server's limit (gunicorn's limit_request_line, 4,094 bytes):
# refused by the server before LeadHub sees the request, in the server's own words.
URI_TOO_LONG = {
    "description": "The request line is longer than the web server takes.",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


class LeadHubAutoSchema(AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for code in self._error_statuses(operation):
            responses.setdefault(code, {"description": ERRORS[code][1]})
        if "429" in responses:
            responses["429"].setdefault("headers", RETRY_AFTER)
        for code, response in responses.items():
            if code in ERRORS and _has_no_body_schema(response):
                components = ERRORS[code][0]
                for component in components:
                    self.registry.register_on_missing(component)
                schema = (
                    components[0].ref
                    if len(components) == 1
                    else {"anyOf": [c.ref for c in components]}
                )
                response["content"] = {"application/json": {"schema": schema}}
        if any(p.get("in") == "query" for p in operation.get("parameters", [])):
            responses.setdefault("414", URI_TOO_LONG)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_statuses(self, operation: dict[str, Any]) -> list[str]:
        """The error statuses DRF itself gives for this operation's view."""
        statuses = []
        if operation.get("requestBody") or self._get_filter_parameters():
            statuses.append("400")
        if self.view.get_authenticators():
            # Also for views open to all: a wrong token or intake key is refused anyway.
            statuses.append("401")
        if any(not isinstance(p, permissions.AllowAny) for p in self.view.get_permissions()):
            statuses.append("403")
        if "{" in self.path or (self._is_list_view() and self._get_paginator()):
            statuses.append("404")
        # A throttle may count only some methods (leadhub.throttles: ``methods``).
        if any(
            self.method in getattr(t, "methods", {self.method}) for t in self.view.get_throttles()
        ):
            statuses.append("429")
        return statuses


def _has_no_body_schema(response: dict[str, Any]) -> bool:
    """No body, or only the free-form object of ``OpenApiTypes.OBJECT``."""
    content = response.get("content")
    if not content:
        return True
    return all(media.get("schema") in (None, FREE_FORM) for media in content.values())
