import io
import stat

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command


@pytest.fixture(autouse=True)
def _default_address(monkeypatch):
    """demo_login prints make run's HOST and PORT: the defaults unless a test sets them."""
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.delenv("PORT", raising=False)


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
def test_demo_login_prints_the_address_make_run_serves(tmp_path, monkeypatch):
    monkeypatch.setenv("HOST", "127.0.0.2")
    monkeypatch.setenv("PORT", "8765")
    out = io.StringIO()
    call_command("demo_login", file=tmp_path / "demo-login.txt", stdout=out)
    assert out.getvalue().startswith("Demo login: http://127.0.0.2:8765/admin/  user: demo")


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


@pytest.mark.django_db
def test_demo_login_opens_the_pages_of_the_busiest_rep_and_their_manager(client, tmp_path):
    from leadhub.leads.tests.factories import LeadFactory
    from reps.models import Rep
    from reps.tests.factories import RepFactory, TeamFactory

    team = TeamFactory()
    quiet = RepFactory(team=team, user__username="quiet")
    busy = RepFactory(team=team, user__username="busy")
    RepFactory(team=team, role=Rep.Role.MANAGER, user__username="boss")
    LeadFactory(owner=busy, status="assigned")
    LeadFactory(owner=quiet, status="converted")
    file = tmp_path / "demo-login.txt"
    out = io.StringIO()

    call_command("demo_login", file=file, stdout=out)

    password = file.read_text().strip()
    lines = out.getvalue().splitlines()
    assert lines[1:] == [
        "  a rep's queue: http://127.0.0.1:8000/queue/  user: busy  (same password)",
        "  their manager: http://127.0.0.1:8000/dashboard/  user: boss  (same password)",
    ]
    assert client.login(username="busy", password=password)
    assert client.get("/").url == "/queue/"
    assert not client.login(username="quiet", password=password)


@pytest.mark.django_db
def test_demo_login_prefers_a_rep_with_running_clocks_to_one_with_more_leads(tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    from leadhub.leads.tests.factories import LeadFactory
    from reps.tests.factories import RepFactory, TeamFactory
    from sla.models import SlaClock

    team = TeamFactory()
    crowded = RepFactory(team=team, user__username="crowded")
    ticking = RepFactory(team=team, user__username="ticking")
    for _ in range(3):
        LeadFactory(owner=crowded, status="assigned")
    lead = LeadFactory(owner=ticking, status="assigned")
    due = timezone.now() + timedelta(minutes=5)
    SlaClock.objects.create(lead=lead, rep=ticking, kind="accept", due_at=due, next_at=due)
    # An ended clock does not count: only a running one shows a countdown.
    SlaClock.objects.create(
        lead=LeadFactory(owner=crowded, status="assigned"),
        rep=crowded,
        kind="accept",
        status="met",
        due_at=due,
        next_at=due,
    )
    out = io.StringIO()

    call_command("demo_login", file=tmp_path / "demo-login.txt", stdout=out)

    assert "/queue/  user: ticking  (same password)" in out.getvalue()
