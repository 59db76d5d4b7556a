"""Each kind of change made by importing a playbook is one audit entry (beside the entry
of the publication every import makes) with ``playbook`` as the source and ``--actor`` as
the actor; importing the same playbook again records nothing but that publication."""

import pytest
import yaml
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command

from routing.playbook import playbook_dump, playbook_export

pytestmark = pytest.mark.django_db

CREATE, UPDATE = LogEntry.Action.CREATE, LogEntry.Action.UPDATE


def _named(items: list, name: str, key: str = "name") -> dict:
    return next(item for item in items if item[key] == name)


def _set(path_and_value):
    """A change to the exported data: (section, entry name or index, field, value)."""

    def change(data: dict) -> None:
        section, *path, value = path_and_value
        item = data[section]
        if isinstance(item, list):
            which, *path = path
            item = item[which] if isinstance(which, int) else _named(item, which)
        for step in path[:-1]:
            item = item[step]
        item[path[-1]] = value

    return change


def _add_working_hours(data: dict) -> None:
    _named(data["reps"], "anna", "username")["working_hours"].append(
        {"weekday": 1, "start": "09:00:00", "end": "12:00:00"}
    )


# (id, change to the export, model, action, field, before, after)
CASES = [
    (
        "team",
        _set(("teams", "EMEA", "region", "APAC")),
        "reps.team",
        UPDATE,
        "region",
        "EMEA",
        "APAC",
    ),
    (
        "holiday",
        _set(("holiday_calendars", "Germany", "holidays", 0, "name", "Xmas")),
        "reps.holiday",
        UPDATE,
        "name",
        "Christmas",
        "Xmas",
    ),
    (
        "rep weight",
        lambda d: _named(d["reps"], "anna", "username").update(weight=4),
        "reps.rep",
        UPDATE,
        "weight",
        1,
        4,
    ),
    ("working hours", _add_working_hours, "reps.workinghours", CREATE, "end", None, "12:00:00"),
    (
        "time off",
        lambda d: _named(d["reps"], "anna", "username")["time_off"][0].update(reason="Beach"),
        "reps.timeoff",
        UPDATE,
        "reason",
        "Summer",
        "Beach",
    ),
    (
        "pool member",
        lambda d: _named(d["pools"], "EMEA RR")["members"][1].update(weight=6),
        "routing.poolmember",
        UPDATE,
        "weight",
        2,
        6,
    ),
    (
        "territory",
        _set(("territories", "Europe", "countries", ["DE"])),
        "routing.territory",
        UPDATE,
        "countries",
        ["DE", "FR"],
        ["DE"],
    ),
    (
        "rule",
        _set(("rules", 0, "name", "Everyone")),
        "routing.rule",
        UPDATE,
        "name",
        "All",
        "Everyone",
    ),
    (
        "sla policy",
        _set(("sla_policies", "Accept fast", "accept_minutes", 60)),
        "sla.slapolicy",
        UPDATE,
        "accept_minutes",
        30,
        60,
    ),
    (
        "sla step",
        lambda d: _named(d["sla_policies"], "Accept fast")["steps"][0].update(minutes=15),
        "sla.slastep",
        UPDATE,
        "minutes",
        5,
        15,
    ),
    (
        "business calendar",
        _set(("business_calendars", "Berlin office", "timezone", "Europe/Paris")),
        "sla.businesscalendar",
        UPDATE,
        "timezone",
        "Europe/Berlin",
        "Europe/Paris",
    ),
    (
        "webhook",
        _set(("webhooks", "CRM", "url", "https://crm.example.com/v2")),
        "sla.webhooksubscription",
        UPDATE,
        "url",
        "https://crm.example.com/hook",
        "https://crm.example.com/v2",
    ),
    (
        "pipeline",
        _set(("pipeline", "sales_ready_score", 70)),
        "leads.pipelinesettings",
        UPDATE,
        "sales_ready_score",
        60,
        70,
    ),
    (
        "scoring rule",
        _set(("scoring_rules", "Big", "points", 25)),
        "leads.scoringrule",
        UPDATE,
        "points",
        20,
        25,
    ),
]


@pytest.fixture
def exported(world, tmp_path):
    """The world as a playbook, imported once, so that each test's import changes only
    what the test changes."""
    path = tmp_path / "playbook.yaml"
    path.write_text(playbook_dump(playbook_export()), encoding="utf-8")
    call_command("playbook", "import", str(path))
    LogEntry.objects.all().delete()
    return path


def _import(path, change, *args: str) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    call_command("playbook", "import", str(path), *args)


@pytest.mark.parametrize(
    ("change", "model", "action", "field", "before", "after"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_playbook_change_is_one_entry_with_before_after_actor_and_source(
    exported, revops, change, model, action, field, before, after
):
    _import(exported, change, "--actor", revops.username)

    entries = LogEntry.objects.exclude(content_type__model="publication")
    [entry] = entries
    assert f"{entry.content_type.app_label}.{entry.content_type.model}" == model
    assert entry.action == action
    assert entry.changes_dict[field] == [before, after]
    assert entry.actor == revops
    assert entry.additional_data == {"source": "playbook"}


def test_importing_the_same_playbook_again_records_only_its_publication(exported):
    _import(exported, lambda data: None)

    [entry] = LogEntry.objects.all()
    assert entry.content_type.model == "publication"
    assert entry.actor is None
    assert entry.additional_data == {"source": "playbook"}
    assert entry.changes_dict["note"] == [None, "playbook import"]


def test_an_unknown_actor_is_refused_before_anything_is_written(exported):
    with pytest.raises(CommandError, match="nobody"):
        _import(exported, _set(("teams", "EMEA", "region", "APAC")), "--actor", "nobody")
    assert not LogEntry.objects.exists()
