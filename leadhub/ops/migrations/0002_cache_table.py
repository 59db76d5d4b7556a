"""The database cache's table (CACHES in leadhub/settings.py: the limits of
leadhub.throttles count there when REDIS_URL is not set), made by `migrate` so that a fresh
clone, `make run` and the test databases all have it. With Redis it does nothing."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    # Idempotent: it skips a table that exists, and any cache that is not a database one.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("ops", "0001_initial")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
