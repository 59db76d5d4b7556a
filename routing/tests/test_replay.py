"""Replay: the version in force, replayed over a history routed by the real services,
reproduces every stored decision or names why not; and a replay writes nothing."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from leadhub.leads.models import Lead
from leadhub.leads.services import lead_transition
from leadhub.leads.tests.factories import AccountFactory, LeadFactory
from reps.models import Rep
from reps.services import rep_set_presence, rep_update, working_hours_set
from reps.tests.factories import (
    HolidayCalendarFactory,
    HolidayFactory,
    RepFactory,
    TeamFactory,
    TimeOffFactory,
    WorkingHoursFactory,
)
from routing import world as routing_world_cache
from routing.models import Decision, Pool, PoolState, ReplayReport, Rule
from routing.replay import ReplayError, replay_ruleset, replay_run
from routing.replay.inputs import lead_rows
from routing.replay.report import fairness, gini
from routing.services import (
    decision_refund,
    lead_reassign,
    lead_route,
    ruleset_draft,
    ruleset_publish,
)
from routing.tests.factories import PoolFactory, PoolMemberFactory

pytestmark = pytest.mark.django_db

# The history: leads captured every 5 hours over 12 days, ending 3 days ago.
NOW = timezone.now().replace(microsecond=0)
FIRST = NOW - timedelta(days=15)
STEP = timedelta(hours=5)
COUNT = 58


def instants(count: int = COUNT) -> list[datetime]:
    return [FIRST + i * STEP for i in range(count)]


@pytest.fixture
def setup():
    """Two pools (round robin with hours, time off, a holiday and a daily cap; weighted),
    a team manager for fallbacks, an account owner, territories, and rules exercising each
    action: pool, territory's pool, account owner, nurture, and no rule for some leads."""
    team = TeamFactory(name="Sales")
    manager = RepFactory(team=team, role=Rep.Role.MANAGER, user__username="manager")
    calendar = HolidayCalendarFactory(name="US")
    reps = [
        RepFactory(
            team=team,
            user__username=f"rep{i}",
            max_per_day=1 if i == 2 else None,
            max_per_week=2 if i == 2 else None,
        )
        for i in range(5)
    ]
    for weekday in range(5):  # rep0 works Monday to Friday, 9 to 17 New York
        WorkingHoursFactory(rep=reps[0], weekday=weekday, start=time(9), end=time(17))
    TimeOffFactory(rep=reps[1], start=FIRST + timedelta(days=3), end=FIRST + timedelta(days=6))
    reps[3].holiday_calendar = calendar
    reps[3].save(update_fields=["holiday_calendar"])
    HolidayFactory(calendar=calendar, date=(FIRST + timedelta(days=8)).date())
    rr = PoolFactory(name="Round robin", team=team, settings={"catch_up_limit": 1})
    for position, rep in enumerate(reps[:4]):
        PoolMemberFactory(pool=rr, rep=rep, position=position)
    weighted = PoolFactory(
        name="Weighted",
        team=team,
        method=Pool.Method.WEIGHTED_ROUND_ROBIN,
        settings={"check_hours": False},
    )
    PoolMemberFactory(pool=weighted, rep=reps[3], position=0, weight=1)
    PoolMemberFactory(pool=weighted, rep=reps[4], position=1, weight=3)
    from routing.tests.factories import TerritoryFactory

    TerritoryFactory(name="Europe", countries=["DE", "FR"], pool=weighted)
    account = AccountFactory(owner=reps[4])
    draft = ruleset_draft()
    rules = [
        ("Account", {"field": "account_matched", "op": "eq", "value": True}, "account_owner",
         None, "manager"),
        ("Webinar", {"field": "source", "op": "eq", "value": "webinar"}, "nurture", None,
         "triage"),
        ("Big", {"field": "employees", "op": "gte", "value": 1000}, "pool", weighted, "manager"),
        ("America", {"field": "country", "op": "in", "value": ["US", "CA"]}, "pool", rr,
         "manager"),
        ("Europe", {"field": "country", "op": "in", "value": ["DE", "FR", "GB"]},
         "territory_pool", None, "triage"),
    ]  # fmt: skip
    for position, (name, condition, action, pool, fallback) in enumerate(rules):
        Rule.objects.create(
            ruleset=draft,
            position=position,
            name=name,
            condition=condition,
            action=action,
            action_pool=pool,
            fallback=fallback,
        )
    version = ruleset_publish(note="v1")
    return {"reps": reps, "manager": manager, "account": account, "version": version}


def lead_data(i: int, account) -> dict:
    country = ["US", "CA", "DE", "US", "GB", "JP", "US", "FR", "US"][i % 9]
    return {
        "country": country,
        "employees": 5000 if i % 5 == 0 else 50,
        "source": "webinar" if i % 11 == 0 else "website",
        "account": account if i % 13 == 0 else None,
    }


def route_history(setup, disturb=None) -> list[Lead]:
    """Capture and route a lead at each instant through the real services;
    ``disturb(i, lead)`` may act on the lead just routed, at the same instant."""
    leads = []
    for i, at in enumerate(instants()):
        with time_machine.travel(at, tick=False):
            lead = LeadFactory(**lead_data(i, setup["account"]))
            lead_route(lead_id=lead.pk)
            if i % 6 == 5:  # some leads close, which frees a rep's open count
                lead.refresh_from_db()
                if lead.status == "assigned":
                    lead_transition(lead_id=lead.pk, status="disqualified")
            if disturb is not None:
                disturb(i, lead)
        leads.append(lead)
    routing_world_cache.forget()
    return leads


def test_replaying_the_version_in_force_reproduces_every_stored_decision(setup):
    leads = route_history(setup)
    outcomes = set(Decision.objects.values_list("outcome", "method"))
    # The history exercises what the replay must simulate.
    assert {("assigned", "round_robin"), ("assigned", "weighted_round_robin")} <= outcomes
    assert {("nurture", "nurture"), ("assigned", "account_owner")} <= outcomes
    assert Decision.objects.filter(payload__explanation__icontains="outside working").exists()
    assert Decision.objects.filter(payload__explanation__icontains="time off").exists()
    assert Decision.objects.filter(payload__explanation__icontains="weekly maximum").exists()

    report = replay_run(ruleset=setup["version"], days=30, keep=COUNT)

    assert report.leads == len(leads)
    assert report.changed == 0, report.changes
    s = report.summary
    assert s["triage"]["before"] == s["triage"]["after"] > 0
    assert s["uncovered"]["no_rule"] == s["uncovered"]["before"] > 0
    assert {r["rep_id"]: r["before"] for r in s["share_per_rep"]} == {
        r["rep_id"]: r["after"] for r in s["share_per_rep"]
    }
    assert "online" in s["presence"]


def test_without_counting_the_replayed_assignments_the_daily_cap_would_not_hold(setup, monkeypatch):
    """The reproduction above depends on the simulated load: a replay that forgets the
    leads it gave reps lets a capped rep take leads the stored history denied them."""
    from routing.replay.simulate import Replay

    route_history(setup)
    monkeypatch.setattr(Replay, "_gain", lambda self, *args: None)
    report = replay_run(ruleset=setup["version"], days=30, keep=COUNT)
    assert report.changed > 0
    assert "load" in report.summary["reasons"]


def test_a_replay_names_why_each_lead_differs(setup):
    reps = setup["reps"]

    def disturb(i: int, lead: Lead) -> None:
        if i == 8:  # rep2 goes offline for a while: presence is not replayed
            rep_set_presence(rep=reps[2], presence="offline", actor=None)
        if i == 14:
            rep_set_presence(rep=reps[2], presence="available", actor=None)
        lead.refresh_from_db()
        if i == 20 and lead.owner_id:  # a manager moves a lead by hand: load moves
            other = next(r for r in reps[:4] if r.pk != lead.owner_id)
            lead_reassign(lead_id=lead.pk, rep_id=other.pk, actor=None, reason="Knows them")
        if i == 25 and lead.status == "assigned":  # junk: the pool's turn is given back
            lead_transition(lead_id=lead.pk, status="junk")
            decision_refund(lead_id=lead.pk)

    leads = route_history(setup, disturb)
    report = replay_run(ruleset=setup["version"], days=30, keep=COUNT)

    assert report.leads == len(leads)
    assert report.changed > 0
    reasons = report.summary["reasons"]
    assert "unexplained" not in reasons
    assert {"presence", "moves"} <= set(reasons)
    assert sum(reasons.values()) == report.changed == len(report.changes)
    for change in report.changes:
        assert change["reason"] != "unexplained"
        assert change["why"]
        assert change["before"]["explanation"] and change["after"]["explanation"]


def test_replaying_a_draft_counts_changes_and_their_reason_is_the_rule_set(setup):
    route_history(setup)
    draft = ruleset_draft()
    rule = draft.rules.get(name="America")
    rule.action, rule.action_pool = "triage", None
    rule.save()
    report = replay_run(ruleset=replay_ruleset("draft"), days=30, keep=5)
    america = Lead.objects.filter(country__in=["US", "CA"], employees__lt=1000).exclude(
        source="webinar"
    )
    changed_outcome = america.filter(account=None).count()
    s = report.summary
    assert s["changed_outcome"] == changed_outcome > 0
    assert s["triage"]["after"] == s["triage"]["before"] + changed_outcome
    assert set(s["reasons"]) == {"ruleset"}
    assert len(report.changes) == 5 and report.summary["listed"] == 5
    assert report.changes[0]["after"]["outcome"] == "triage"
    rr = next(p for p in s["fairness"] if p["pool"] == "Round robin")
    assert rr["before"]["leads"] > 0 and rr["after"]["leads"] == 0


def table_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 (own table names)
            counts[table] = cursor.fetchone()[0]
    return counts


def test_a_replay_writes_nothing_but_its_report(setup):
    route_history(setup)
    draft = ruleset_draft()
    draft.rules.filter(name="Webinar").delete()
    states = list(PoolState.objects.order_by("pool_id").values())
    leads = list(Lead.objects.order_by("pk").values())
    before = table_counts()
    replay_run(ruleset=replay_ruleset("draft"), days=30)
    replay_run(ruleset=setup["version"], days=30)
    after = table_counts()
    report_table = ReplayReport._meta.db_table
    assert after.pop(report_table) == before.pop(report_table) + 2
    assert after == before
    assert list(PoolState.objects.order_by("pool_id").values()) == states
    assert list(Lead.objects.order_by("pk").values()) == leads


def test_leads_outside_the_window_are_not_replayed(setup):
    route_history(setup)
    report = replay_run(ruleset=setup["version"], days=5)
    in_window = Lead.objects.filter(captured_at__gte=report.window_start).count()
    assert report.leads == in_window < COUNT


def test_the_replay_reads_the_leads_in_chunks_with_a_fixed_number_of_queries(
    setup, django_assert_max_num_queries
):
    route_history(setup)
    routing_world_cache.forget()
    with django_assert_max_num_queries(60):
        small = replay_run(ruleset=setup["version"], days=30, chunk=10)
    assert small.leads == COUNT and small.changed == 0


def test_ruleset_and_days_are_checked_naming_the_argument(setup):
    with pytest.raises(ReplayError) as err:
        replay_ruleset("v1")
    assert err.value.field == "ruleset"
    for bad in ("99", "9" * 40, "dr\x00aft"):
        with pytest.raises(ReplayError):
            replay_ruleset(bad)
    for days in (0, 367, True, "30", 10**20):
        with pytest.raises(ReplayError) as err:
            replay_run(ruleset=setup["version"], days=days)
        assert err.value.field == "days"


def test_the_command_prints_the_report_and_refuses_bad_arguments(setup, capsys):
    route_history(setup)
    call_command("replay", "--ruleset", str(setup["version"].version), "--days", "30")
    out = capsys.readouterr().out
    assert f"Leads: {COUNT}; changed: 0" in out
    assert "online" in out
    with pytest.raises(CommandError, match="--ruleset"):
        call_command("replay", "--ruleset", "nope")
    with pytest.raises(CommandError, match="--days"):
        call_command("replay", "--ruleset", "draft", "--days", "0")


def test_gini_and_fairness():
    assert gini([1, 1, 1, 1]) == 0
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)
    row = fairness({1: 3, 2: 1}, {1: 3.0, 2: 1.0})
    assert row == {"leads": 4, "max_deviation": 0.0, "gini": 0.0}
    row = fairness({1: 2, 2: 2}, {1: 3.0, 2: 1.0})
    assert row["max_deviation"] == 25.0 and row["gini"] > 0
    assert fairness({1: 0}, {1: 1.0})["leads"] == 0


def test_a_reps_next_day_starts_at_their_local_midnight_across_a_clock_change():
    from zoneinfo import ZoneInfo

    from routing.replay.simulate import _next

    start = datetime(2026, 3, 8, tzinfo=ZoneInfo("America/New_York"))  # clocks go forward
    assert _next(start, 1).astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    assert _next(start, 1).astimezone(UTC).hour == 4  # 00:00 EDT


def test_heavy_lead_fields_are_read_only_when_a_rule_names_them(setup):
    from routing.replay.inputs import replay_world, snapshot_fields
    from routing.selectors import compiled_ruleset

    end = timezone.now()
    world = replay_world(end - timedelta(days=1), end)
    fields = snapshot_fields(compiled_ruleset(setup["version"]), world)
    assert {"country", "employees", "source", "captured_at", "closed_at"} <= set(fields)
    assert not {"message", "custom", "pages"} & set(fields)
    draft = ruleset_draft()
    Rule.objects.create(
        ruleset=draft,
        position=9,
        name="Custom",
        condition={"any": [{"field": "custom.plan", "op": "eq", "value": "pro"},
                           {"field": "message", "op": "contains", "value": "demo"}]},
        action="nurture",
    )  # fmt: skip
    fields = snapshot_fields(compiled_ruleset(draft), world)
    assert {"custom", "message"} <= set(fields) and "pages" not in fields


def test_each_lead_is_read_with_its_own_decisions_whatever_the_chunk(setup):
    """The leads and their decisions come in one stream (a row per decision): a lead with
    several decisions, one with none, and chunk edges falling between a lead's rows."""
    reps = setup["reps"]
    moved: list[int] = []

    def disturb(i: int, lead: Lead) -> None:
        lead.refresh_from_db()
        if len(moved) < 3 and i > 2 and lead.status == "assigned":  # by hand; the third twice
            for _ in range(2 if len(moved) == 2 else 1):
                lead.refresh_from_db()
                other = next(r for r in reps[:4] if r.pk != lead.owner_id)
                lead_reassign(lead_id=lead.pk, rep_id=other.pk, actor=None, reason="By hand")
            moved.append(lead.pk)

    leads = route_history(setup, disturb)
    with time_machine.travel(instants()[10] + timedelta(seconds=1), tick=False):
        unrouted = LeadFactory(**lead_data(10, setup["account"]))  # never routed
    assert len(moved) == 3
    reports = [
        replay_run(ruleset=setup["version"], days=30, keep=COUNT, chunk=c) for c in (1, 2, 7, 2000)
    ]
    for report in reports:
        assert report.leads == len(leads) + 1
        assert report.summary == reports[-1].summary | {"listed": report.summary["listed"]}
        by_lead = {c["lead_id"]: c for c in report.changes}
        assert by_lead[unrouted.pk]["reason"] == "not_routed"
        assert by_lead[unrouted.pk]["before"] is None
        for lead_id in moved:
            if lead_id in by_lead:
                assert "manual" in by_lead[lead_id]["moved_later_by"]
    assert [c["lead_id"] for c in reports[0].changes] == [c["lead_id"] for c in reports[-1].changes]
    assert reports[-1].summary["unrouted"] == 1
    # What the replay read, lead by lead: each once, in capture order, with its decisions.
    start, end = reports[-1].window_start, reports[-1].window_end
    for chunk in (1, 2, 7, 2000):
        rows = [row for rows in lead_rows(start, end, chunk) for row in rows]
        assert all(len(rows) <= chunk for rows in lead_rows(start, end, chunk))
        ids = [row.snapshot["id"] for row in rows]
        captured = sorted([*leads, unrouted], key=lambda lead: (lead.captured_at, lead.pk))
        assert ids == [lead.pk for lead in captured]
        by_id = {row.snapshot["id"]: row for row in rows}
        assert by_id[unrouted.pk].stored is None and by_id[unrouted.pk].moved_by == ()
        assert [by_id[pk].moved_by for pk in moved] == [("manual",), ("manual",), ("manual",) * 2]
        for pk in moved:
            first = Decision.objects.filter(lead_id=pk, kind="auto").earliest("created_at", "pk")
            assert by_id[pk].stored.pk == first.pk and by_id[pk].stored.rep_id == first.rep_id


def test_the_report_lists_the_set_ups_changes_since_the_window_began_but_not_presence(setup):
    route_history(setup)
    before = replay_run(ruleset=setup["version"], days=30).summary["setup_changes"]
    rep = setup["reps"][1]
    rep_set_presence(rep=rep, presence="away", actor=None)  # presence is not replayed
    working_hours_set(rep=rep, intervals=[(0, time(8), time(12))])
    rep_update(rep=rep, weight=3)

    after = replay_run(ruleset=setup["version"], days=30).summary["setup_changes"]

    assert after["count"] - before["count"] == 2  # presence is not counted
    newest = [(c["what"], c["action"], c["fields"]) for c in after["listed"][:2]]
    assert newest[0] == (f"rep {rep}", "changed", ["weight"])
    assert newest[1][0].startswith("workinghours ")
    # Nothing older than the window: a 1-day replay of a set-up made "today" sees it all,
    # a replay whose window began after every change sees none.
    with time_machine.travel(timezone.now() + timedelta(days=2), tick=False):
        assert replay_run(ruleset=setup["version"], days=1).summary["setup_changes"] == {
            "count": 0,
            "listed": [],
        }


@pytest.mark.postgres
def test_on_postgresql_the_read_parses_timestamps_in_c_and_puts_djangos_loader_back(setup):
    """The same instants as the ORM reads, and Django's loader back afterwards, also when
    the reader stops early (an error in the replay)."""
    from psycopg import pq
    from psycopg.postgres import types

    leads = route_history(setup)
    oid = types["timestamptz"].oid
    connection.ensure_connection()
    django_loader = connection.connection.adapters.get_loader(oid, pq.Format.TEXT)
    start, end = FIRST - timedelta(days=1), timezone.now()

    rows = [row for chunk in lead_rows(start, end, chunk=7) for row in chunk]

    assert connection.connection.adapters.get_loader(oid, pq.Format.TEXT) is django_loader
    by_id = {lead.pk: lead for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads])}
    for row in rows:
        lead = by_id[row.snapshot["id"]]
        assert row.snapshot["captured_at"] == lead.captured_at
        assert row.snapshot["captured_at"].utcoffset() == timedelta(0)
        assert row.snapshot["closed_at"] == lead.closed_at
    assert any(row.snapshot["closed_at"] for row in rows)
    reader = lead_rows(start, end, chunk=7)
    next(reader)
    assert connection.connection.adapters.get_loader(oid, pq.Format.TEXT) is not django_loader
    reader.close()
    assert connection.connection.adapters.get_loader(oid, pq.Format.TEXT) is django_loader
