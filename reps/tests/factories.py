from datetime import UTC, date, datetime, time, timedelta

import factory
from django.contrib.auth import get_user_model

from reps.models import Holiday, HolidayCalendar, Rep, Skill, Team, TimeOff, WorkingHours


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests-only")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")
    region = "NA"
    timezone = "America/New_York"


class RepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rep

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = Rep.Role.REP
    timezone = "America/New_York"


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Skill
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"skill_{n}")


class HolidayCalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HolidayCalendar
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Calendar {n}")


class HolidayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Holiday

    calendar = factory.SubFactory(HolidayCalendarFactory)
    date = factory.Sequence(lambda n: date(2026, 1, 1) + timedelta(days=n))
    name = "Holiday"


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingHours

    rep = factory.SubFactory(RepFactory)
    weekday = 0
    start = time(9)
    end = time(17)


class TimeOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeOff

    rep = factory.SubFactory(RepFactory)
    start = datetime(2026, 12, 21, tzinfo=UTC)
    end = factory.LazyAttribute(lambda t: t.start + timedelta(days=5))
    reason = "Vacation"
