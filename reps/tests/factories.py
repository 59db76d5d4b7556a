import factory
from django.contrib.auth import get_user_model

from reps.models import Rep, Team


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
