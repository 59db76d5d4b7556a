import io
import stat
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db.models import F, Max, Min
from django.utils import timezone

from leadhub.leads.models import Lead, LeadEvent
from reps.models import Rep, Team

REGION_ZONES = {"NA": ("America/",), "EMEA": ("Europe/",), "APAC": ("Asia/", "Australia/")}


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    models = [
        *apps.get_app_config("leads").get_models(),
        *apps.get_app_config("reps").get_models(),
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
    assert {"new", "triage", "nurture"} <= statuses <= {"new", "triage", "nurture"}
    assert not leads.exclude(owner=None).exists()  # routing comes with the next issue
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

    counts = row_counts()
    again = seed()

    assert row_counts() == counts
    assert "none added" in again


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
