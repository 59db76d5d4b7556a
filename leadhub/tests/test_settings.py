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
    own = {
        "DEBUG",
        "SECRET_KEY",
        "LEADHUB_ENV",
        "LEADHUB_API_DOCS_PUBLIC",
        "DATABASE_URL",
        "LEADHUB_ALLOW_SQLITE_IN_PRODUCTION",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
    }
    clean = {k: v for k, v in os.environ.items() if k not in own}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "leadhub.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


# Production as deployed: PostgreSQL (only parsed at start-up: nothing connects to it).
PG = {"DATABASE_URL": "postgres://leadhub:pw@db.example.com:5432/leadhub"}


def test_production_refuses_to_start_with_the_default_secret_key():
    result = start(LEADHUB_ENV="production", DEBUG="0", ALLOWED_HOSTS="leads.example.com")
    assert result.returncode != 0
    assert "set SECRET_KEY" in result.stderr


def test_production_refuses_to_start_with_debug_on():
    result = start(LEADHUB_ENV="production", DEBUG="1", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "DEBUG is on" in result.stderr


def test_production_starts_with_a_real_key_and_debug_off():
    result = start(
        LEADHUB_ENV="production", SECRET_KEY="k" * 50, ALLOWED_HOSTS="leads.example.com", **PG
    )
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
        ({"LEADHUB_ENV": "production", "SECRET_KEY": "k" * 50, **PG}, "False"),
        (
            {
                "LEADHUB_ENV": "production",
                "SECRET_KEY": "k" * 50,
                "LEADHUB_API_DOCS_PUBLIC": "1",
                **PG,
            },
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


def production(**env: str) -> dict[str, str]:
    """A production environment as a deployment sets it: a random key, its host, a database."""
    key = "Vq3-" + "".join(chr(ord("a") + i % 26) + str(i % 10) for i in range(30))
    return {
        "LEADHUB_ENV": "production",
        "SECRET_KEY": key,
        "ALLOWED_HOSTS": "leads.example.com",
        **PG,
        **env,
    }


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    own = {"DEBUG", "DJANGO_SETTINGS_MODULE", "LEADHUB_ALLOW_SQLITE_IN_PRODUCTION"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k not in own}, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_is_clean_in_production():
    security = manage(
        "check", "--deploy", "--tag", "security", "--fail-level", "DEBUG", **production()
    )
    everything = manage("check", "--deploy", **production())

    assert security.returncode == 0, security.stderr
    assert "no issues" in security.stdout
    assert everything.returncode == 0, everything.stderr
    assert "security." not in everything.stdout + everything.stderr


def test_check_deploy_does_find_a_weak_setting():
    """The check above can fail: HSTS turned off is reported."""
    result = manage("check", "--deploy", "--tag", "security", **production(SECURE_HSTS_SECONDS="0"))

    assert "security.W004" in result.stdout + result.stderr


def test_production_sends_hsts_and_redirects_to_https_by_default():
    code = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps([s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
        " s.SECURE_HSTS_PRELOAD, s.SECURE_SSL_REDIRECT,"
        " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE]))"
    )
    in_production = start(code, **production())
    in_development = start(code)
    turned_down = start(code, **production(SECURE_HSTS_SECONDS="3600", SECURE_HSTS_PRELOAD="false"))

    assert json.loads(in_production.stdout) == [31536000, True, True, True, True, True]
    assert json.loads(in_development.stdout)[:4] == [0, False, False, False]
    assert json.loads(turned_down.stdout)[:4] == [3600, True, False, True]


def test_production_refuses_sqlite_unless_allowed(tmp_path):
    db = f"sqlite:///{tmp_path / 'leadhub.sqlite3'}"
    for env in ({"DATABASE_URL": ""}, {"DATABASE_URL": db}):
        refused = start(**production(**env))
        assert refused.returncode != 0
        assert "ImproperlyConfigured" in refused.stderr
        assert "production with SQLite" in refused.stderr
        assert "LEADHUB_ALLOW_SQLITE_IN_PRODUCTION=true" in refused.stderr
    allowed = start(**production(DATABASE_URL=db, LEADHUB_ALLOW_SQLITE_IN_PRODUCTION="true"))
    assert allowed.returncode == 0, allowed.stderr
    assert start(DATABASE_URL=db).returncode == 0  # development: SQLite is the default


@pytest.mark.parametrize(("name", "value"), [("LEADHUB_API_TOKEN_TTL_DAYS", "0")])
def test_an_api_token_lifetime_under_a_day_stops_the_process(name, value):
    result = start(**{name: value})
    assert result.returncode != 0
    assert name in result.stderr
