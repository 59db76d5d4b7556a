from datetime import UTC, date, datetime, time

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command, execute_from_command_line

from leadhub.leads.models import PipelineSettings, ScoringRule
from leadhub.leads.tests.factories import ScoringRuleFactory
from reps.models import Rep, Team, TimeOff
from reps.tests.factories import (
    HolidayCalendarFactory,
    HolidayFactory,
    RepFactory,
    SkillFactory,
    TeamFactory,
    TimeOffFactory,
    WorkingHoursFactory,
)
from routing.models import Pool, Publication, Rule, RuleSet, Territory
from routing.playbook import playbook_dump, playbook_export, playbook_import, playbook_load
from routing.services import ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory, TerritoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    """A set-up touching every section of the playbook."""
    emea = TeamFactory(name="EMEA", region="EMEA", timezone="Europe/Berlin")
    TeamFactory(name="NA", region="NA", timezone="America/New_York")
    fintech = SkillFactory(name="fintech", description="Banks")
    SkillFactory(name="public_sector")
    calendar = HolidayCalendarFactory(name="Germany")
    HolidayFactory(calendar=calendar, date=date(2030, 12, 25), name="Christmas")
    anna = RepFactory(
        user__username="anna",
        team=emea,
        timezone="Europe/Berlin",
        languages=["en", "de"],
        tier=2,
        weight=3,
        ramp_until=date(2030, 1, 1),
        max_open=20,
        holiday_calendar=calendar,
    )
    anna.skills.add(fintech)
    WorkingHoursFactory(rep=anna, weekday=0, start=time(9), end=time(17))
    TimeOffFactory(rep=anna, start=datetime(2030, 8, 1, tzinfo=UTC), reason="Summer")
    TimeOffFactory(rep=anna, start=datetime(2020, 8, 1, tzinfo=UTC), reason="Long gone")
    ben = RepFactory(user__username="ben", team=emea, role=Rep.Role.MANAGER)
    pool = PoolFactory(
        name="EMEA RR", team=emea, settings={"check_hours": False, "catch_up_limit": 2}
    )
    PoolMemberFactory(pool=pool, rep=ben, position=0)
    PoolMemberFactory(pool=pool, rep=anna, position=1, weight=2)
    europe = TerritoryFactory(name="Europe", countries=["DE", "FR"], pool=pool)
    TerritoryFactory(
        name="Berlin", parent=europe, postal_prefixes=["10"], postal_ranges=[["12000", "12999"]]
    )
    draft = ruleset_draft()
    Rule.objects.create(
        ruleset=draft,
        position=0,
        name="Germany",
        condition={"all": [{"field": "country", "op": "in", "value": "DE,AT"}]},
        action="pool",
        action_pool=pool,
        fallback="manager",
    )
    Rule.objects.create(ruleset=draft, position=1, name="Ben's", action="rep", action_rep=ben)
    ruleset_publish(note="v1")
    ScoringRuleFactory(name="Big", position=0)
    pipeline = PipelineSettings.load()
    pipeline.sales_ready_score = 70
    pipeline.save()


def wipe() -> None:
    """Empty the routing set-up, as a fresh database would be."""
    Publication.objects.all().delete()
    RuleSet.objects.all().delete()
    Territory.objects.filter(parent__isnull=False).delete()
    Territory.objects.all().delete()
    Pool.objects.all().delete()
    Rep.objects.all().delete()
    get_user_model().objects.all().delete()
    Team.objects.all().delete()
    ScoringRule.objects.all().delete()
    PipelineSettings.objects.all().delete()
    from reps.models import HolidayCalendar, Skill

    HolidayCalendar.objects.all().delete()
    Skill.objects.all().delete()


def test_export_names_everything_by_natural_keys_and_leaves_out_runtime_state(setup):
    data = playbook_export()
    anna = next(r for r in data["reps"] if r["username"] == "anna")
    assert anna["team"] == "EMEA" and anna["holiday_calendar"] == "Germany"
    assert "presence" not in anna and "id" not in anna
    assert [t["reason"] for t in anna["time_off"]] == ["Summer"]
    assert data["pools"][0]["members"] == [
        {"rep": "ben", "weight": None},
        {"rep": "anna", "weight": 2},
    ]
    assert data["territories"][0] == {
        "name": "Berlin",
        "parent": "Europe",
        "pool": None,
        "active": True,
        "countries": [],
        "states": [],
        "postal_prefixes": ["10"],
        "postal_ranges": [["12000", "12999"]],
    }
    assert [(r["name"], r["pool"], r["rep"]) for r in data["rules"]] == [
        ("Germany", "EMEA RR", None),
        ("Ben's", None, "ben"),
    ]


def test_export_import_into_an_empty_database_export_gives_the_same_bytes(setup):
    first = playbook_dump(playbook_export())
    wipe()
    report = playbook_import(playbook_load(first))
    assert report.ok, report.errors
    assert playbook_dump(playbook_export()) == first
    user = get_user_model().objects.get(username="anna")
    assert not user.has_usable_password()


def test_import_publishes_the_rules_as_a_new_version(setup):
    data = playbook_export()
    data["rules"][0]["name"] = "Germany and Austria"
    report = playbook_import(data)
    assert report.ok and report.version == 2
    publication = Publication.objects.first()
    assert (publication.ruleset.version, publication.note) == (2, "playbook import")
    assert list(publication.ruleset.rules.values_list("name", flat=True)) == [
        "Germany and Austria",
        "Ben's",
    ]


def test_a_dry_run_writes_nothing(setup):
    data = playbook_export()
    data["teams"].append({"name": "APAC", "region": "APAC", "timezone": "Asia/Tokyo"})
    data["rules"].pop()
    report = playbook_import(data, dry_run=True)
    assert report.ok and report.dry_run
    assert not Team.objects.filter(name="APAC").exists()
    assert RuleSet.objects.filter(is_draft=False).count() == 1
    assert RuleSet.objects.get(is_draft=True).rules.count() == 2


def test_errors_name_the_entry_and_field_and_nothing_is_written(setup):
    data = playbook_export()
    data["teams"].append({"name": "APAC", "timezone": "Mars/Olympus"})
    data["pools"][0]["members"].append({"rep": "jdoe"})
    data["pools"][0]["settings"]["colour"] = "red"
    data["rules"][1]["condition"] = {"any": [{"field": "country", "op": "like", "value": "D"}]}
    data["reps"][0]["skills"] = ["knitting"]
    data["territories"][0]["parent"] = "Atlantis"
    report = playbook_import(data)
    assert not report.ok
    assert "pools[0] 'EMEA RR'.members[2]: unknown rep 'jdoe'." in report.errors
    assert "rules[1].condition.any[0]: Unknown operator 'like'." in report.errors
    assert "pools[0] 'EMEA RR'.settings: Unknown pool settings: colour." in report.errors
    assert "reps[0] 'anna'.skills[0]: unknown skill 'knitting'." in report.errors
    assert "territories[0] 'Berlin'.parent: unknown territory 'Atlantis'." in report.errors
    assert any(e.startswith("teams[2] 'APAC'.timezone:") for e in report.errors)
    assert not Team.objects.filter(name="APAC").exists()
    assert RuleSet.objects.filter(is_draft=False).count() == 1


def test_overlapping_time_off_is_refused_before_anything_is_written(setup):
    data = playbook_export()
    anna = data["reps"][0]
    anna["time_off"].append(dict(anna["time_off"][0], reason="Twice"))
    data["teams"].append({"name": "APAC"})
    report = playbook_import(data)
    assert any(e.startswith("reps[0] 'anna'.time_off:") for e in report.errors)
    assert not Team.objects.filter(name="APAC").exists()
    assert TimeOff.objects.filter(rep__user__username="anna").count() == 2


def test_the_command_exports_to_a_file_and_imports_it(setup, tmp_path, capsys):
    path = tmp_path / "playbook.yaml"
    call_command("playbook", "export", "--output", str(path))
    assert yaml.safe_load(path.read_text())["pools"][0]["name"] == "EMEA RR"
    call_command("playbook", "import", str(path), "--dry-run")
    assert "nothing was written" in capsys.readouterr().out
    assert RuleSet.objects.filter(is_draft=False).count() == 1
    call_command("playbook", "import", str(path))
    assert "published as version 2" in capsys.readouterr().out


def test_the_command_fails_with_the_errors_on_a_bad_file(setup, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("pools:\n- name: X\n  members:\n  - rep: jdoe\n")
    with pytest.raises(CommandError, match=r"pools\[0\] 'X'.members\[0\]: unknown rep 'jdoe'"):
        call_command("playbook", "import", str(path))
    path.write_text("pools: [unclosed\n")
    with pytest.raises(CommandError, match="Not valid YAML"):
        call_command("playbook", "import", str(path))


def test_the_command_exits_with_status_1_on_errors(setup, tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("rules:\n- name: R\n  action: nowhere\n")
    argv = ["manage.py", "playbook", "--skip-checks", "import", str(path)]
    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(argv)
    assert exit_.value.code == 1
    assert "rules[0] 'R'.action" in capsys.readouterr().err


def test_the_example_in_the_docs_imports():
    from pathlib import Path

    text = Path(__file__).resolve().parents[2].joinpath("docs", "playbook.md").read_text()
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    report = playbook_import(playbook_load(example))
    assert report.ok, report.errors
    assert Rule.objects.get(ruleset__version=report.version).action_pool.name == "EMEA RR"


def test_every_error_of_a_file_is_reported_in_one_run(setup):
    """An entry with a field missing or unknown is still checked field by field, and a
    rule's condition, action and fallback are checked apart: fixing the errors reported
    never brings up new ones."""
    data = playbook_export()
    data["teams"].append({"region": "APAC", "timezone": "Mars/Olympus"})
    data["pools"].append({"name": "X", "colour": "red", "team": "Nope", "members": [{"rep": 1}]})
    data["reps"].append({"username": "zoe", "skills": ["knitting"], "tier": "gold"})
    data["reps"][0]["working_hours"] = [
        {"weekday": 0, "start": "18:00", "end": "09:00"},
        {"weekday": 1, "start": "12:00", "end": "10:00"},
    ]
    data["rules"].append(
        {"name": "R", "action": "pool", "condition": {"x": 1}, "fallback": "pool", "y": 2}
    )

    report = playbook_import(data)

    assert report.errors == [
        "teams[2].name: is required.",
        "teams[2].timezone: 'Mars/Olympus' is not an IANA time zone (e.g. Europe/Paris).",
        "reps[0] 'anna'.working_hours: Monday 18:00-09:00: the end must be after the start.",
        "reps[0] 'anna'.working_hours: Tuesday 12:00-10:00: the end must be after the start.",
        "reps[2] 'zoe'.team: is required.",
        "reps[2] 'zoe'.skills[0]: unknown skill 'knitting'.",
        "reps[2] 'zoe'.tier: “gold” value must be an integer.",
        "pools[1] 'X'.colour: unknown field.",
        "pools[1] 'X'.members[0]: unknown rep 1.",
        "pools[1] 'X'.team: unknown team 'Nope'.",
        "rules[2] 'R'.y: unknown field.",
        "rules[2].condition: Expected all, any, not, or a comparison with field, op and value.",
        "rules[2].action: Action 'pool' needs a target.",
        "rules[2].fallback: Fallback 'pool' needs a pool.",
    ]
    assert not Team.objects.filter(region="APAC").exists()


def test_a_score_written_as_text_is_an_error_not_a_crash(setup):
    data = playbook_export()
    data["pipeline"]["sales_ready_score"] = "high"

    report = playbook_import(data)

    assert report.errors == ["pipeline.sales_ready_score: “high” value must be an integer."]


def test_routings_own_sections_are_registered_first_and_cannot_be_replaced():
    from routing.playbook import Section, register_section
    from routing.playbook.base import SECTIONS, sections

    names = [s.name for s in sections()]
    assert tuple(names[: len(SECTIONS)]) == SECTIONS
    assert names[len(SECTIONS) :] == [
        "business_calendars",
        "sla_policies",
        "webhooks",
        "slack_webhooks",
    ]
    impostor = Section(name="teams", export=list, check=lambda *a: [], write=lambda *a: None)
    with pytest.raises(ValueError, match="one of routing's own"):
        register_section(impostor)
    assert sections()[0].check is not impostor.check
