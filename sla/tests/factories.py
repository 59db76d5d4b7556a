import factory

from reps.tests.factories import TeamFactory
from sla.models import Event, SlackWebhook, WebhookSubscription


class WebhookSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookSubscription

    name = factory.Sequence(lambda n: f"Subscriber {n}")
    url = factory.Sequence(lambda n: f"http://127.0.0.1:9/hook/{n}")
    events = factory.LazyFunction(lambda: list(Event.values))


class SlackWebhookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SlackWebhook

    url = factory.Sequence(lambda n: f"http://127.0.0.1:9/slack/{n}")
    team = factory.SubFactory(TeamFactory)
