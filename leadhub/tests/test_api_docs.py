"""/api/schema/ and /api/docs/: public or for signed-in users and tokens only, by
LEADHUB_API_DOCS_PUBLIC."""

import pytest
from knox.models import AuthToken

from reps.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PATHS = ["/api/schema/", "/api/docs/"]


@pytest.mark.parametrize("path", PATHS)
def test_when_not_public_the_docs_need_a_signed_in_user_or_a_token(api, client, settings, path):
    settings.LEADHUB_API_DOCS_PUBLIC = False
    assert api.get(path).status_code in (401, 403)
    user = UserFactory()
    api.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=user)[1]}")
    assert api.get(path).status_code == 200
    client.force_login(user)
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", PATHS)
def test_when_public_anyone_reads_the_docs(api, settings, path):
    settings.LEADHUB_API_DOCS_PUBLIC = True
    assert api.get(path).status_code == 200
