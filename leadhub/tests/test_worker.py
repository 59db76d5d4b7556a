"""The lanes that `make run` starts really run LeadHub's tasks, on the ORM broker (the
default) and on Redis (REDIS_URL). Everything else in the suite runs tasks inline; this
test starts the three lanes (``manage.py lane NAME``) as real processes on a SQLite
database of their own.

A task queued with ``leadhub.lanes.enqueue(lane, ...)`` runs in a worker of that lane's
cluster and of no other: each lane is asked for its worker's pid, which must be a process
of that lane's tree. The housekeeping lane also runs the hourly purge for real, and each
lane's heartbeat row appears."""

import json
import shutil
import sys
from pathlib import Path

import pytest
import redis

from leadhub import lanes
from leadhub.tests.processes import Tree, child_env, logs_of, manage, start, stop

REDIS_URL = "redis://127.0.0.1:6379/13"  # a database of its own: a running LeadHub's stays
WAIT_MS = 60_000  # for each task: three clusters start at once on a busy machine

ENQUEUE_AND_WAIT = f"""
import json, time
import django
django.setup()
from datetime import timedelta
from django.utils import timezone
from django_q.tasks import fetch
from leadhub import lanes
from leadhub.leads.models import IdempotencyRecord
from leadhub.ops.models import Heartbeat

IdempotencyRecord.objects.create(scope="user:1", key="old",
                                 created_at=timezone.now() - timedelta(days=3))
# save=True: a lane may keep no record of its successes (save_limit); these need one.
ids = {{lane: lanes.enqueue(lane, "os.getpid", save=True) for lane in lanes.LANES}}
ids["purge"] = lanes.enqueue(lanes.HOUSEKEEPING, "leadhub.ops.tasks.purge_old_rows", save=True)
results = {{}}
for name, task_id in ids.items():
    task = fetch(task_id, wait={WAIT_MS})
    assert task is not None, f"no worker ran the {{name}} task within {WAIT_MS} ms"
    assert task.success, task.result
    results[name] = task.result
# The beat is stamped by each cluster's sentinel; its workers ran the tasks, so it runs.
deadline = time.monotonic() + 10
while Heartbeat.objects.count() < len(lanes.LANES) and time.monotonic() < deadline:
    time.sleep(0.2)
results["heartbeats"] = sorted(Heartbeat.objects.values_list("name", flat=True))
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """A migrated SQLite database, copied by each test (migrating takes seconds)."""
    path = tmp_path_factory.mktemp("db") / "lh.sqlite3"
    log = path.with_suffix(".log")
    proc = manage("migrate", "-v0", log=log, env=child_env(SQLITE_PATH=str(path)))
    assert proc.wait(timeout=120) == 0, log.read_text()
    return path


@pytest.mark.parametrize("broker", ["orm", "redis"])
def test_a_task_enqueued_in_each_lane_runs_in_that_lanes_workers(migrated, tmp_path, broker):
    db = tmp_path / "lh.sqlite3"
    shutil.copy(migrated, db)
    extra = {"SQLITE_PATH": str(db)}
    if broker == "redis":
        extra["REDIS_URL"] = REDIS_URL
        # Tasks a failed run left behind would run in this one.
        redis.Redis.from_url(REDIS_URL).delete(
            *(f"django_q:{lanes.cluster_of(lane)}:q" for lane in lanes.LANES)
        )
    env = child_env(**extra)
    workers = {
        lane: manage("lane", lane, log=tmp_path / f"lane-{lane}.log", env=env)
        for lane in lanes.LANES
    }
    trees = {lane: Tree(proc.pid) for lane, proc in workers.items()}
    client = start([sys.executable, "-c", ENQUEUE_AND_WAIT], tmp_path / "client.log", env)
    try:
        client.wait(timeout=WAIT_MS / 1000 * 2)
        for tree in trees.values():
            tree.watch()
    finally:
        stop([client, *workers.values()])
    output = (tmp_path / "client.log").read_text()
    assert client.returncode == 0, output + logs_of(tmp_path)
    results = json.loads(output.strip().splitlines()[-1])

    pids = {lane: {proc.pid for proc in tree.seen} for lane, tree in trees.items()}
    for lane in lanes.LANES:
        ran_in = [other for other in lanes.LANES if results[lane] in pids[other]]
        assert ran_in == [lane], f"the {lane} task ran in {ran_in or 'no lane'}"
    assert results["purge"] == {"notifications": 0, "task records": 0, "idempotency keys": 1}
    assert results["heartbeats"] == sorted(f"lane:{lane}" for lane in lanes.LANES)
