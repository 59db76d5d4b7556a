import io
import stat
from datetime import date, time, timedelta

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Max, Min, Q
from django.utils import timezone

from leadhub.leads.models import OPEN_STATUSES, Lead, LeadEvent
from reps.availability import NO_NEEDS, Reason, rep_eligibility
from reps.models import Holiday, HolidayCalendar, Rep, Team, TimeOff
from reps.selectors import rep_snapshots
from routing.models import Decision, Pool, Publication
from sla.clocks import policy_for
from sla.models import SlaClock, SlaPolicy

REGION_ZONES = {"NA": ("America/",), "EMEA": ("Europe/",), "APAC": ("Asia/", "Australia/")}


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


@pytest.mark.django_db
def test_seed_demo_builds_a_believable_company_and_a_second_run_changes_nothing():
    started = timezone.now()
    output = seed()

    assert "Demo company: 3 teams" in output
    teams = Team.objects.all()
    assert sorted(teams.values_list("region", flat=True)) == ["APAC", "EMEA", "NA"]
    for team in teams:
        reps = list(team.reps.select_related("user"))
        assert [r.role for r in reps].count("manager") == 1
        assert all(r.timezone.startswith(REGION_ZONES[team.region]) for r in reps), team
        assert not any(r.user.has_usable_password() for r in reps)
    assert 12 <= Rep.objects.count() <= 18

    leads = Lead.objects.all()
    assert 400 <= leads.count() <= 600
    span = leads.aggregate(first=Min("captured_at"), last=Max("captured_at"))
    assert span["last"] - span["first"] >= timedelta(days=25)
    assert span["last"] <= started
    statuses = set(leads.values_list("status", flat=True))
    assert {"new", "triage", "nurture", "assigned"} <= statuses
    assert statuses <= {"new", "triage", "nurture", "assigned"}
    # The at-capacity rep's full book was assigned by hand, and routing never topped it up.
    full = Rep.objects.get(user__username="diego.ramirez")
    assert full.leads.filter(status="assigned").count() == full.max_open == 6
    assert not Decision.objects.filter(rep=full).exists()
    assert not leads.filter(assigned_at__lt=F("captured_at")).exists()
    _assert_leads_are_routed(leads)
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

    _assert_reps_are_scheduled(started)
    _assert_sla_policies()

    counts = row_counts()
    again = seed()

    assert row_counts() == counts
    assert "none added" in again


def _assert_leads_are_routed(leads) -> None:
    """Every complete lead left new was routed by the playbook, each with one decision."""
    assert not leads.filter(status="new", is_partial=False).exists()
    routed = leads.filter(decisions__isnull=False).distinct()
    assert routed.count() >= 250
    assert not leads.filter(is_partial=True).filter(decisions__isnull=False).exists()
    for lead in routed.annotate(effective=Count("decisions", filter=Q(decisions__effective=True))):
        assert lead.effective == 1, lead
    decisions = Decision.objects.filter(effective=True)
    assert set(decisions.values_list("outcome", flat=True)) == {"assigned", "triage"}
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
    # The rep on vacation was skipped; triage says why.
    assert not Decision.objects.filter(rep__user__username="hannah.okafor").exists()
    triaged = decisions.filter(outcome="triage")
    assert triaged.exists()
    assert all(d.rule_name and d.payload["explanation"] for d in triaged)
    assert all(d.lead.status == "triage" for d in triaged.select_related("lead"))
    # Leads from companies of 1,000+ people without an account went to the Enterprise pool.
    big = decisions.filter(lead__employees__gte=1000, lead__account=None)
    assert big.exists()
    assert set(big.values_list("rule_name", "pool__name")) == {
        ("Enterprise: 1,000+ employees", "Enterprise")
    }
    assert set(
        Lead.objects.filter(owner__in=Pool.objects.get(name="Enterprise").members.values("rep"))
        .filter(decisions__pool__name="Enterprise")
        .values_list("employees", flat=True)
    ) >= {e for e in big.values_list("lead__employees", flat=True)}
    assert Publication.objects.count() == 1


def _assert_sla_policies() -> None:
    """Demo requests: 5 / 15 minutes around the clock with the whole ladder; content
    downloads: an hour of US business hours. No clock on the month of seeded leads."""
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
    assert not SlaClock.objects.exists()


def _assert_reps_are_scheduled(started) -> None:
    reps = list(Rep.objects.prefetch_related("working_hours", "skills"))
    for rep in reps:
        hours = list(rep.working_hours.all())
        assert {h.weekday for h in hours} == {0, 1, 2, 3, 4}, rep
        assert all(time(8) <= h.start < h.end <= time(17) for h in hours), rep
        assert rep.languages and rep.skills.exists() and rep.holiday_calendar_id, rep
        assert 1 <= rep.tier <= 3 and rep.max_open and rep.max_per_day, rep
    assert sum(len(r.working_hours.all()) == 10 for r in reps) >= 2  # split shifts
    assert Rep.objects.exclude(ramp_until=None).count() == 1
    # The calendars hold real 2026 public holidays of each rep's country.
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
    assert vacation.reason == "Vacation" and vacation.start <= started < vacation.end


@pytest.mark.django_db
def test_demo_login_creates_a_superuser_whose_password_works(client, tmp_path):
    file = tmp_path / "var" / "demo-login.txt"
    out = io.StringIO()

    call_command("demo_login", file=file, stdout=out)

    password = file.read_text().strip()
    assert out.getvalue().strip() == (
        f"Demo login: http://127.0.0.1:8000/admin/  user: demo  password: {password}"
    )
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    user = get_user_model().objects.get(username="demo")
    assert user.is_superuser and user.is_staff
    assert list(user.groups.values_list("name", flat=True)) == ["RevOps"]
    assert set(Group.objects.values_list("name", flat=True)) == {"RevOps", "Rep", "Manager"}
    assert client.login(username="demo", password=password)


@pytest.mark.django_db
def test_demo_login_reuses_the_saved_password(client, tmp_path):
    file = tmp_path / "demo-login.txt"
    call_command("demo_login", file=file, stdout=io.StringIO())
    first = file.read_text()

    out = io.StringIO()
    call_command("demo_login", file=file, stdout=out)

    assert file.read_text() == first
    assert out.getvalue().rstrip().endswith(first.strip())
    assert get_user_model().objects.filter(username="demo").count() == 1
    assert client.login(username="demo", password=first.strip())


@pytest.mark.django_db
def test_demo_login_without_its_file_sets_a_new_password(client, tmp_path):
    file = tmp_path / "demo-login.txt"
    call_command("demo_login", file=file, stdout=io.StringIO())
    old = file.read_text().strip()
    file.unlink()

    call_command("demo_login", file=file, stdout=io.StringIO())

    new = file.read_text().strip()
    assert new != old
    assert not client.login(username="demo", password=old)
    assert client.login(username="demo", password=new)


@pytest.mark.django_db
def test_demo_login_refuses_in_production(settings, tmp_path):
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="production"):
        call_command("demo_login", file=tmp_path / "demo-login.txt", stdout=io.StringIO())

    assert not get_user_model().objects.filter(username="demo").exists()
    assert not (tmp_path / "demo-login.txt").exists()
