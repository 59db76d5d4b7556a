"""API clients for permission tests, one per kind of caller."""

from rest_framework.test import APIClient

from leadhub.leads.models import IntakeKey
from reps.models import Rep


def client_as(world: dict, who: str) -> APIClient:
    """A client signed in as ``world[who]`` (a Rep or a user), or holding a fresh intake
    key (``who="intake_key"``), or nobody (``who="anonymous"``)."""
    client = APIClient()
    if who == "intake_key":
        key = IntakeKey(name="Website")
        raw = key.set_new_key()
        key.save()
        client.credentials(HTTP_X_API_KEY=raw)
    elif who != "anonymous":
        user = world[who]
        client.force_authenticate(user.user if isinstance(user, Rep) else user)
    return client
