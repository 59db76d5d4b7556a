"""Sources besides the admin, the API and the playbook: a management command (or the
shell, or a task) is ``command`` with no actor; the pages for reps are ``web``."""

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command

from sla.services import webhook_subscription_regenerate_secret

pytestmark = pytest.mark.django_db

ICS = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "BEGIN:VEVENT",
        "DTSTART;VALUE=DATE:20301225",
        "SUMMARY:Weihnachten",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "DTSTART;VALUE=DATE:20310101",
        "SUMMARY:Neujahr",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)


def test_importing_holidays_records_each_added_and_renamed_day(world, tmp_path):
    path = tmp_path / "de.ics"
    path.write_text(ICS, encoding="utf-8")

    call_command("import_holidays", "Germany", str(path))

    entries = {
        (e.action, e.object_repr): e.changes_dict["name"]
        for e in LogEntry.objects.filter(content_type__model="holiday")
    }
    assert entries == {
        (LogEntry.Action.UPDATE, "2030-12-25 Weihnachten"): ["Christmas", "Weihnachten"],
        (LogEntry.Action.CREATE, "2031-01-01 Neujahr"): [None, "Neujahr"],
    }
    assert LogEntry.objects.count() == 2
    assert {(e.actor, e.additional_data["source"]) for e in LogEntry.objects.all()} == {
        (None, "command")
    }


def test_a_rep_setting_their_presence_on_their_page_is_recorded_from_the_web(world, client):
    anna = world["anna"]
    client.force_login(anna.user)

    client.post("/presence/", {"presence": "away"})

    [entry] = LogEntry.objects.all()
    assert entry.changes_dict["presence"] == ["available", "away"]
    assert (entry.actor, entry.additional_data["source"]) == (anna.user, "web")


def test_a_new_webhook_secret_is_recorded_as_changed_without_its_value(world):
    webhook = world["webhook"]
    old = webhook.secret

    webhook_subscription_regenerate_secret(subscription=webhook)

    [entry] = LogEntry.objects.all()
    assert entry.changes_dict == {"secret": ["(hidden)", "(hidden)"]}
    assert old not in str(entry.changes) and webhook.secret not in str(entry.changes)
