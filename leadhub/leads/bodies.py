"""Request bodies LeadHub cannot take, answered as a 400 in each channel's error format
rather than a 500 or Django's bare "Bad Request" page: a body over
DATA_UPLOAD_MAX_MEMORY_SIZE, and JSON nested too deep for Python's parser.

``JSONParser`` and ``exception_handler`` are DRF's, with these two cases added; every API
view has them (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES and EXCEPTION_HANDLER).
"""

import io
import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.response import Response

from leadhub.leads.intake import MAX_CUSTOM_DEPTH, TOO_DEEP, echo_key

# A JSON string (with its escapes) or a bracket: enough to follow the nesting of a document
# without parsing it.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def too_large_reason() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return f"The request is too large: send at most {limit / 2**20:g} MB."


def _too_deep_field(text: str) -> str | None:
    """The top-level key under which ``text`` nests past MAX_CUSTOM_DEPTH, if any.

    Only called after json.loads gave up with RecursionError: Python's parser recurses
    once per level. A streaming parser such as ijson would not, but it would be a second
    JSON parser (and a dependency) for a request that is refused anyway; following the
    brackets is enough to name the field."""
    depth, key = 0, None
    for match in _JSON_TOKEN.finditer(text):
        lexeme = match.group()
        if lexeme[0] == '"':
            if depth == 1:
                key = lexeme  # at depth 1, the last string before a bracket is its key
        elif lexeme in "[{":
            depth += 1
            if depth > MAX_CUSTOM_DEPTH + 1 and key is not None:
                return echo_key(json.loads(key))
        else:
            depth -= 1
    return None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; JSON too deep to parse is a 400 naming the field, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        body = stream.read()
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            field = _too_deep_field(body.decode("utf-8", "replace"))
            raise ParseError({field or "non_field_errors": [TOO_DEEP]}) from None


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, and a JSON 400 for a body over the upload limit (Django's own answer
    is an HTML page)."""
    # Imported here: rest_framework.views reads DEFAULT_PARSER_CLASSES, which names this
    # module's JSONParser, when it is first imported.
    from rest_framework import views

    if isinstance(exc, RequestDataTooBig):
        return Response({"non_field_errors": [too_large_reason()]}, status=400)
    return views.exception_handler(exc, context)
