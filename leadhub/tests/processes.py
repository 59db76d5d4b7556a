"""Real processes for the tests that exercise LeadHub's lanes, its ticker and ``make run``:
each started in a session of its own with its output in a file (a full pipe nobody reads
would stall it), stopped as a process manager would, and followed through /proc so that a
test can say "no process of it is left" and kill whatever is.

A lane (``manage.py lane NAME``) runs its cluster in a process group of its own, and
honcho gives each process a session of its own: killing one group misses the rest, so
cleanup goes by the process tree.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
MANAGE = (sys.executable, "manage.py")
# Settings of the parent that must not leak into a child: its database, its broker, and a
# make that would treat `make run` as its sub-make.
NOT_INHERITED = frozenset(
    {"DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "Q_CLUSTER_NAME", "MAKEFLAGS", "MAKELEVEL"}
)


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment without its database and broker settings, plus
    ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env["DJANGO_SETTINGS_MODULE"] = "leadhub.settings"
    env.update(extra)
    return env


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a process on this test's PostgreSQL database (pytest's
    test_<name>, whose table is also the ORM broker's queue): one worker per lane unless
    ``extra`` says otherwise."""
    url = urlsplit(os.environ["DATABASE_URL"])
    test_db = connection.settings_dict["NAME"]
    one_each = {f"LEADHUB_{lane}_WORKERS": "1" for lane in ("ROUTING", "OUTBOX", "HOUSEKEEPING")}
    return child_env(
        DATABASE_URL=urlunsplit(url._replace(path=f"/{test_db}")), **{**one_each, **extra}
    )


def start(command: Iterable[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    """Run ``command`` from the project root in a session of its own (its group's leader,
    as a terminal's foreground job is), its output in ``log``."""
    with log.open("w") as out:
        return subprocess.Popen(
            list(command),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def manage(*args: str, log: Path, env: dict[str, str]) -> subprocess.Popen:
    """``manage.py ARGS`` as a process of its own (see ``start``)."""
    return start([*MANAGE, *args], log, env)


class Proc(NamedTuple):
    """A process as /proc knows it: the start time tells a reused pid from the original."""

    pid: int
    started: int


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of ``pid``, or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[19])


def descendants(pid: int) -> set[Proc]:
    """``pid`` and every process below it now (not the ones already re-parented)."""
    children: dict[int, list[Proc]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            children.setdefault(stat[1], []).append(Proc(int(entry.name), stat[2]))
    root = _stat(pid)
    found = {Proc(pid, root[2])} if root is not None else set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child.pid)
    return found


def cmdline(pid: int) -> str:
    """The command line of ``pid``, for an assertion's message."""
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    return "?"


def is_alive(proc: Proc) -> bool:
    """True while ``proc`` runs (a zombie has finished: only its exit status is left)."""
    stat = _stat(proc.pid)
    return stat is not None and stat[2] == proc.started and stat[0] not in {"Z", "X"}


class Tree:
    """Every process ever seen below ``root``. A process whose parent dies is re-parented
    outside the tree, so ``watch`` (call it often, and whenever processes were started)
    remembers all it has seen."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.seen: set[Proc] = set()

    def watch(self) -> None:
        self.seen |= descendants(self.root)

    def alive(self) -> list[Proc]:
        return sorted(proc for proc in self.seen if is_alive(proc))

    def kill(self) -> None:
        for proc in self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc`` and every process below it, as a power cut would."""
    tree = Tree(proc.pid)
    tree.watch()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    tree.kill()
    proc.wait(timeout=10)


def stop(procs: Iterable[subprocess.Popen], seconds: float = 15) -> None:
    """SIGTERM each process (a lane's wrapper stops its cluster, which stops its workers),
    then SIGKILL whatever of their trees is left after ``seconds``."""
    procs = list(procs)
    trees = [Tree(proc.pid) for proc in procs]
    for proc, tree in zip(procs, trees, strict=True):
        tree.watch()
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + seconds
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    for proc, tree in zip(procs, trees, strict=True):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        tree.kill()
        proc.wait(timeout=10)


def wait_for(
    condition: Callable[[], object],
    seconds: float,
    what: str,
    *,
    procs: Iterable[subprocess.Popen] = (),
    every: float = 0.1,
    logs: Path | None = None,
) -> float:
    """Poll ``condition`` until it holds; returns the seconds it took. AssertionError
    (saying ``what`` was awaited) after ``seconds``, or as soon as one of ``procs`` has
    exited; with the ends of the logs in ``logs``, if given."""
    procs = list(procs)
    started = time.monotonic()
    while not condition():
        exited = [proc.args for proc in procs if proc.poll() is not None]
        if exited or time.monotonic() - started >= seconds:
            problem = f"exited: {exited}" if exited else f"not within {seconds} s"
            raise AssertionError(f"{problem}: {what}\n" + (logs_of(logs) if logs else ""))
        time.sleep(every)
    return time.monotonic() - started


def logs_of(folder: Path, chars: int = 4000) -> str:
    """The end of every ``*.log`` in ``folder``, for an assertion's message."""
    return "\n".join(
        f"--- {log.name}\n{log.read_text(errors='replace')[-chars:]}"
        for log in sorted(folder.glob("*.log"))
    )
