"""The SLA sections of the playbook: business calendars, SLA policies, webhook
subscriptions and Slack webhooks (sla/playbook.py, docs/playbook.md)."""

from datetime import date, time

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from reps.models import HolidayCalendar, Rep, Team
from reps.tests.factories import HolidayCalendarFactory, HolidayFactory, RepFactory, TeamFactory
from routing.models import Publication, RuleSet
from routing.playbook import playbook_dump, playbook_export, playbook_import, playbook_load
from sla.models import (
    BusinessCalendar,
    BusinessHours,
    SlackWebhook,
    SlaPolicy,
    SlaStep,
    WebhookSubscription,
)
from sla.tests.factories import SlackWebhookFactory, WebhookSubscriptionFactory

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-that-must-never-leave-the-database"
DEMO_CONDITION = {"any": [{"field": "intent_signals", "op": "contains", "value": "demo_request"}]}


@pytest.fixture
def setup():
    emea = TeamFactory(name="EMEA", timezone="Europe/Berlin")
    anna = RepFactory(user__username="anna", team=emea)
    germany = HolidayCalendarFactory(name="Germany")
    HolidayFactory(calendar=germany, date=date(2030, 12, 25), name="Christmas")
    hours = BusinessCalendar.objects.create(
        name="EMEA hours", timezone="Europe/Berlin", holiday_calendar=germany
    )
    for weekday, start, end in [(0, 9, 12), (0, 13, 17), (4, 20, 0)]:
        BusinessHours.objects.create(
            calendar=hours, weekday=weekday, start=time(start), end=time(end)
        )
    demo = SlaPolicy.objects.create(
        name="Demo requests",
        priority=10,
        condition=DEMO_CONDITION,
        calendar=hours,
        accept_minutes=5,
        touch_minutes=15,
        pause_statuses=["nurture"],
    )
    for position, (action, minutes, times) in enumerate(
        [("remind", 2, 1), ("reassign", 0, 2), ("escalate", 0, 1), ("triage", 0, 1)]
    ):
        SlaStep.objects.create(
            policy=demo, position=position, action=action, minutes=minutes, times=times
        )
    SlaPolicy.objects.create(name="Everything else", priority=100, touch_minutes=60)
    WebhookSubscriptionFactory(
        name="CRM", url="https://crm.example.com/hook", events=["lead.assigned"], secret=SECRET
    )
    SlackWebhookFactory(name="Anna's channel", rep=anna, team=None)
    SlackWebhookFactory(name="", url="https://hooks.slack.com/emea", team=emea)


def wipe() -> None:
    """Empty the set-up, as a fresh database would be."""
    SlackWebhook.objects.all().delete()
    WebhookSubscription.objects.all().delete()
    SlaPolicy.objects.all().delete()
    BusinessCalendar.objects.all().delete()
    Publication.objects.all().delete()
    RuleSet.objects.all().delete()
    Rep.objects.all().delete()
    get_user_model().objects.all().delete()
    Team.objects.all().delete()
    HolidayCalendar.objects.all().delete()


def sla_rows() -> dict[str, list]:
    return {
        "calendars": list(BusinessCalendar.objects.values_list("name", "timezone")),
        "hours": list(BusinessHours.objects.values_list("calendar__name", "weekday", "start")),
        "policies": list(SlaPolicy.objects.values_list("name", "accept_minutes", "calendar")),
        "steps": list(SlaStep.objects.values_list("policy__name", "position", "action")),
        "webhooks": list(WebhookSubscription.objects.values_list("name", "url", "secret")),
        "slack": list(SlackWebhook.objects.values_list("name", "url", "rep", "team")),
    }


def test_export_writes_the_sla_sections_by_name_after_routings(setup):
    data = playbook_export()
    assert list(data)[-4:] == ["business_calendars", "sla_policies", "webhooks", "slack_webhooks"]
    assert data["business_calendars"] == [
        {
            "name": "EMEA hours",
            "timezone": "Europe/Berlin",
            "holiday_calendar": "Germany",
            "hours": {"mon": ["09:00-12:00", "13:00-17:00"], "fri": ["20:00-24:00"]},
        }
    ]
    assert [p["name"] for p in data["sla_policies"]] == ["Demo requests", "Everything else"]
    demo = data["sla_policies"][0]
    assert (demo["calendar"], demo["accept_minutes"], demo["touch_minutes"]) == (
        "EMEA hours",
        5,
        15,
    )
    assert demo["steps"] == [
        {"action": "remind", "minutes": 2, "times": 1},
        {"action": "reassign", "minutes": 0, "times": 2},
        {"action": "escalate", "minutes": 0, "times": 1},
        {"action": "triage", "minutes": 0, "times": 1},
    ]
    assert data["sla_policies"][1]["calendar"] is None
    assert data["webhooks"] == [
        {
            "name": "CRM",
            "url": "https://crm.example.com/hook",
            "events": ["lead.assigned"],
            "team": None,
            "active": True,
        }
    ]
    assert [(h["name"], h["rep"], h["team"]) for h in data["slack_webhooks"]] == [
        ("", None, "EMEA"),
        ("Anna's channel", "anna", None),
    ]


def test_a_secret_is_never_exported(setup):
    text = playbook_dump(playbook_export())
    assert SECRET not in text
    assert "secret" not in text


def test_export_import_into_an_empty_database_export_gives_the_same_bytes(setup):
    first = playbook_dump(playbook_export())
    wipe()
    report = playbook_import(playbook_load(first))
    assert report.ok, report.errors
    assert playbook_dump(playbook_export()) == first
    assert report.counts["sla_policies"] == 2 and report.counts["slack_webhooks"] == 2
    # The new subscription got a secret of its own, not the old one, not an empty one.
    secret = WebhookSubscription.objects.get().secret
    assert secret and secret != SECRET
    assert BusinessHours.objects.get(weekday=4).end == time(0)


def test_import_updates_in_place_and_keeps_an_existing_subscriptions_secret(setup):
    data = playbook_export()
    data["webhooks"][0]["url"] = "https://crm.example.com/v2/hook"
    data["webhooks"].append(
        {"name": "Warehouse", "url": "https://dw.example.com", "events": ["lead.created"]}
    )
    data["sla_policies"][0]["steps"] = [{"action": "escalate"}]
    data["business_calendars"][0]["hours"] = {"tue": ["08:00-16:00"]}
    data["slack_webhooks"][1]["url"] = "https://hooks.slack.com/anna-2"
    report = playbook_import(data)
    assert report.ok, report.errors

    crm = WebhookSubscription.objects.get(name="CRM")
    assert (crm.url, crm.secret) == ("https://crm.example.com/v2/hook", SECRET)
    assert WebhookSubscription.objects.get(name="Warehouse").secret not in ("", SECRET)
    demo = SlaPolicy.objects.get(name="Demo requests")
    assert list(demo.steps.values_list("action", "times")) == [("escalate", 1)]
    assert list(BusinessHours.objects.values_list("weekday", "start", "end")) == [
        (1, time(8), time(16))
    ]
    assert SlackWebhook.objects.count() == 2
    assert SlackWebhook.objects.get(name="Anna's channel").url == "https://hooks.slack.com/anna-2"


def test_a_secret_in_the_file_is_refused(setup):
    data = playbook_export()
    data["webhooks"][0]["secret"] = "chosen-by-hand"
    report = playbook_import(data)
    assert [e for e in report.errors if e.startswith("webhooks[0] 'CRM'.secret:")]
    assert WebhookSubscription.objects.get().secret == SECRET


def test_errors_name_the_entry_and_the_field_and_nothing_is_written(setup):
    before = sla_rows()
    data = playbook_export()
    data["teams"] = [{"name": "APAC", "timezone": "Asia/Tokyo"}]
    demo = data["sla_policies"][0]
    demo["steps"][1]["action"] = "panic"
    demo["pause_statuses"] = ["nurture", "sleeping"]
    data["sla_policies"][1]["condition"] = {"all": [{"field": "country", "op": "like"}]}
    data["sla_policies"][1]["calendar"] = "Mars hours"
    data["business_calendars"][0]["hours"] = {"mon": ["17:00-09:00"], "caturday": ["09:00-10:00"]}
    data["business_calendars"][0]["holiday_calendar"] = "Atlantis"
    data["webhooks"][0]["team"] = "Nowhere"
    data["webhooks"][0]["events"] = ["lead.exploded"]
    data["slack_webhooks"][1]["rep"] = "jdoe"
    data["slack_webhooks"][0]["rep"] = "anna"  # and a team: one or the other

    report = playbook_import(data)

    errors = report.errors
    assert any(e.startswith("sla_policies[0] 'Demo requests'.steps[1].action:") for e in errors)
    assert any(
        e.startswith("sla_policies[0] 'Demo requests'.pause_statuses[1]: unknown lead status")
        for e in errors
    )
    assert (
        "sla_policies[1] 'Everything else'.calendar: unknown business calendar 'Mars hours'."
        in errors
    )
    assert any(e.startswith("business_calendars[0] 'EMEA hours'.hours:") for e in errors)
    assert any(
        e.startswith("business_calendars[0] 'EMEA hours'.hours.caturday: unknown day")
        for e in errors
    )
    assert (
        "business_calendars[0] 'EMEA hours'.holiday_calendar: unknown holiday calendar 'Atlantis'."
        in errors
    )
    assert "webhooks[0] 'CRM'.team: unknown team 'Nowhere'." in errors
    assert any(e.startswith("webhooks[0] 'CRM'.events:") for e in errors)
    assert """slack_webhooks[1] "Anna's channel".rep: unknown rep 'jdoe'.""" in errors
    assert any(e.startswith("slack_webhooks[0] ''") and "not both" in e for e in errors)
    assert "sla_policies[1] 'Everything else'.condition.all[0]: Unknown operator 'like'." in errors
    assert len(errors) == 11, errors
    assert not Team.objects.filter(name="APAC").exists()
    assert sla_rows() == before


def test_a_policy_condition_is_checked_as_the_clocks_compile_it(setup):
    data = playbook_export()
    data["sla_policies"][1]["condition"] = {
        "any": [{"field": "country", "op": "like", "value": "D"}]
    }
    report = playbook_import(data)
    assert report.errors == [
        "sla_policies[1] 'Everything else'.condition.any[0]: Unknown operator 'like'."
    ]


def test_a_dry_run_writes_nothing(setup):
    before = sla_rows()
    data = playbook_export()
    data["business_calendars"].append({"name": "APAC hours", "timezone": "Asia/Tokyo"})
    data["sla_policies"].append({"name": "APAC", "calendar": "APAC hours", "accept_minutes": 30})
    data["sla_policies"][0]["accept_minutes"] = 50
    data["webhooks"].append(
        {"name": "New", "url": "https://new.example.com", "events": ["lead.created"]}
    )
    report = playbook_import(data, dry_run=True)
    assert report.ok, report.errors
    assert sla_rows() == before
    assert Publication.objects.count() == 0


def test_a_bad_sla_section_stops_the_whole_import(setup):
    data = playbook_export()
    data["teams"] = [{"name": "APAC", "timezone": "Asia/Tokyo"}]
    data["rules"] = [{"name": "All to triage", "action": "triage"}]
    data["webhooks"].append({"name": "Broken", "url": "not a url", "events": ["lead.created"]})
    report = playbook_import(data)
    assert report.errors == ["webhooks[1] 'Broken'.url: Enter a valid URL."]
    assert not Team.objects.filter(name="APAC").exists()
    assert not RuleSet.objects.filter(is_draft=False).exists()
    assert not WebhookSubscription.objects.filter(name="Broken").exists()


def test_a_policy_may_name_a_calendar_already_in_the_database(setup):
    report = playbook_import({"sla_policies": [{"name": "Late", "calendar": "EMEA hours"}]})
    assert report.ok, report.errors
    assert SlaPolicy.objects.get(name="Late").calendar.name == "EMEA hours"


def test_the_command_reports_the_sla_sections(setup, tmp_path, capsys):
    path = tmp_path / "playbook.yaml"
    call_command("playbook", "export", "--output", str(path))
    assert SECRET not in path.read_text()
    call_command("playbook", "import", str(path))
    out = capsys.readouterr().out
    assert "1 business_calendars, 2 sla_policies, 1 webhooks, 2 slack_webhooks" in out


def test_the_example_in_the_docs_imports_its_sla_sections():
    from pathlib import Path

    text = Path(__file__).resolve().parents[2].joinpath("docs", "playbook.md").read_text()
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    report = playbook_import(playbook_load(example))
    assert report.ok, report.errors
    demo = SlaPolicy.objects.get(name="Demo requests")
    assert [s.action for s in demo.steps.all()] == ["remind", "reassign", "escalate", "triage"]
    content = SlaPolicy.objects.get(name="Content downloads")
    assert content.calendar.holiday_calendar.name == "Germany"
    assert BusinessHours.objects.filter(end=time(0)).count() == 1
    assert WebhookSubscription.objects.get().team.name == "EMEA"
    assert SlackWebhook.objects.get(name="Anna").rep.user.username == "anna"
