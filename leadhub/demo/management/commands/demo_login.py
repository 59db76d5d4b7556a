"""manage.py demo_login: a superuser "demo" for trying LeadHub on a laptop, and its password.

The password is random, made once and kept in var/demo-login.txt (mode 0600, git-ignored),
so `make run` prints the same login every time. Without that file a new password is made
and set. When the demo company is loaded, the same password also opens the pages of one
demo rep (the one with the most running SLA clocks, then open leads: the countdowns and
one-click accept show at once) and of that rep's manager, so a newcomer sees the queue
and the dashboard as they see them. Refused in production, where a superuser
with a password in a file has no place.
"""

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Count, Q

from leadhub.leads.models import OPEN_STATUSES
from leadhub.leads.selectors import REVOPS_GROUP
from reps.models import Rep
from sla.models import SlaClock

USERNAME = "demo"
GROUPS = (REVOPS_GROUP, "Rep", "Manager")


def site_root() -> str:
    """Where `make run` serves LeadHub: HOST and PORT as gunicorn.conf.py reads them."""
    return f"http://{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or 8000}/"


class Command(BaseCommand):
    help = "Create (or reuse) the demo superuser and print its login. Not in production."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--file",
            type=Path,
            default=Path(settings.BASE_DIR) / "var" / "demo-login.txt",
            help="Where the password is kept (default: var/demo-login.txt).",
        )

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "demo_login creates a superuser whose password sits in a file; "
                "it does not run with LEADHUB_ENV=production."
            )
        with transaction.atomic():
            groups = [Group.objects.get_or_create(name=name)[0] for name in GROUPS]
            user, created = get_user_model().objects.get_or_create(
                username=USERNAME,
                defaults={"email": "demo@leadhub.example", "first_name": "Demo"},
            )
            user.is_active = user.is_staff = user.is_superuser = True
            password = None if created else read_password(file)
            if password is None:
                password = secrets.token_urlsafe(12)
                write_password(file, password)
                user.set_password(password)
            elif not user.check_password(password):
                # Changed in the admin since: the file is what people read, so it wins.
                user.set_password(password)
            user.save()
            user.groups.add(groups[0])
            people = demo_people()
            for person in people.values():
                if not person.user.check_password(password):
                    person.user.set_password(password)
                    person.user.save(update_fields=["password"])
        root = site_root()
        self.stdout.write(f"Demo login: {root}admin/  user: {USERNAME}  password: {password}")
        pages = {"rep": ("queue/", "a rep's queue"), "manager": ("dashboard/", "their manager")}
        for role, person in people.items():
            path, who = pages[role]
            self.stdout.write(
                f"  {who}: {root}{path}  user: {person.user.username}  (same password)"
            )


def demo_people() -> dict[str, Rep]:
    """The demo rep with the most running SLA clocks (so the queue shows its countdowns and
    one-click accept at once), then the most open leads; and their team's manager (none
    without reps)."""
    rep = (
        Rep.objects.filter(role=Rep.Role.REP, active=True, user__is_superuser=False)
        .annotate(
            running=Count(
                "sla_clocks",
                filter=Q(sla_clocks__status=SlaClock.Status.RUNNING),
                distinct=True,
            ),
            open=Count("leads", filter=Q(leads__status__in=sorted(OPEN_STATUSES)), distinct=True),
        )
        .order_by("-running", "-open", "pk")
        .select_related("user")
        .first()
    )
    if rep is None:
        return {}
    manager = (
        Rep.objects.filter(team_id=rep.team_id, role=Rep.Role.MANAGER, active=True)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return {"rep": rep, **({"manager": manager} if manager else {})}


def read_password(file: Path) -> str | None:
    try:
        return file.read_text().strip() or None
    except FileNotFoundError:
        return None


def write_password(file: Path, password: str) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    os.chmod(file, 0o600)  # O_CREAT's mode applies only to a new file
