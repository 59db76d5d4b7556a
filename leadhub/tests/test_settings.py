import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def start(code: str = "", **env: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter, as a server process would at start-up
    (then run ``code``)."""
    own = {"DEBUG", "SECRET_KEY", "LEADHUB_ENV", "LEADHUB_API_DOCS_PUBLIC"}
    clean = {k: v for k, v in os.environ.items() if k not in own}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "leadhub.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_with_the_default_secret_key():
    result = start(LEADHUB_ENV="production", DEBUG="0", ALLOWED_HOSTS="leads.example.com")
    assert result.returncode != 0
    assert "set SECRET_KEY" in result.stderr


def test_production_refuses_to_start_with_debug_on():
    result = start(LEADHUB_ENV="production", DEBUG="1", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "DEBUG is on" in result.stderr


def test_production_starts_with_a_real_key_and_debug_off():
    result = start(LEADHUB_ENV="production", SECRET_KEY="k" * 50, ALLOWED_HOSTS="leads.example.com")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("name", "value"), [("DEBUG", "maybe"), ("CONN_MAX_AGE", "ten")])
def test_bad_environment_values_stop_the_process_with_the_variable_named(name, value):
    result = start(**{name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_debug_off_with_the_development_key_refuses_to_start_whatever_the_environment():
    result = start(DEBUG="0")
    assert result.returncode != 0
    assert "DEBUG is off but SECRET_KEY is the development key" in result.stderr
    assert start(DEBUG="0", SECRET_KEY="k" * 50).returncode == 0
    assert start(DEBUG="1").returncode == 0


@pytest.mark.parametrize(
    ("env", "public"),
    [
        ({}, "True"),
        ({"LEADHUB_ENV": "production", "SECRET_KEY": "k" * 50}, "False"),
        (
            {"LEADHUB_ENV": "production", "SECRET_KEY": "k" * 50, "LEADHUB_API_DOCS_PUBLIC": "1"},
            "True",
        ),
        ({"LEADHUB_API_DOCS_PUBLIC": "off"}, "False"),
    ],
)
def test_the_api_docs_are_public_by_default_in_development_only(env, public):
    code = "from django.conf import settings; print(settings.LEADHUB_API_DOCS_PUBLIC)"
    result = start(code, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == public


def test_sqlite_gets_the_same_options_whether_named_by_path_or_by_database_url(tmp_path):
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default']['OPTIONS'], sort_keys=True))"
    )
    db = tmp_path / "leadhub.sqlite3"
    by_path = start(code, DATABASE_URL="", SQLITE_PATH=str(db), SQLITE_BUSY_TIMEOUT="7")
    by_url = start(code, DATABASE_URL=f"sqlite:///{db}", SQLITE_BUSY_TIMEOUT="7")
    assert by_path.returncode == 0, by_path.stderr
    assert by_url.returncode == 0, by_url.stderr
    assert by_url.stdout == by_path.stdout
    options = json.loads(by_url.stdout)
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] == 7
    assert "journal_mode=WAL" in options["init_command"]
