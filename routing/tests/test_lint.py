"""Rule lint over the database (routing.lint): each planted defect is found, in words, by
the command, the API and the admin's publish confirmation."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
import yaml
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from leadhub.leads.tests.factories import LeadFactory
from reps.models import Rep
from reps.tests.factories import (
    RepFactory,
    SkillFactory,
    TeamFactory,
    UserFactory,
    WorkingHoursFactory,
)
from routing.lint import database_lint, ruleset_lint, ruleset_lint_errors
from routing.models import Decision, Pool, Publication, Rule, RuleSet
from routing.playbook import playbook_dump, playbook_export
from routing.selectors import ruleset_in_force
from routing.services import ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory, TerritoryFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 25, 12, tzinfo=UTC)  # a Wednesday


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def setup():
    """A clean set-up: lint finds nothing wrong with it."""
    team = TeamFactory(name="EMEA", timezone="Europe/Berlin")
    ada = RepFactory(team=team, user__username="ada", timezone="Europe/Berlin", languages=["de"])
    bea = RepFactory(team=team, user__username="bea", timezone="Europe/Berlin", tier=2)
    RepFactory(team=team, user__username="max", role=Rep.Role.MANAGER)
    pool = PoolFactory(name="EMEA RR", team=team, settings={"check_hours": False})
    PoolMemberFactory(pool=pool, rep=ada, position=0)
    PoolMemberFactory(pool=pool, rep=bea, position=1)
    TerritoryFactory(name="EMEA", countries=["DE", "FR"], pool=pool)
    draft = ruleset_draft()
    rule(draft, 0, "Germany", {"field": "country", "op": "eq", "value": "DE"}, pool=pool)
    rule(draft, 1, "Everyone else", {}, action="territory_pool")
    ruleset_publish(note="v1")
    return {"team": team, "ada": ada, "bea": bea, "pool": pool}


def rule(ruleset, position, name, condition, *, action="pool", pool=None, **fields) -> Rule:
    return Rule.objects.create(
        ruleset=ruleset,
        position=position,
        name=name,
        condition=condition,
        action=action,
        action_pool=pool,
        **fields,
    )


def codes(findings) -> list[tuple[str, str]]:
    return [(f.code, f.subject) for f in findings]


def draft_report(**kwargs):
    return ruleset_lint(ruleset_draft(), **kwargs)


def test_a_clean_set_up_has_no_finding(setup):
    LeadFactory(country="DE", captured_at=NOW - timedelta(days=1))
    report = ruleset_lint(ruleset_in_force())
    assert report.findings == []
    assert (report.sample_size, report.sample_triage) == (1, 0)


def test_a_catch_all_rule_placed_first_shadows_every_other_rule(setup):
    draft = ruleset_draft()
    rule(draft, 0, "Catch-all", {}, pool=setup["pool"])
    Rule.objects.filter(ruleset=draft, name="Germany").update(position=1)
    Rule.objects.filter(ruleset=draft, name="Everyone else").update(position=2)
    errors = ruleset_lint_errors(draft)
    assert codes(errors) == [
        ("rule_unreachable", "rule 'Germany' (#1)"),
        ("rule_unreachable", "rule 'Everyone else' (#2)"),
    ]
    assert errors[0].message == (
        "Rule 'Catch-all' (#0) comes first and matches every lead this one matches "
        "(every lead): no lead reaches this rule."
    )


def test_a_narrower_rule_after_a_wider_one_and_an_impossible_rule_are_unreachable(setup):
    draft = ruleset_draft()
    wide = {"field": "country", "op": "in", "value": ["DE", "AT", "CH"]}
    Rule.objects.filter(ruleset=draft, name="Germany").update(condition=wide, name="DACH")
    narrow = {
        "all": [
            {"field": "country", "op": "eq", "value": "AT"},
            {"field": "score", "op": "gte", "value": 50},
        ]
    }
    rule(draft, 0, "Austria, hot", narrow, pool=setup["pool"], enabled=False)
    rule(draft, 1, "Austria, warm", narrow, pool=setup["pool"])
    never = {
        "all": [
            {"field": "score", "op": "gt", "value": 80},
            {"field": "score", "op": "lt", "value": 20},
        ]
    }
    rule(draft, 1, "Never", never, pool=setup["pool"])
    Rule.objects.filter(ruleset=draft, name="Everyone else").update(position=5)
    found = {f.subject: f.message for f in ruleset_lint_errors(draft)}
    assert found == {
        "rule 'Austria, warm' (#1)": "Rule 'DACH' (#0) comes first and matches every lead this "
        "one matches (country in DE, AT, CH): no lead reaches this rule.",
        "rule 'Never' (#1)": "No lead can match its condition (score > 80 and score < 20): it "
        "never routes a lead.",
    }


def test_rules_naming_a_switched_off_rep_or_pool_are_errors(setup):
    draft = ruleset_draft()
    setup["bea"].active = False
    setup["bea"].save()
    rule(
        draft,
        2,
        "Bea's",
        {"field": "industry", "op": "eq", "value": "x"},
        action="rep",
        action_rep=setup["bea"],
    )
    off = PoolFactory(name="Old pool", active=False)
    PoolMemberFactory(pool=off, rep=setup["ada"])
    rule(draft, 3, "Old", {"field": "industry", "op": "eq", "value": "y"}, pool=off)
    rule(
        draft,
        4,
        "With an old fallback",
        {"field": "industry", "op": "eq", "value": "z"},
        pool=setup["pool"],
        fallback="pool",
        fallback_pool=off,
    )
    Rule.objects.filter(ruleset=draft, name="Everyone else").update(position=9)
    found = {(f.code, f.subject): f.message for f in ruleset_lint_errors(draft)}
    name = setup["bea"].display_name
    assert found == {
        ("rep_inactive", "rule 'Bea's' (#2)"): f"It sends leads to {name}, who is switched "
        "off: every lead it matches goes to its fallback (triage).",
        ("pool_unusable", "rule 'Old' (#3)"): "It sends leads to a pool where pool 'Old pool' "
        "is switched off, so every lead falls through.",
        ("fallback_unusable", "rule 'With an old fallback' (#4)"): "Its fallback is a pool "
        "where pool 'Old pool' is switched off, so every lead falls through.",
    }


def test_pools_with_no_members_or_no_active_member(setup):
    draft = ruleset_draft()
    empty = PoolFactory(name="Empty")
    asleep = PoolFactory(name="Asleep")
    PoolMemberFactory(pool=asleep, rep=RepFactory(active=False))
    rule(draft, 2, "To empty", {"field": "industry", "op": "eq", "value": "a"}, pool=empty)
    rule(draft, 3, "To asleep", {"field": "industry", "op": "eq", "value": "b"}, pool=asleep)
    Rule.objects.filter(ruleset=draft, name="Everyone else").update(position=9)
    report = draft_report(sample=0)
    assert {(f.severity, f.code, f.subject) for f in report.findings} == {
        ("error", "pool_unusable", "rule 'To empty' (#2)"),
        ("error", "pool_unusable", "rule 'To asleep' (#3)"),
        ("warning", "pool_empty", "pool 'Empty'"),
        ("warning", "pool_no_active_member", "pool 'Asleep'"),
    }
    assert "pool 'Empty' has no members" in report.errors[0].message
    assert "pool 'Asleep' has no active member" in report.errors[1].message


def test_skills_a_language_and_a_tier_no_member_has(setup):
    draft = ruleset_draft()
    SkillFactory(name="fintech")
    pool = setup["pool"]
    pool.method = Pool.Method.SCORE_TIERS
    pool.settings = {
        "check_hours": False,
        "required_skills": ["fintech"],
        "language_required": True,
        "tiers": [[0, 1], [80, 3]],
    }
    pool.save()
    german_or_french = {"field": "language", "op": "in", "value": ["de", "fr"]}
    Rule.objects.filter(ruleset=draft, name="Germany").update(condition=german_or_french)
    messages = [f.message for f in ruleset_lint_errors(draft) if f.subject == "rule 'Germany' (#0)"]
    assert messages == [
        "It sends leads to a pool where pool 'EMEA RR' needs the skills fintech, and no active "
        "member has them all, so every lead falls through.",
        "It sends leads to a pool where its leads speak fr, which no active member of pool "
        "'EMEA RR' speaks (the pool requires the lead's language).",
        "It sends leads to a pool where pool 'EMEA RR' gives leads scoring 80 or more to tier 3 "
        "and up, above every active member (highest tier 2).",
    ]


def test_hours_no_member_works_are_listed_in_utc_and_the_members_zones(setup):
    pool = setup["pool"]
    pool.settings = {}
    pool.save()
    for rep in (setup["ada"], setup["bea"]):
        for day in range(5):
            WorkingHoursFactory(rep=rep, weekday=day, start=time(9), end=time(17))
    (finding,) = [f for f in draft_report(sample=0).findings if f.code == "pool_hours_uncovered"]
    assert (finding.severity, finding.subject) == ("warning", "pool 'EMEA RR'")
    assert finding.message.startswith(
        "No member works these hours this week, so its leads then fall through: "
        "Mon 16:00 to Tue 08:00 UTC (Mon 17:00 to Tue 09:00 Europe/Berlin), "
    )
    # The weekend ends on Monday 30 March, on summer time.
    assert finding.message.endswith(
        "Fri 16:00 to Mon 07:00 UTC (Fri 17:00 to Mon 09:00 Europe/Berlin)."
    )


def test_overlapping_territories_and_countries_no_territory_covers(setup):
    TerritoryFactory(name="DACH", countries=["DE", "AT", "CH"], pool=setup["pool"])
    for country in ("BR", "BR", "DE"):
        LeadFactory(country=country, captured_at=NOW - timedelta(days=10))
    LeadFactory(country="JP", captured_at=NOW - timedelta(days=100))
    findings = [f for f in draft_report(sample=0).findings if f.kind == "territory"]
    assert [(f.code, f.subject, f.message) for f in findings] == [
        (
            "territory_overlap",
            "territory 'DACH'",
            "It overlaps territory 'EMEA' at the same level (DE): a lead in both goes to "
            "'EMEA' only because it was created first.",
        ),
        (
            "country_uncovered",
            "country BR",
            "No territory covers it, and 2 leads of the last 90 days came from it: a territory "
            "rule finds no pool for them.",
        ),
    ]


def test_the_sample_shows_the_share_that_would_end_in_triage_by_reason(setup):
    draft = ruleset_draft()
    rule(
        draft,
        1,
        "Spam",
        {"field": "email_domain", "op": "eq", "value": "spam.example"},
        action="triage",
    )
    Rule.objects.filter(ruleset=draft, name="Everyone else").update(position=2)
    for i in range(6):
        LeadFactory(country="DE", captured_at=NOW - timedelta(days=1, minutes=i))
    LeadFactory(country="US", captured_at=NOW - timedelta(days=2))
    LeadFactory(country="US", email="x@spam.example", captured_at=NOW - timedelta(days=3))
    LeadFactory(country="US", captured_at=NOW - timedelta(days=40))  # outside the window
    decisions = Decision.objects.count()
    report = draft_report()
    assert (report.sample_size, report.sample_triage) == (8, 2)
    assert [f.message for f in report.findings if f.code == "sample_triage"] == [
        "1 (12.5%) would end in triage: rule 'Everyone else' finds nobody: no territory covers "
        "the lead.",
        "1 (12.5%) would end in triage: rule 'Spam' sends it to triage.",
    ]
    assert Decision.objects.count() == decisions  # nothing is written
    assert draft_report(sample=3).sample_size == 3  # the newest three


# --- The command ----------------------------------------------------------------------------


def test_the_command_lints_the_draft_and_the_version_in_force(setup, capsys):
    call_command("playbook", "lint")
    out = capsys.readouterr().out
    assert "The draft (based on version 1): 0 errors, 0 warnings." in out
    assert "Version 1 (in force): 0 errors, 0 warnings." in out


def test_the_command_exits_1_on_an_error_in_the_draft(setup, capsys):
    rule(ruleset_draft(), 0, "Catch-all", {}, pool=setup["pool"], enabled=True)
    Rule.objects.filter(name="Germany", ruleset__is_draft=True).update(position=1)
    Rule.objects.filter(name="Everyone else", ruleset__is_draft=True).update(position=2)
    with pytest.raises(SystemExit) as exit:
        call_command("playbook", "lint", "--sample", "0")
    assert exit.value.code == 1
    out = capsys.readouterr().out
    assert "The draft (based on version 1): 2 errors, 0 warnings." in out
    assert "ERROR   rule 'Germany' (#1): Rule 'Catch-all' (#0) comes first" in out
    assert "Version 1 (in force): 0 errors, 0 warnings." in out


def test_the_command_lints_a_playbook_file_with_a_planted_catch_all_and_writes_nothing(
    setup, tmp_path, capsys
):
    data = playbook_export()
    data["rules"].insert(
        0, {"name": "Catch-all", "condition": {}, "action": "pool", "pool": "EMEA RR"}
    )
    path = tmp_path / "playbook.yaml"
    path.write_text(playbook_dump(data), encoding="utf-8")
    rulesets, publications = RuleSet.objects.count(), Publication.objects.count()
    with pytest.raises(SystemExit) as exit:
        call_command("playbook", "lint", str(path))
    assert exit.value.code == 1
    out = capsys.readouterr().out
    assert "The file's rules: 2 errors" in out
    assert "ERROR   rule 'Germany' (#1): Rule 'Catch-all' (#0) comes first" in out
    assert "ERROR   rule 'Everyone else' (#2)" in out
    assert (RuleSet.objects.count(), Publication.objects.count()) == (rulesets, publications)
    assert ruleset_in_force().version == 1
    # The file as exported lints clean.
    path.write_text(playbook_dump(playbook_export()), encoding="utf-8")
    call_command("playbook", "lint", str(path))


def test_the_command_refuses_a_bad_file_or_sample(setup, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"pools": [{"name": "X", "method": "nope"}]}), encoding="utf-8")
    with pytest.raises(CommandError, match="the file does not import"):
        call_command("playbook", "lint", str(path))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("playbook", "lint", str(tmp_path / "missing.yaml"))
    with pytest.raises(CommandError, match="--sample must be between 0 and 100000"):
        call_command("playbook", "lint", "--sample", "-1")


def test_database_lint_without_rule_sets_lints_the_set_up_only():
    PoolFactory(name="Nobody")
    setup_findings, reports = database_lint()
    assert reports == []
    assert codes(setup_findings) == [("pool_empty", "pool 'Nobody'")]


# --- The API and the admin ------------------------------------------------------------------


@pytest.fixture
def revops():
    user = UserFactory(username="revops", is_staff=True, is_superuser=True)
    user.groups.add(Group.objects.get_or_create(name="RevOps")[0])
    return user


def plant_catch_all(setup) -> RuleSet:
    draft = ruleset_draft()
    rule(draft, 0, "Catch-all", {}, pool=setup["pool"])
    Rule.objects.filter(ruleset=draft, name="Germany").update(position=1)
    Rule.objects.filter(ruleset=draft, name="Everyone else").update(position=2)
    return draft


def test_the_api_lints_a_version_and_the_draft(setup, revops, api):
    api.force_authenticate(revops)
    plant_catch_all(setup)
    response = api.get("/api/rulesets/1/lint/")
    assert response.status_code == 200
    assert response.json() == {
        "ruleset": "Version 1",
        "errors": 0,
        "warnings": 0,
        "sample": {"leads": 0, "triage": 0},
        "findings": [],
    }
    body = api.get("/api/rulesets/draft/lint/?sample=0").json()
    assert (body["ruleset"], body["errors"]) == ("Draft", 2)
    assert body["findings"][0] == {
        "severity": "error",
        "code": "rule_unreachable",
        "kind": "rule",
        "object_id": Rule.objects.get(ruleset__is_draft=True, name="Germany").pk,
        "subject": "rule 'Germany' (#1)",
        "message": "Rule 'Catch-all' (#0) comes first and matches every lead this one matches "
        "(every lead): no lead reaches this rule.",
    }
    assert api.get("/api/rulesets/7/lint/").status_code == 404


@pytest.mark.parametrize("sample", ["-1", "many", "100001", "1" * 40, "1\x00"])
def test_a_bad_sample_is_a_400_naming_it(setup, revops, api, sample):
    api.force_authenticate(revops)
    response = api.get("/api/rulesets/1/lint/", {"sample": sample})
    assert response.status_code == 400
    assert "sample" in response.json()


def test_only_revops_and_managers_read_lint(setup, api):
    api.force_authenticate(setup["ada"].user)
    assert api.get("/api/rulesets/1/lint/").status_code == 403


def test_the_api_refuses_to_publish_a_draft_with_lint_errors_unless_forced(setup, revops, api):
    api.force_authenticate(revops)
    plant_catch_all(setup)
    response = api.post("/api/rulesets/publish/", {"note": "oops"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["force"] == [
        "Lint finds 2 error(s) in the draft; fix them, or send force: true to publish anyway."
    ]
    assert [f["subject"] for f in body["lint"]] == [
        "rule 'Germany' (#1)",
        "rule 'Everyone else' (#2)",
    ]
    assert ruleset_in_force().version == 1
    bad = api.post("/api/rulesets/publish/", {"force": "maybe"}, format="json")
    assert (bad.status_code, list(bad.json())) == (400, ["force"])
    response = api.post("/api/rulesets/publish/", {"note": "anyway", "force": True}, format="json")
    assert response.status_code == 201
    assert ruleset_in_force().version == 2


def test_the_admin_shows_the_errors_and_publishes_only_with_publish_anyway(setup, revops, client):
    client.force_login(revops)
    draft = plant_catch_all(setup)
    url = reverse("admin:routing_ruleset_publish", args=[draft.pk])
    page = client.get(url).content.decode()
    assert "Lint finds 2 errors in the draft:" in page
    assert "rule &#x27;Germany&#x27; (#1)" in page
    assert "Publish anyway" in page
    refused = client.post(url, {"note": "x"})
    assert refused.status_code == 200
    assert "tick this to publish anyway" in refused.content.decode()
    assert ruleset_in_force().version == 1
    assert client.post(url, {"note": "x", "publish_anyway": "on"}).status_code == 302
    assert ruleset_in_force().version == 2


def test_the_admin_publishes_a_clean_draft_without_the_tick(setup, revops, client):
    client.force_login(revops)
    draft = ruleset_draft()
    page = client.get(reverse("admin:routing_ruleset_publish", args=[draft.pk])).content.decode()
    assert "Publish anyway" not in page
    client.post(reverse("admin:routing_ruleset_publish", args=[draft.pk]), {"note": "ok"})
    assert ruleset_in_force().version == 2
