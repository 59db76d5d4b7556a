"""A manager's floor whose headline numbers are known, relative to now: the glance tests
(test_glance.py) and the browser's (test_browser_glance.py) share it."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from leadhub.leads.tests.factories import LeadFactory
from leadhub.web.metrics import day_start
from reps.models import Rep
from reps.tests.factories import RepFactory, TeamFactory, UserFactory
from sla.models import SlaClock


@dataclass
class Floor:
    manager: Rep
    rep: Rep
    now: datetime


def build() -> Floor:
    """Today: two leads touched 4 and 6 min after assignment (median 5 min); three days
    ago one touched after 2 h 10 min; clocks started in the last 30 days: 3 met and 1
    breached (75.0 %); one open lead past its due time now and one breached but closed
    (1 open breach); two leads in triage since 3 h and 1 h ago."""
    now = timezone.now()
    today = day_start(now.date())
    team = TeamFactory(name="East")
    manager = RepFactory(
        team=team, role=Rep.Role.MANAGER, timezone="Asia/Tokyo", user=UserFactory(username="meg")
    )
    rep = RepFactory(team=team, user=UserFactory(username="ray"))

    def lead(captured: datetime, touch_after: float | None = None, **kwargs):
        return LeadFactory(
            owner=rep,
            status=kwargs.pop("status", "contacted"),
            captured_at=captured,
            assigned_at=captured,
            first_touch_at=captured + timedelta(seconds=touch_after) if touch_after else None,
            **kwargs,
        )

    lead(today, 240)
    lead(today, 360)
    lead(today - timedelta(days=3), 7800)
    started = today - timedelta(days=2)
    for status in ("met", "met", "met", "breached"):
        SlaClock.objects.create(
            lead=lead(started, status="converted"),
            rep=rep,
            kind="accept",
            status=status,
            started_at=started,
            due_at=started + timedelta(minutes=5),
            next_at=started + timedelta(minutes=5),
        )
    overdue = now - timedelta(minutes=10)
    SlaClock.objects.create(
        lead=lead(started, status="assigned"),
        rep=rep,
        kind="accept",
        started_at=overdue - timedelta(minutes=5),
        due_at=overdue,
        next_at=overdue,
    )
    for hours in (3, 1):
        LeadFactory(status="triage", captured_at=now - timedelta(hours=hours))
    return Floor(manager=manager, rep=rep, now=now)
