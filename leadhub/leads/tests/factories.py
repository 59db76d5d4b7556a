import factory

from leadhub.leads.models import Account, EnrichmentRecord, Lead, ScoringRule, WebForm


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"lead{n}@prospect{n}.example")
    email_domain = factory.LazyAttribute(lambda o: o.email.rpartition("@")[2])
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
    country = "US"
    source = "website"


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")
    name_key = factory.LazyAttribute(lambda o: o.name.lower())


class EnrichmentRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EnrichmentRecord

    domain = factory.Sequence(lambda n: f"enriched{n}.example")
    company = factory.Sequence(lambda n: f"Enriched {n}")
    industry = "Software"
    employees = 800
    country = "DE"


class ScoringRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScoringRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    field = "employees"
    operator = "gte"
    value = "1000"
    points = 20


class WebFormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebForm

    name = "Contact us"
    slug = factory.Sequence(lambda n: f"contact-{n}")
    fields = ["email", "first_name", "last_name", "company", "country", "message"]
    required_fields = ["email"]
    source = "contact_form"
    allowed_origins = "https://www.example.com"
