"""The django-q2 worker that `make run` starts really runs LeadHub's tasks, on the ORM
broker (the default) and on Redis (REDIS_URL). Everything else in the suite runs tasks
inline; these tests start a real `qcluster` process."""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ENQUEUE_AND_WAIT = """
import django
django.setup()
from datetime import timedelta
from django.utils import timezone
from django_q.tasks import async_task, fetch
from leadhub.leads.models import IdempotencyRecord
IdempotencyRecord.objects.create(scope="user:1", key="old",
                                 created_at=timezone.now() - timedelta(days=3))
task_id = async_task("leadhub.leads.tasks.idempotency_purge")
task = fetch(task_id, wait=30_000)
assert task is not None, "the worker did not run the task within 30 s"
assert task.success, task.result
print(task.result)
"""


@pytest.mark.parametrize("broker", ["orm", "redis"])
def test_qcluster_runs_a_task_enqueued_by_the_app(tmp_path, broker):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(SQLITE_PATH=str(tmp_path / "lh.sqlite3"), DJANGO_SETTINGS_MODULE="leadhub.settings")
    if broker == "redis":
        # A database number of its own, so a developer's running LeadHub is not disturbed.
        env["REDIS_URL"] = "redis://127.0.0.1:6379/13"
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        client = subprocess.run(
            [sys.executable, "-c", ENQUEUE_AND_WAIT],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    finally:
        # The cluster's main process stops its workers itself (signalling the whole group
        # at once leaves it waiting for children that are gone); whatever is left after
        # that is killed.
        worker.send_signal(signal.SIGTERM)
        try:
            _, worker_err = worker.communicate(timeout=30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
    assert client.returncode == 0, client.stderr + worker_err
    assert client.stdout.strip() == "1"
