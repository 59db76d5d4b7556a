"""Pages read at a glance: the dashboard's headline numbers in minutes and hours, times in
the viewer's own zone, the admin's names."""

import re
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from leadhub.web import metrics
from leadhub.web.middleware import RepTimezoneMiddleware
from leadhub.web.templatetags.dashboard import in_minutes, minutes
from leadhub.web.tests import glance
from reps.tests.factories import RepFactory, UserFactory

# --- Durations in minutes and hours ----------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "< 1 min"),
        (29, "< 1 min"),
        (30, "1 min"),  # to the nearest minute
        (240, "4 min"),
        (3599, "1 h"),
        (3600, "1 h"),
        (7800, "2 h 10 min"),
        (86_400, "1 d"),
        (3 * 86_400 + 4 * 3600 + 59, "3 d 4 h"),
        (-240, "4 min"),  # a span either way
    ],
)
def test_durations_read_in_minutes_and_hours_never_seconds(seconds, words):
    assert in_minutes(seconds) == words
    assert " s" not in in_minutes(seconds)


def test_nothing_to_show_is_a_dash():
    assert minutes(None) == "-"
    assert minutes(7800.4) == "2 h 10 min"


# --- The headline ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_headline_composes_the_metrics():
    floor = glance.build()

    numbers = metrics.headline(metrics.MetricFilter.last_days(30), floor.manager.user)

    assert numbers["touch_today"] == pytest.approx(300) and numbers["touch_today_n"] == 2
    assert numbers["touch_week"] == pytest.approx(7800)
    assert numbers["sla"] == {"met": 3, "breached": 1, "compliance": 0.75}
    assert numbers["open_breaches"] == 1
    assert numbers["triage"] == 2
    assert numbers["triage_oldest"] == pytest.approx(3 * 3600, abs=60)
    # The same numbers as the metric a section shows.
    f = metrics.MetricFilter.last_days(30)
    assert numbers["sla"] == metrics.sla(f, floor.manager.user)["total"]


@pytest.mark.django_db
def test_another_teams_manager_sees_none_of_it():
    glance.build()
    other = RepFactory(role="manager", user=UserFactory(username="olga"))

    numbers = metrics.headline(metrics.MetricFilter.last_days(30), other.user)

    assert numbers["touch_today"] is None and numbers["sla"]["compliance"] is None
    assert numbers["open_breaches"] == 0


@pytest.mark.django_db
def test_headline_queries(django_assert_num_queries):
    floor = glance.build()
    f = metrics.MetricFilter.last_days(30)
    # Who may look (the RevOps group, asked once for all four metrics), speed (one
    # GROUPING SETS query; SQLite two), compliance, open breaches, the queues.
    with django_assert_num_queries(5 if connection.vendor == "postgresql" else 6):
        metrics.headline(f, floor.manager.user)


@pytest.mark.django_db
def test_the_dashboard_opens_with_the_headline_and_its_period(client):
    floor = glance.build()
    client.force_login(floor.manager.user)

    html = client.get(reverse("web:dashboard"), {"start": "2026-01-01", "end": "2026-01-31"})
    text = html.content.decode()

    assert text.index('id="headline"') < text.index('aria-label="Filters"')
    assert re.search(r'id="headline-period">1 Jan 2026 to 31 Jan 2026<', text)
    # The manager's own pages are in the menu beside the dashboard.
    assert 'href="/queue/"' in text and "Notifications" in text


# --- Times in the viewer's zone --------------------------------------------------------


def _zone_seen(user, path: str = "/") -> str:
    request = RequestFactory().get(path)
    request.user = user
    middleware = RepTimezoneMiddleware(lambda r: HttpResponse(timezone.get_current_timezone_name()))
    return middleware(request).content.decode()


@pytest.mark.django_db
def test_a_rep_sees_times_in_their_own_zone_and_the_zone_is_reset_after():
    rep = RepFactory(timezone="Asia/Tokyo")

    assert _zone_seen(rep.user) == "Asia/Tokyo"
    assert timezone.get_current_timezone_name() == "UTC"


@pytest.mark.django_db
def test_the_api_answers_in_the_default_zone_whoever_asks(settings):
    rep = RepFactory(timezone="Asia/Tokyo")

    assert _zone_seen(rep.user, "/api/leads/") == settings.TIME_ZONE


@pytest.mark.django_db
def test_revops_without_a_rep_and_the_signed_out_see_the_default_zone(settings):
    from django.contrib.auth.models import AnonymousUser

    timezone.activate(ZoneInfo("Europe/Paris"))  # left over from an earlier request
    assert _zone_seen(UserFactory(is_staff=True)) == settings.TIME_ZONE
    timezone.activate(ZoneInfo("Europe/Paris"))
    assert _zone_seen(AnonymousUser()) == settings.TIME_ZONE


@pytest.mark.django_db
def test_an_inactive_rep_or_an_unknown_zone_falls_back_to_the_default(settings):
    gone = RepFactory(timezone="Asia/Tokyo", active=False)
    odd = RepFactory(timezone="Mars/Olympus")  # written around the validator

    assert _zone_seen(gone.user) == settings.TIME_ZONE
    assert _zone_seen(odd.user) == settings.TIME_ZONE


@pytest.mark.django_db
def test_a_page_prints_times_in_the_managers_zone_with_its_abbreviation(client):
    floor = glance.build()
    client.force_login(floor.manager.user)

    text = client.get(reverse("web:dashboard-leads")).content.decode()

    assert " JST</td>" in text and " UTC</td>" not in text


# --- The admin -------------------------------------------------------------------------


def test_the_admin_says_leadhub():
    assert "LeadHub" in admin.site.site_header and "LeadHub" in admin.site.site_title


@pytest.mark.parametrize(
    ("model", "plural"),
    [
        ("routing.Territory", "territories"),
        ("sla.SlaClock", "SLA clocks"),
        ("sla.SlaStep", "SLA steps"),
        ("sla.SlaPolicy", "SLA policies"),
        ("sla.SlackWebhook", "Slack webhooks"),
    ],
)
def test_models_have_proper_names(model, plural):
    from django.apps import apps

    assert str(apps.get_model(model)._meta.verbose_name_plural) == plural


def test_no_model_is_named_with_a_made_up_plural():
    from django.apps import apps

    for model in apps.get_models():
        plural = str(model._meta.verbose_name_plural)
        assert not re.search(r"[^aeiou]ys$|sss$|ss s$", plural), (model, plural)
