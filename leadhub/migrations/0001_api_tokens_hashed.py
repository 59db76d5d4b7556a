"""DRF's plaintext API tokens (the ``authtoken_token`` table) become django-rest-knox
tokens: only each token's SHA-512 digest is kept, so clients keep the token they hold and
keep sending ``Authorization: Token <token>`` until it expires, LEADHUB_API_TOKEN_TTL_DAYS
from this migration (then they sign in again). The plaintext table is dropped, and with it
the ``authtoken`` app's migration records (the app is no longer installed).

A database that never had DRF's tokens (a new install, the tests) has nothing to move.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

AUTHTOKEN_TABLE = "authtoken_token"


def hash_authtoken_tokens(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS

    connection = schema_editor.connection
    if AUTHTOKEN_TABLE not in connection.introspection.table_names():
        return
    AuthToken = apps.get_model("knox", "AuthToken")
    table = schema_editor.quote_name(AUTHTOKEN_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {schema_editor.quote_name('key')}, user_id FROM {table}")  # noqa: S608
        rows = cursor.fetchall()
    expiry = timezone.now() + settings.REST_KNOX["TOKEN_TTL"]
    AuthToken.objects.bulk_create(
        [
            AuthToken(
                digest=hash_token(key),
                token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
                user_id=user_id,
                expiry=expiry,
            )
            for key, user_id in rows
        ],
        ignore_conflicts=True,
    )
    schema_editor.execute(f"DROP TABLE {table}")
    schema_editor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])


class Migration(migrations.Migration):
    dependencies = [("knox", "0009_extend_authtoken_field")]

    operations = [
        # Backwards: the plaintext cannot be recovered from a digest; nothing to undo.
        migrations.RunPython(hash_authtoken_tokens, migrations.RunPython.noop, elidable=True),
    ]
