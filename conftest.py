"""Suite-wide test setup.

Under CI=true a skipped test is a failure, with one exception: a test marked ``postgres``
is skipped on the SQLite run (it runs again on the PostgreSQL run, where it may not skip).
"""

import os

import pytest
from django.db import connection

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
NEEDS_POSTGRES = "needs PostgreSQL"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason=f"{NEEDS_POSTGRES} (run with DATABASE_URL)"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (CI and report.skipped):
        return
    reason = (
        str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    )
    if NEEDS_POSTGRES in reason and connection.vendor != "postgresql":
        return
    report.outcome = "failed"
    report.longrepr = f"Skipped under CI=true, which counts as a failure: {reason}"


@pytest.fixture(autouse=True)
def _fresh_routing_world():
    """Each test starts without another test's cached routing inputs (routing.world): a
    rolled-back test can leave the stamp token as it found it."""
    from routing import world

    world.forget()
    yield
    world.forget()


@pytest.fixture(autouse=True)
def _fresh_limit_counts(settings):
    """Each test starts with nothing counted against the limits (leadhub.throttles): the
    shared cache outlives a test's rollback (Redis, and the database cache's table, which
    a transaction test's flush leaves alone), so each test gets keys of its own."""
    import uuid

    settings.CACHES = {
        name: {**config, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
        for name, config in settings.CACHES.items()
    }


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def revops_api(db, api):
    from reps.tests.factories import UserFactory

    user = UserFactory(is_staff=True)
    api.force_authenticate(user)
    api.user = user
    return api
