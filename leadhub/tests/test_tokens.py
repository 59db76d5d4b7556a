"""API tokens (leadhub.api_tokens, django-rest-knox): stored as digests, expiring, revocable
by signing out or in the admin; DRF's old plaintext tokens are moved by a migration."""

import hashlib
import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIRequestFactory

from leadhub.token_auth import TokenAuthentication
from reps.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "s3cret-pass"


@pytest.fixture
def user():
    return UserFactory(username="ops", password=PASSWORD, is_staff=True)


def sign_in(api, username="ops", password=PASSWORD):
    return api.post("/api/auth/token/", {"username": username, "password": password}, format="json")


def as_token(api, token):
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def test_the_token_is_shown_once_with_its_expiry_and_only_its_digest_is_stored(api, user):
    response = sign_in(api)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expiry"}
    token = body["token"]
    assert len(token) == 64
    stored = AuthToken.objects.get(user=user)
    assert stored.digest == hashlib.sha512(token.encode()).hexdigest()
    # Nowhere in the table: every column of every row, as the database holds it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM knox_authtoken")
        cells = [str(cell) for row in cursor.fetchall() for cell in row]
    assert cells and not any(token in cell for cell in cells)
    assert stored.token_key == token[:15]  # the look-up prefix, a quarter of the token
    expiry = timezone.datetime.fromisoformat(body["expiry"])
    assert abs(expiry - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert as_token(api, token).get("/api/leads/").status_code == 200


def test_the_expiry_is_the_setting(api, user, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": timedelta(days=2)}

    body = sign_in(api).json()

    expiry = timezone.datetime.fromisoformat(body["expiry"])
    assert abs(expiry - (timezone.now() + timedelta(days=2))) < timedelta(minutes=1)


def test_an_expired_token_is_refused_and_deleted(api, user):
    token = sign_in(api).json()["token"]
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(seconds=1))

    response = as_token(api, token).get("/api/leads/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    assert not AuthToken.objects.filter(user=user).exists()


def test_signing_in_again_deletes_the_users_expired_tokens(api, user):
    AuthToken.objects.create(user=user, expiry=timedelta(days=-1))
    kept, _ = AuthToken.objects.create(user=user)

    sign_in(api)

    assert AuthToken.objects.filter(user=user).count() == 2
    assert AuthToken.objects.filter(pk=kept.pk).exists()
    assert not AuthToken.objects.filter(user=user, expiry__lte=timezone.now()).exists()


def test_a_token_is_checked_in_one_query(user, django_assert_num_queries):
    token = AuthToken.objects.create(user=user)[1]
    AuthToken.objects.create(user=user, expiry=timedelta(days=-1))  # another, expired
    request = APIRequestFactory().get("/api/leads/", HTTP_AUTHORIZATION=f"Token {token}")

    with django_assert_num_queries(1):
        authenticated, _ = TokenAuthentication().authenticate(request)

    assert authenticated == user


def test_an_inactive_users_token_is_refused(api, user):
    token = AuthToken.objects.create(user=user)[1]
    user.is_active = False
    user.save()

    assert as_token(api, token).get("/api/leads/").status_code == 401


def test_logout_revokes_the_token_it_is_sent_with_and_no_other(api, user):
    first, second = sign_in(api).json()["token"], sign_in(api).json()["token"]

    assert as_token(api, first).post("/api/auth/logout/").status_code == 204

    assert as_token(api, first).get("/api/leads/").status_code == 401
    assert as_token(api, second).get("/api/leads/").status_code == 200


def test_logout_all_revokes_every_token_of_the_user_and_only_theirs(api, user):
    mine = [sign_in(api).json()["token"] for _ in range(2)]
    other = AuthToken.objects.create(user=UserFactory(is_staff=True))[1]

    assert as_token(api, mine[0]).post("/api/auth/logout-all/").status_code == 204

    assert [as_token(api, t).get("/api/leads/").status_code for t in mine] == [401, 401]
    assert as_token(api, other).get("/api/leads/").status_code == 200


def test_logout_needs_a_token(api, user):
    assert api.post("/api/auth/logout/").status_code == 401
    api.force_authenticate(user)  # a session user has no token to revoke
    assert api.post("/api/auth/logout/").status_code == 401


def test_the_admin_shows_digests_never_a_token_and_deleting_revokes(api, admin_client, user):
    token = sign_in(api).json()["token"]
    stored = AuthToken.objects.get(user=user)

    listing = admin_client.get(reverse("admin:knox_authtoken_changelist"))
    page = admin_client.get(reverse("admin:knox_authtoken_change", args=[stored.pk]))

    assert listing.status_code == page.status_code == 200
    assert stored.digest in listing.content.decode()
    assert token not in listing.content.decode() and token not in page.content.decode()
    deleted = admin_client.post(
        reverse("admin:knox_authtoken_delete", args=[stored.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert as_token(api, token).get("/api/leads/").status_code == 401


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"username": "ops", "password": "nope"}, "non_field_errors"),
        ({"username": "ops"}, "password"),
        ({"password": PASSWORD}, "username"),
        ({"username": "o\x00ps", "password": PASSWORD}, "username"),
        ({"username": "o" * 100_000, "password": PASSWORD}, "username"),
        ({"username": ["ops"], "password": PASSWORD}, "username"),
        ({"username": 10**400, "password": PASSWORD}, "username"),
    ],
)
def test_bad_credentials_are_a_400_naming_the_field_and_issue_no_token(api, user, data, field):
    response = api.post("/api/auth/token/", data, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not AuthToken.objects.exists()


@pytest.mark.django_db(transaction=True)  # SQLite's schema editor runs outside a transaction
def test_drf_plaintext_tokens_are_moved_to_digests_and_keep_working(api, user):
    """The migration over a database that still has DRF's ``authtoken_token`` table."""
    migration = importlib.import_module("leadhub.migrations.0001_api_tokens_hashed")
    key = "0123456789abcdef0123456789abcdef01234567"  # DRF's shape: 40 hex characters
    with connection.schema_editor() as editor:
        editor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp "
            "with time zone NOT NULL, user_id integer NOT NULL)"
        )
        editor.execute(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
            [key, timezone.now(), user.pk],
        )
        editor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, %s)",
            ["authtoken", "0001_initial", timezone.now()],
        )
        from django.apps import apps

        migration.hash_authtoken_tokens(apps, editor)

    assert "authtoken_token" not in connection.introspection.table_names()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'authtoken'")
        assert cursor.fetchone() == (0,)
    stored = AuthToken.objects.get(user=user)
    assert stored.digest == hashlib.sha512(key.encode()).hexdigest()
    assert stored.expiry > timezone.now() + timedelta(days=29)
    assert as_token(api, key).get("/api/leads/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_migration_has_nothing_to_do_without_drfs_table(user):
    migration = importlib.import_module("leadhub.migrations.0001_api_tokens_hashed")
    from django.apps import apps

    with connection.schema_editor() as editor:
        migration.hash_authtoken_tokens(apps, editor)

    assert not AuthToken.objects.exists()
