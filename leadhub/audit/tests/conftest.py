from datetime import UTC, date, datetime, time

import pytest
from auditlog.models import LogEntry
from knox.models import AuthToken

from leadhub.leads.tests.factories import ScoringRuleFactory, WebFormFactory
from reps.tests.factories import (
    HolidayCalendarFactory,
    HolidayFactory,
    RepFactory,
    SkillFactory,
    TeamFactory,
    TimeOffFactory,
    UserFactory,
    WorkingHoursFactory,
)
from routing.models import Rule
from routing.services import ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory, TerritoryFactory
from sla.models import BusinessCalendar, BusinessHours, SlaPolicy, SlaStep
from sla.tests.factories import WebhookSubscriptionFactory


@pytest.fixture
def world(db):
    """A small set-up with one of each kind of configuration, then no audit entry: each
    test sees only the entries its own change writes."""
    team = TeamFactory(name="EMEA", region="EMEA", timezone="Europe/Berlin")
    SkillFactory(name="fintech")
    holidays = HolidayCalendarFactory(name="Germany")
    HolidayFactory(calendar=holidays, date=date(2030, 12, 25), name="Christmas")
    anna = RepFactory(user__username="anna", team=team, weight=1, holiday_calendar=holidays)
    ben = RepFactory(user__username="ben", team=team, role="manager")
    WorkingHoursFactory(rep=anna, weekday=0, start=time(9), end=time(17))
    TimeOffFactory(
        rep=anna,
        start=datetime(2030, 8, 1, tzinfo=UTC),
        end=datetime(2030, 8, 15, tzinfo=UTC),
        reason="Summer",
    )
    pool = PoolFactory(name="EMEA RR", team=team)
    PoolMemberFactory(pool=pool, rep=ben, position=0)
    PoolMemberFactory(pool=pool, rep=anna, position=1, weight=2)
    territory = TerritoryFactory(name="Europe", countries=["DE", "FR"], pool=pool)
    draft = ruleset_draft()
    Rule.objects.create(ruleset=draft, position=0, name="All", action="pool", action_pool=pool)
    ruleset_publish(note="v1")
    calendar = BusinessCalendar.objects.create(name="Berlin office", timezone="Europe/Berlin")
    BusinessHours.objects.create(calendar=calendar, weekday=0, start=time(9), end=time(17))
    policy = SlaPolicy.objects.create(name="Accept fast", accept_minutes=30, calendar=calendar)
    SlaStep.objects.create(policy=policy, position=0, action="remind", minutes=5)
    webhook = WebhookSubscriptionFactory(name="CRM", url="https://crm.example.com/hook")
    scoring = ScoringRuleFactory(name="Big", points=20)
    form = WebFormFactory(name="Contact", slug="contact")
    LogEntry.objects.all().delete()
    return {
        "team": team,
        "anna": anna,
        "ben": ben,
        "holidays": holidays,
        "pool": pool,
        "territory": territory,
        "calendar": calendar,
        "policy": policy,
        "webhook": webhook,
        "scoring": scoring,
        "form": form,
    }


@pytest.fixture
def revops(db):
    return UserFactory(username="rita", is_staff=True, is_superuser=True)


@pytest.fixture
def token_api(api, revops):
    """The API as RevOps with a token: DRF authenticates it inside the view, after every
    middleware has run."""
    token = AuthToken.objects.create(user=revops)[1]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api
