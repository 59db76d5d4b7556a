"""``manage.py seed_demo``, seeded once for the module: building the demo company takes
seconds, and every test here only reads it (each runs in a savepoint of the module's
transaction, rolled back after it, so a test that writes leaves the company as it was)."""

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F, Max, Min, Q
from django.utils import timezone

from leadhub.leads.models import OPEN_STATUSES, Lead, LeadEvent
from leadhub.web import metrics
from reps.availability import NO_NEEDS, Reason, rep_eligibility
from reps.models import Holiday, HolidayCalendar, Rep, Team, TimeOff
from reps.selectors import rep_snapshots
from routing.models import Decision, Pool, Publication
from sla.clocks import policy_for
from sla.models import Notification, SlaClock, SlaPolicy

REGION_ZONES = {"NA": ("America/",), "EMEA": ("Europe/",), "APAC": ("Asia/", "Australia/")}

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Seeded:
    started: datetime
    output: str
    queued: list


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    models = [
        *apps.get_app_config("leads").get_models(),
        *apps.get_app_config("reps").get_models(),
        *apps.get_app_config("routing").get_models(),
        *apps.get_app_config("sla").get_models(),
        get_user_model(),
    ]
    return {m.__name__: m.objects.count() for m in models}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo company, seeded once in a transaction that the last test of the module
    rolls back."""
    queued: list = []
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as mp:
        mp.setattr("leadhub.lanes.async_task", lambda *args, **kw: queued.append(args))
        with transaction.atomic():
            started = timezone.now()
            yield Seeded(started=started, output=seed(), queued=queued)
            transaction.set_rollback(True)


def test_the_story_left_nothing_for_the_workers(demo):
    # The story did every task's work as it played: nothing is left for the workers, and
    # the month's emails belong to the month (make run starts with an empty queue).
    assert demo.queued == []
    assert not Notification.objects.exclude(channel="in_app").exclude(status="sent").exists()


def test_three_teams_of_reps_work_in_their_regions_time_zones(demo):
    assert "Demo company: 3 teams" in demo.output
    teams = Team.objects.all()
    assert sorted(teams.values_list("region", flat=True)) == ["APAC", "EMEA", "NA"]
    for team in teams:
        reps = list(team.reps.select_related("user"))
        assert [r.role for r in reps].count("manager") == 1
        assert all(r.timezone.startswith(REGION_ZONES[team.region]) for r in reps), team
        assert not any(r.user.has_usable_password() for r in reps)
    assert 12 <= Rep.objects.count() <= 18


def test_a_month_of_leads_came_in_through_the_pipeline(demo):
    leads = Lead.objects.all()
    assert 400 <= leads.count() <= 600
    span = leads.aggregate(first=Min("captured_at"), last=Max("captured_at"))
    assert span["last"] - span["first"] >= timedelta(days=25)
    assert span["last"] <= demo.started
    # The month was worked: every step of the lifecycle is there.
    assert set(leads.values_list("status", flat=True)) >= {
        "new", "triage", "nurture", "queued", "assigned", "contacted", "qualified",
        "converted", "disqualified", "junk",
    }  # fmt: skip
    assert not leads.filter(assigned_at__lt=F("captured_at")).exists()
    assert leads.exclude(account=None).count() >= 50
    captured = LeadEvent.objects.filter(kind="captured")
    assert sum("enriched" in data for data in captured.values_list("data", flat=True)) >= 50
    assert LeadEvent.objects.filter(kind="resubmitted").count() >= 10
    assert leads.filter(is_partial=True).exists()
    assert LeadEvent.objects.filter(kind="completed").exists()
    assert set(leads.values_list("channel", flat=True)) == {"api", "form", "import"}
    # Events carry the fabricated time too, and nothing comes back before it first arrived.
    assert not captured.exclude(at=F("lead__captured_at")).exists()
    assert not LeadEvent.objects.filter(at__lt=F("lead__captured_at")).exists()
    # Countries were written every which way and came out as ISO codes.
    countries = set(leads.exclude(country="").values_list("country", flat=True))
    assert {"US", "GB", "DE", "AU", "JP"} <= countries
    assert all(len(c) == 2 for c in countries)


def test_the_rep_at_capacity_got_a_full_book_by_hand_and_nothing_routed(demo):
    full = Rep.objects.get(user__username="diego.ramirez")
    assert full.leads.filter(status="assigned").count() == full.max_open == 6
    assert not Decision.objects.filter(rep=full).exists()


def test_the_month_was_played_out_and_only_two_clocks_are_overdue(demo):
    """The history is dated in the past month, its clocks ended; only today's leads have
    running clocks, and only the two left overdue on purpose are due already."""
    leads = Lead.objects.all()
    assert not Decision.objects.filter(created_at__lt=F("lead__captured_at")).exists()
    assert not leads.filter(accepted_at__lt=F("assigned_at")).exists()
    assert not leads.filter(first_touch_at__lt=F("captured_at")).exists()
    days = {d.date() for d in Decision.objects.values_list("created_at", flat=True)}
    assert len(days) >= 25
    clocks = SlaClock.objects.all()
    assert clocks.filter(status="met").count() >= 300
    assert clocks.filter(status="running").count() <= 20
    long_ago = demo.started - timedelta(hours=9)
    assert not clocks.filter(status="running", started_at__lt=long_ago).exists()
    overdue = set(
        clocks.filter(status="running", next_at__lte=demo.started).values_list("lead_id", flat=True)
    )
    assert overdue == set(leads.filter(custom__demo_overdue=True).values_list("pk", flat=True))
    assert len(overdue) == 2
    # The partner queue has leads waiting, and leads claimed from it.
    assert leads.filter(status="queued").exists()
    assert Decision.objects.filter(kind="claim").count() >= 5
    # A manager's hand, a junk lead's refund, the SLA ladder.
    assert Decision.objects.filter(kind="manual").exclude(reason="").exists()
    assert Decision.objects.exclude(refunded_at=None).exists()
    assert {"reassigned", "escalated"} <= {
        data.get("action")
        for data in LeadEvent.objects.filter(kind="sla").values_list("data", flat=True)
    }
    assert "Their month:" in demo.output and "2 overdue on purpose" in demo.output


def test_every_dashboard_chart_has_data(demo):
    """Every chart of the manager dashboard, as RevOps sees the default 30 days."""
    revops = get_user_model().objects.create_superuser("revops-test", "", "x")
    period = metrics.MetricFilter.last_days()

    speed = metrics.speed(period, revops)
    assert all(speed["overall"][m]["p50"] is not None for m in metrics.SPEED_MEASURES)
    assert sum(day["accept"]["p50"] is not None for day in speed["daily"]) >= 25

    sla = metrics.sla(period, revops)
    assert sla["total"]["met"] > 0 and sla["total"]["breached"] > 0
    assert {p["policy"] for p in sla["by_policy"] if p["met"]} == {
        "Demo requests", "Content downloads", "Inbound leads",
    }  # fmt: skip
    assert sum(1 for p in sla["by_policy"] if p["breached"]) >= 2
    assert all(t["met"] and t["breached"] for t in sla["by_team"] if t["team_id"])
    assert sla["breaches"]["reassigned"] and sla["breaches"]["escalated"]

    acceptance = metrics.acceptance(period, revops)
    assert acceptance["total"]["declined"] > 0 and acceptance["total"]["pending"] > 0
    assert 0.8 <= acceptance["total"]["rate"] < 1
    assert len(acceptance["decline_reasons"]) >= 3

    conversion = metrics.conversion(period, revops)
    total = conversion["total"]
    assert 0.08 <= total["converted"] / total["leads"] <= 0.25
    assert sum(1 for r in conversion["by_rep"] if r["converted"]) >= 8
    assert len({r["rate"] for r in conversion["by_source"] if r["closed"]}) >= 5
    assert sum(1 for r in conversion["by_rule"] if r["converted"]) >= 4

    rotation = set(
        Pool.objects.exclude(method=Pool.Method.CLAIM_QUEUE).values_list("name", flat=True)
    )
    fairness = metrics.fairness(period, revops)
    assert {p["pool"] for p in fairness} == rotation
    assert all(p["decisions"] and p["gini"] is not None for p in fairness)

    workload = metrics.workload(period, revops)
    assert sum(1 for r in workload["reps"] if r["open"]) >= 12
    queues = {q["queue"]: q for q in workload["queues"]}
    assert queues["Triage"]["leads"] > 0 and queues["Partner leads"]["leads"] > 0


def test_every_complete_lead_left_new_was_routed_by_the_playbook(demo):
    """Each with one decision."""
    leads = Lead.objects.all()
    assert not leads.filter(status="new", is_partial=False).exists()
    routed = leads.filter(decisions__isnull=False).distinct()
    assert routed.count() >= 250
    assert not leads.filter(is_partial=True).filter(decisions__isnull=False).exists()
    for lead in routed.annotate(effective=Count("decisions", filter=Q(decisions__effective=True))):
        assert lead.effective == 1, lead
    decisions = Decision.objects.filter(effective=True)
    assert set(decisions.values_list("outcome", flat=True)) == {"assigned", "triage", "queued"}
    assert decisions.filter(outcome="assigned", method="round_robin").count() >= 50
    assert decisions.filter(outcome="assigned", method="skills_match").count() >= 5
    assert (
        decisions.filter(outcome="assigned", method="account_owner").count()
        + decisions.filter(
            outcome="assigned", rule_name__startswith="Known account", method="round_robin"
        ).count()
        >= 50
    )
    # Routed leads landed with their owner, and nobody got more than their cap.
    for decision in decisions.filter(outcome="assigned").select_related("lead"):
        assert decision.lead.owner_id == decision.rep_id, decision
    for rep in Rep.objects.annotate(
        open=Count("leads", filter=Q(leads__status__in=sorted(OPEN_STATUSES)))
    ).exclude(role=Rep.Role.MANAGER):
        assert rep.open <= rep.max_open, rep
    # The rep on vacation got nothing since it began; triage says why.
    vacation = TimeOff.objects.get()
    assert not Decision.objects.filter(rep=vacation.rep, created_at__gte=vacation.start).exists()
    triaged = decisions.filter(outcome="triage")
    assert triaged.exists()
    assert all(d.payload["explanation"] for d in triaged)
    assert all(d.rule_name for d in triaged.filter(kind="auto"))
    assert triaged.filter(kind="sla").exists()  # the end of the SLA ladder
    assert all(d.lead.status == "triage" for d in triaged.select_related("lead"))
    # Leads from companies of 1,000+ people without an account (partners aside: they have
    # their own queue) were routed to the Enterprise pool's members.
    big = Decision.objects.filter(
        kind="auto", lead__employees__gte=1000, lead__account=None
    ).exclude(lead__source="partner_referral")
    assert big.exists()
    assert set(big.values_list("rule_name", "pool__name")) == {
        ("Enterprise: 1,000+ employees", "Enterprise")
    }
    members = set(Pool.objects.get(name="Enterprise").members.values_list("rep", flat=True))
    assert set(big.values_list("rep", flat=True)) <= members
    assert Publication.objects.count() == 1


def test_the_sla_policies_pick_the_demos_own_leads(demo):
    """Demo requests: 5 / 15 minutes around the clock with the whole ladder; content
    downloads: an hour of US business hours; every other lead: 1 / 8 hours."""
    demo = SlaPolicy.objects.get(name="Demo requests")
    assert (demo.accept_minutes, demo.touch_minutes, demo.calendar) == (5, 15, None)
    assert list(demo.steps.values_list("action", "minutes", "times")) == [
        ("remind", 2, 1),
        ("reassign", 0, 2),
        ("escalate", 0, 1),
        ("triage", 0, 1),
    ]
    content = SlaPolicy.objects.get(name="Content downloads")
    assert (content.accept_minutes, content.touch_minutes) == (None, 60)
    calendar = content.calendar
    assert (calendar.name, calendar.timezone) == ("US business hours", "America/New_York")
    assert calendar.holiday_calendar.name == "United States"
    assert set(calendar.hours.values_list("weekday", "start", "end")) == {
        (day, time(9), time(17)) for day in range(5)
    }
    # The conditions pick the demo's own leads, as the clocks choose a policy.
    leads = list(Lead.objects.filter(is_partial=False).order_by("pk"))
    asked = next(lead for lead in leads if "demo_request" in lead.intent_signals)
    download = next(
        lead
        for lead in leads
        if lead.source == "content_download" and "demo_request" not in lead.intent_signals
    )
    now = timezone.now()
    assert policy_for(asked, now).name == "Demo requests"
    assert policy_for(download, now).name == "Content downloads"
    assert policy_for(leads[0], now).name in {"Inbound leads", "Demo requests", "Content downloads"}
    inbound = SlaPolicy.objects.get(name="Inbound leads")
    assert (inbound.accept_minutes, inbound.touch_minutes, inbound.calendar) == (60, 480, None)


def test_reps_have_schedules_holidays_a_vacation_and_one_is_at_capacity(demo):
    reps = list(Rep.objects.prefetch_related("working_hours", "skills"))
    for rep in reps:
        hours = list(rep.working_hours.all())
        assert {h.weekday for h in hours} == {0, 1, 2, 3, 4}, rep
        assert all(time(8) <= h.start < h.end <= time(17) for h in hours), rep
        assert rep.languages and rep.skills.exists() and rep.holiday_calendar_id, rep
        assert 1 <= rep.tier <= 3 and rep.max_open and rep.max_per_day, rep
    assert sum(len(r.working_hours.all()) == 10 for r in reps) >= 2  # split shifts
    assert Rep.objects.exclude(ramp_until=None).count() == 1
    # The calendars hold the real public holidays (the `holidays` package) of each rep's
    # country and region, this year's and next, in the region's language.
    year = timezone.now().year
    for calendar, day, name in [
        ("United States", date(year, 7, 4), "Independence Day"),
        ("United States", date(year + 1, 1, 1), "New Year's Day"),
        ("Germany (Berlin)", date(year, 10, 3), "Tag der Deutschen Einheit"),
        ("France", date(year, 7, 14), "Fête nationale"),
    ]:
        assert Holiday.objects.filter(calendar__name=calendar, date=day, name=name).exists()
    if year == 2026:
        assert Holiday.objects.filter(
            calendar__name="United States", date=date(2026, 11, 26), name="Thanksgiving Day"
        ).exists()
    assert set(HolidayCalendar.objects.values_list("name", flat=True)) >= {
        "United States",
        "United Kingdom (England)",
        "Germany (Berlin)",
        "Singapore",
        "Japan",
    }

    # Right now, one rep is on vacation and the one seeded at capacity still is.
    now = timezone.now()
    snapshots = rep_snapshots(now=now)
    on_time_off = [
        s.name for s in snapshots.values() if Reason.TIME_OFF in rep_eligibility(s, NO_NEEDS, now)
    ]
    at_capacity = [
        s.name for s in snapshots.values() if Reason.CAP_OPEN in rep_eligibility(s, NO_NEEDS, now)
    ]
    assert on_time_off == ["Hannah Okafor"]
    # Diego's book was full before routing began; a month of routed leads may fill others.
    assert "Diego Ramirez" in at_capacity
    vacation = TimeOff.objects.get()
    assert vacation.reason == "Vacation" and vacation.start <= demo.started < vacation.end


def test_a_second_run_changes_nothing(demo):
    counts = row_counts()

    again = seed()

    assert row_counts() == counts
    assert "none added" in again and "Their month:" not in again
