"""Logs a machine can read, and Sentry when it is configured.

- ``RequestIdMiddleware`` gives every request an id: the caller's ``X-Request-ID`` when it is
  a sane token (a proxy or load balancer usually sets one), a new one otherwise. The response
  carries it back in ``X-Request-ID``; every log line written while the request runs carries
  it as ``request_id`` (``RequestIdFilter``), as do Sentry events (``sentry_init``).
- ``LOGGING`` in the settings formats lines as JSON with python-json-logger (one object a
  line: time, level, logger, message, request_id and any ``extra``), or as plain text with
  ``LOG_FORMAT=text``.
- ``sentry_init`` starts sentry-sdk with its Django integration; the settings call it only
  when ``SENTRY_DSN`` is set.

Nothing here imports Django's models or settings: the settings import this module.
"""

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.core.exceptions import ImproperlyConfigured

REQUEST_ID_HEADER = "X-Request-ID"
# An id from outside is kept only when it looks like one: letters, digits and . _ : - (a
# UUID, a trace id), at most 128 characters. Anything else is replaced, never logged.
_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
NO_REQUEST = "-"

_request_id: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)


def current_request_id() -> str:
    """The id of the request being served, or '-' outside one (tasks, commands)."""
    return _request_id.get()


def request_id_from(value: str | None) -> str:
    """The caller's id when it is sane, a new random one otherwise."""
    if value and _SANE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Sets the request's id for its logs and returns it in ``X-Request-ID``."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (for the JSON and text formats alike)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


def _tag_request_id(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    """Sentry's ``before_send``: the event carries the id the request's logs carry."""
    request_id = current_request_id()
    if request_id != NO_REQUEST:
        event.setdefault("tags", {})["request_id"] = request_id
    return event


def sentry_init(dsn: str, *, environment: str, traces_sample_rate: float = 0.0) -> None:
    """Start sentry-sdk with the Django integration. Personal data (cookies, users' emails,
    request bodies) is not sent."""
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration()],
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        before_send=_tag_request_id,
    )


def logging_config(*, level: str, fmt: str, loggers: dict[str, Any]) -> dict[str, Any]:
    """The ``LOGGING`` dict: one console handler, JSON (``fmt='json'``) or text lines."""
    if fmt not in {"json", "text"}:
        raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {fmt!r}")
    formatters = {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "leadhub.logs.RequestIdFilter"}},
        "formatters": {fmt: formatters[fmt]},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": loggers,
    }
