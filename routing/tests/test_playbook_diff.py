"""The playbook's diff (routing/playbook/diff.py): the pure comparison, ``playbook diff FILE``,
the diff an import prints, and the admin's draft diff and Compare page."""

from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command, execute_from_command_line
from django.urls import reverse

from reps.models import Team
from routing.models import Publication, Rule, RuleSet
from routing.playbook import playbook_dump, playbook_export, playbook_import
from routing.playbook.diff import (
    ADDED,
    CHANGED,
    MOVED,
    REMOVED,
    diff_entries,
    diff_playbooks,
    playbook_diff,
)
from routing.services import ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory
from routing.tests.test_playbook import setup  # noqa: F401  (the fixture)

POLICY = {
    "name": "Demo requests",
    "active": True,
    "priority": 10,
    "condition": {},
    "calendar": None,
    "accept_minutes": 5,
    "touch_minutes": 15,
    "pause_statuses": [],
    "steps": [{"action": "remind", "minutes": 2, "times": 1}],
}


def rules(*names: str, **changed: dict) -> list[dict]:
    return [{"name": n, "action": "triage", "enabled": True, **changed.get(n, {})} for n in names]


def kinds(entries) -> list[tuple[str, str]]:
    return [(e.name, e.change) for e in entries]


# --- The comparison, without a database --------------------------------------------------


def test_each_kind_of_change_is_found_and_worded():
    old = rules("A", "B", "C", "D")
    new = rules("Z", "B", "C", "A", B={"enabled": False}, C={"enabled": False})

    entries = diff_entries(old, new)

    assert kinds(entries) == [
        ("Z", ADDED),
        ("B", CHANGED),
        ("C", CHANGED),
        ("D", REMOVED),
        ("A", MOVED),
    ]
    assert [e.sentence() for e in entries] == [
        "added 'Z' at #1",
        "changed 'B'",
        "changed 'C'",
        "removed 'D' (was #4)",
        "moved 'A' from #1 to #4, now after 'C'",
    ]
    changed = entries[1].fields[0]
    assert (changed.field, changed.old_text, changed.new_text) == ("enabled", "true", "false")
    assert [(f.field, f.new_text) for f in entries[0].fields] == [
        ("action", '"triage"'),
        ("enabled", "true"),
    ]


def test_a_rule_inserted_at_the_top_moves_none_below_it_and_a_swap_moves_one():
    assert kinds(diff_entries(rules("A", "B", "C"), rules("N", "A", "B", "C"))) == [("N", ADDED)]
    swapped = diff_entries(rules("A", "B", "C"), rules("B", "A", "C"))
    assert [e.sentence() for e in swapped] == ["moved 'B' from #2 to #1, now first"]


def test_a_rule_that_moved_among_the_others_but_kept_its_number_says_after_which():
    old = rules("A", "B", "C", "D")
    new = rules("N", "A", "C", "B")  # N inserted, D removed: only B and C changed order

    entries = diff_entries(old, new)

    assert [e.sentence() for e in entries] == [
        "added 'N' at #1",
        "moved 'C' (still #3), now after 'A'",
        "removed 'D' (was #4)",
    ]


def test_a_rule_changed_and_moved_says_both():
    old = rules("A", "B", "C")
    new = rules("B", "C", "A", A={"action": "nurture"})

    (entry,) = diff_entries(old, new)

    assert entry.sentence() == "changed 'A', moved from #1 to #3, now after 'C'"
    assert [(f.field, f.old_text, f.new_text) for f in entry.fields] == [
        ("action", '"triage"', '"nurture"')
    ]


def test_mappings_are_compared_field_by_field_and_lists_whole():
    old = [{"name": "P", "settings": {"a": 1, "b": 2}, "members": [{"rep": "x"}]}]
    new = [{"name": "P", "settings": {"a": 1, "b": 3, "c": 4}, "members": [{"rep": "y"}]}]

    (entry,) = diff_entries(old, new)

    assert [(f.field, f.old_text, f.new_text) for f in entry.fields] == [
        ("settings.b", "2", "3"),
        ("settings.c", "(absent)", "4"),
        ("members", '[{"rep": "x"}]', '[{"rep": "y"}]'),
    ]


def test_a_section_registered_by_another_app_is_diffed_by_its_key_like_routings_own():
    old = {"teams": [{"name": "EMEA"}], "sla_policies": [POLICY], "pipeline": {"score": 50}}
    new = {
        "teams": [{"name": "EMEA"}],
        "sla_policies": [dict(POLICY, accept_minutes=10)],
        "pipeline": {"score": 60},
    }
    keys = {"teams": "name", "sla_policies": "name", "pipeline": "name"}

    changes = diff_playbooks(old, new, keys)

    assert changes.lines() == [
        "sla_policies:",
        "  changed 'Demo requests'",
        "      accept_minutes: 5 -> 10",
        "pipeline:",
        "  changed 'pipeline'",
        "      score: 50 -> 60",
        "2 section(s) would change: 2 changed.",
    ]
    assert diff_playbooks(old, old, keys).lines() == ["No changes."]


def test_entries_without_their_key_are_known_by_their_first_text_and_repeats_apart():
    old = [{"name": "", "url": "https://a"}, {"name": "X", "n": 1}, {"name": "X", "n": 2}]
    new = [{"name": "", "url": "https://b"}, {"name": "X", "n": 1}, {"name": "X", "n": 3}]

    assert kinds(diff_entries(old, new)) == [
        ("https://a", REMOVED),
        ("https://b", ADDED),
        ("X (2)", CHANGED),
    ]


# --- playbook diff FILE ------------------------------------------------------------------


def write(tmp_path, data) -> str:
    path = tmp_path / "playbook.yaml"
    path.write_text(data if isinstance(data, str) else playbook_dump(data), encoding="utf-8")
    return str(path)


def run(*args: str) -> tuple[int, str, str]:
    """``manage.py playbook ARGS`` as from a shell: exit status, stdout, stderr."""
    out, err = StringIO(), StringIO()
    try:
        call_command("playbook", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return exc.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.mark.django_db
@pytest.mark.usefixtures("setup")
def test_the_set_up_as_exported_has_no_changes_and_exits_0(tmp_path):
    assert run("diff", write(tmp_path, playbook_export())) == (0, "No changes.\n", "")


@pytest.mark.django_db
@pytest.mark.usefixtures("setup")
def test_planted_changes_are_each_found_and_worded_and_the_exit_is_1(tmp_path):
    assert playbook_import(dict(playbook_export(), sla_policies=[POLICY])).ok
    versions = RuleSet.objects.filter(is_draft=False).count()
    data = playbook_export()
    data["teams"].append({"name": "APAC", "region": "APAC", "timezone": "Asia/Tokyo"})
    data["rules"].reverse()  # Ben's first
    data["rules"][1]["fallback"] = "triage"  # Germany
    data["rules"].append({"name": "Catch-all", "action": "triage"})
    data["scoring_rules"] = []
    data["pools"][0]["settings"]["catch_up_limit"] = 3
    data["sla_policies"][0]["accept_minutes"] = 10
    data["pipeline"]["sales_ready_score"] = 80

    status, out, err = run("diff", write(tmp_path, data))

    assert (status, err) == (1, "")
    assert out.splitlines() == [
        "teams:",
        "  added 'APAC' at #1",
        '      region: "APAC"',
        '      timezone: "Asia/Tokyo"',
        "pools:",
        "  changed 'EMEA RR'",
        "      settings.catch_up_limit: 2 -> 3",
        "rules:",
        """  moved "Ben's" from #2 to #1, now first""",
        "  changed 'Germany'",
        '      fallback: "manager" -> "triage"',
        "  added 'Catch-all' at #3",
        "      enabled: true",
        '      action: "triage"',
        '      fallback: "triage"',
        "scoring_rules:",
        "  removed 'Big' (was #1)",
        "pipeline:",
        "  changed 'pipeline'",
        "      sales_ready_score: 70 -> 80",
        "sla_policies:",
        "  changed 'Demo requests'",
        "      accept_minutes: 5 -> 10",
        "6 section(s) would change: 2 added, 1 removed, 4 changed, 1 moved.",
    ]
    # Nothing was written.
    assert not Team.objects.filter(name="APAC").exists()
    assert RuleSet.objects.filter(is_draft=False).count() == versions
    assert Publication.objects.first().ruleset.rules.get(name="Germany").fallback == "manager"


@pytest.mark.django_db
@pytest.mark.usefixtures("setup")
def test_a_rule_that_only_changed_place_says_so(tmp_path):
    data = playbook_export()
    data["rules"].reverse()

    status, out, _err = run("diff", write(tmp_path, data))

    assert status == 1
    assert out.splitlines() == [
        "rules:",
        """  moved "Ben's" from #2 to #1, now first""",
        "1 section(s) would change: 1 moved.",
    ]


@pytest.mark.django_db
@pytest.mark.usefixtures("setup")
def test_entries_a_file_leaves_out_that_an_import_keeps_are_not_reported(tmp_path):
    data = playbook_export()
    del data["teams"][1]  # NA: an import adds and updates teams, never deletes one
    data["reps"] = [r for r in data["reps"] if r["username"] != "ben"]

    assert playbook_diff(data).lines() == ["No changes."]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pools: [unclosed\n", "Not valid YAML"),
        ("rules:\n- name: R\n  action: nowhere\n", r"rules\[0\] 'R'.action"),
        ("- a list\n", "must be a mapping of sections"),
        ("teams:\n- name: A\0B\n", "Not valid YAML"),
        ('teams:\n- name: "A\\0B"\n', r"teams\[0\].name: contains a NUL character"),
        ('pools:\n- name: P\n  settings: {"\\0": 1}\n', r"pools\[0\].settings.'\\x00'"),
        ("reps:\n- username: x\n  team: EMEA\n  tier: 99999999999999999999999\n", "tier"),
    ],
)
@pytest.mark.usefixtures("setup")
def test_a_bad_file_is_an_error_naming_the_problem(tmp_path, text, message):
    with pytest.raises(CommandError, match=message):
        call_command("playbook", "diff", write(tmp_path, text))


@pytest.mark.django_db
@pytest.mark.usefixtures("setup")
def test_a_bad_file_exits_with_status_1_and_the_errors_on_stderr(tmp_path, capsys):
    path = write(tmp_path, "rules:\n- name: R\n  action: nowhere\n")
    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(["manage.py", "playbook", "--skip-checks", "diff", path])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "rules[0] 'R'.action" in err and "2 error(s): the file does not import." in err
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("playbook", "diff", str(tmp_path / "missing.yaml"))


@pytest.mark.django_db
@pytest.mark.usefixtures("setup")
def test_import_prints_the_diff_then_applies_it(tmp_path):
    data = playbook_export()
    data["teams"].append({"name": "APAC", "region": "APAC", "timezone": "Asia/Tokyo"})
    path = write(tmp_path, data)

    status, out, _err = run("import", path, "--dry-run")

    assert status == 0
    assert out.splitlines()[:2] == ["teams:", "  added 'APAC' at #1"]
    assert out.splitlines()[-1] == "Dry run: everything checks out; nothing was written."
    assert not Team.objects.filter(name="APAC").exists()

    status, out, _err = run("import", path)

    assert out.splitlines()[:2] == ["teams:", "  added 'APAC' at #1"]
    assert out.splitlines()[-1] == "Imported and published as version 2."
    assert Team.objects.filter(name="APAC").exists()
    assert run("diff", path) == (0, "No changes.\n", "")


# --- The admin: the draft's diff and the Compare page ------------------------------------


@pytest.fixture
def versions(db):
    """Version 1 (A, B, C), version 2 in force (B, A, D), and the draft: A sent to a pool."""
    pool = PoolFactory(name="EMEA RR")
    draft = ruleset_draft()
    for i, name in enumerate(["A", "B", "C"]):
        Rule.objects.create(ruleset=draft, position=i, name=name, action="triage")
    ruleset_publish(note="v1")
    draft.rules.all().delete()
    for i, name in enumerate(["B", "A", "D"]):
        Rule.objects.create(ruleset=draft, position=i, name=name, action="triage")
    ruleset_publish(note="v2")
    draft.rules.filter(name="A").update(action="pool", action_pool=pool)
    return draft


def test_the_drafts_page_shows_its_diff_against_the_version_in_force(admin_client, versions):
    Rule.objects.create(ruleset=versions, position=9, name="Catch-all", action="triage")

    response = admin_client.get(reverse("admin:routing_ruleset_change", args=[versions.pk]))

    assert response.status_code == 200
    assert [(e.name, e.what) for e in response.context["draft_diff"]] == [
        ("A", "changed"),
        ("Catch-all", "added at #4"),
    ]
    html = response.content.decode()
    assert "What publishing the draft changes, against Version 2 (in force)" in html
    assert "<td>action_pool</td>" not in html and "<td>pool</td>" in html
    assert "<code>&quot;EMEA RR&quot;</code>" in html


def test_compare_shows_two_versions_rule_by_rule(admin_client, versions):
    url = reverse("admin:routing_ruleset_compare")

    response = admin_client.get(url, {"a": "1", "b": "2"})

    assert response.status_code == 200
    assert [(e.name, e.what) for e in response.context["entries"]] == [
        ("B", "moved from #2 to #1, now first"),
        ("C", "removed (was #3)"),
        ("D", "added at #3"),
    ]
    assert "Version 2 (in force) against Version 1" in response.content.decode()

    response = admin_client.get(url, {"b": "draft"})  # the other side: the version in force
    assert [(e.name, e.what) for e in response.context["entries"]] == [("A", "changed")]

    response = admin_client.get(url, {"a": "2", "b": "2"})
    assert response.context["entries"] == ()
    assert "No differences" in response.content.decode()


def test_compare_opens_on_the_version_in_force_against_the_draft(admin_client, versions):
    response = admin_client.get(reverse("admin:routing_ruleset_compare"))

    assert response.status_code == 200
    assert response.context["form"].initial == {"a": "2", "b": "draft"}
    assert "entries" not in response.context
    assert 'value="draft"' in response.content.decode()


@pytest.mark.parametrize("bad", ["99", "0", "-1", "x", "9" * 40, "1\x00", "", "1.5"])
def test_compare_with_a_version_that_is_not_there_is_a_form_error(admin_client, versions, bad):
    response = admin_client.get(reverse("admin:routing_ruleset_compare"), {"a": bad, "b": "1"})

    assert response.status_code == 200
    assert "a" in response.context["form"].errors
    assert "entries" not in response.context


def test_the_rule_set_pages_link_to_compare(admin_client, versions):
    version_2 = RuleSet.objects.get(version=2)
    page = admin_client.get(reverse("admin:routing_ruleset_change", args=[version_2.pk]))
    assert f"{reverse('admin:routing_ruleset_compare')}?a=1&amp;b=2" in page.content.decode()
    assert "draft_diff" not in page.context
    listing = admin_client.get(reverse("admin:routing_ruleset_changelist"))
    assert "Compare versions" in listing.content.decode()


def test_compare_needs_the_right_to_view_rule_sets(client, django_user_model, versions):
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(user)

    assert client.get(reverse("admin:routing_ruleset_compare")).status_code == 403


@pytest.mark.django_db
@pytest.mark.usefixtures("setup")
def test_a_file_written_in_other_terms_than_the_export_shows_no_change(tmp_path):
    """The diff compares export with export: a file written by hand in other terms (a time
    without seconds, a field left to its default) shows no change."""
    data = yaml.safe_load(playbook_dump(playbook_export()))
    anna = data["reps"][0]
    anna["working_hours"][0]["start"] = "09:00"
    del data["rules"][1]["enabled"]

    assert playbook_diff(data).lines() == ["No changes."]
