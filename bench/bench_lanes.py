"""Lanes benchmark: every process of the Procfile under production load, on PostgreSQL.

    .venv/bin/python bench/bench_lanes.py                          # the full run (~15 min)
    .venv/bin/python bench/bench_lanes.py --broker orm --db empty --seconds 10   # a smoke run

For each scenario (``--broker`` orm, redis or both, and ``--db`` loaded, empty or both) a child
process of this script makes a throwaway database ``lh_bench_<pid>`` on
postgres://postgres@127.0.0.1:5432 (``--pg-url``), dropped at the end, and migrates it:

- **loaded**: ``seed_demo`` (the demo month), the reps' caps lifted (the demo's reps take
  5-15 leads a day: 3,000 leads a minute would send nearly all of them to the fallbacks),
  ``--notifications`` (100,000) pending webhook rows to a loopback endpoint, due now, and
  ``--reminders`` (10,000) assigned leads with a running accept clock whose reminder is due
  when the leads start (their ``next_at`` is set to that moment; before it, an hour ahead);
- **empty**: bench_assign.py's routing set-up (20 reps, 4 pools, 10 rules), no history, no
  SLA policy (so no SLA step to time).

In both, one webhook subscription to ``lead.assigned`` points at the loopback endpoint
(a ThreadingHTTPServer in this process on 127.0.0.1 that answers 200 after
``--endpoint-seconds``, 2 s), so every lead of the run adds a delivery; emails go to
Django's dummy backend. Then every Procfile process (web: gunicorn; routing, outbox,
housekeeping lanes; ticker) runs through ``honcho start`` with DATABASE_URL, REDIS_URL for
Redis (``--redis-url``, redis://127.0.0.1:6379/14, flushed before and after), DEBUG off.

After a warm-up (every heartbeat fresh, 10 leads assigned, no SLA step due), leads are
POSTed to ``/api/leads/`` over HTTP with a staff token at ``--rate`` per second for
``--seconds``, open loop (each at its fixed time, from ``--clients`` threads, never waiting
for an earlier answer); the run then waits for every lead to be decided and every reminder
to be done (at most ``--drain`` seconds). Measured:

- capture → assigned: ``assigned_at - captured_at`` of each lead of the run (the HTTP
  round trip is printed apart); targets p50 <= 100 ms, p99 <= 300 ms (ORM), p99 <= 50 ms
  (Redis);
- SLA step lateness: each SLA step done from the start of the leads (its ``LeadEvent`` of kind
  ``sla``: ``at`` is the sweep batch's time) minus when it was due (a reminder: the clock's
  ``next_at`` before the step, read at the start and every 0.5 s for new clocks; a breach:
  the clock's ``due_at``); target p99 <= 20 s;
- every 0.5 s: each lane's queue (ORM: ``django_q_ormq`` rows of its key whose lock has
  passed, i.e. waiting, as django-q's ``queue_size``; Redis: LLEN of
  ``django_q:<cluster>:q``), the outbox rows due (email, Slack, webhook; pending, failed or
  sending with an expired lease; next attempt passed) and in flight (sending, lease held);
  target: the outbox queue never holds more than due + in flight (the routing queue is
  held to the leads still ``new``, plus one sweep task);
- the baseline: ``Lead.objects.create`` of one lead (a bare INSERT in autocommit) from this
  process, 200 times before the processes start and every 0.2 s during the run.

Only loopback addresses are used; every loop is bounded; the processes are stopped with
SIGINT to honcho and checked gone by pid (any left is reported and killed), the database
dropped and the Redis DB flushed, on failure and Ctrl-C too.
"""

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_intake import database_version, in_throwaway_database, percentile

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
TARGET_P50, TARGET_P99_ORM, TARGET_P99_REDIS = 0.100, 0.300, 0.050
TARGET_LATENESS_P99 = 20.0
SAMPLE_EVERY = 0.5
BARE_EVERY = 0.2
LANE_CLUSTERS = {"routing": "routing", "outbox": "outbox", "housekeeping": "leadhub"}
HEARTBEATS = ("lane:routing", "lane:outbox", "lane:housekeeping", "ticker")
# Payloads the demo's playbook assigns: a company domain (not free mail, no account), a
# country with a territory pool (no German or French speakers: the language pool), under
# 1,000 employees (not Enterprise) and a senior title (scored out of the nurture band).
DEMO_COUNTRIES = ["US", "US", "US", "CA", "GB", "NL", "SE", "JP", "AU", "SG"]
DEMO_TITLES = ["VP Sales", "Head of Revenue", "Director of Operations", "CTO"]


# --- The parent: one child process per scenario, then the table --------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--broker", choices=["orm", "redis", "both"], default="both")
    parser.add_argument("--db", choices=["loaded", "empty", "both"], default="both")
    parser.add_argument("--rate", type=float, default=50.0, help="leads per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long leads arrive")
    parser.add_argument("--notifications", type=int, default=100_000, help="loaded only")
    parser.add_argument("--reminders", type=int, default=10_000, help="loaded only")
    parser.add_argument("--endpoint-seconds", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=48, help="client threads")
    parser.add_argument("--drain", type=float, default=120.0, help="max wait after the leads")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--keep-logs", action="store_true", help="keep the honcho logs")
    parser.add_argument(
        "--route-at-capture",
        choices=["on", "off"],
        default="on",
        help="LEADHUB_ROUTE_AT_CAPTURE of every process: on (the default) routes each lead in "
        "the web process after its commit; off measures the routing lane",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)  # broker:db
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        child(args)
        return
    brokers = ["orm", "redis"] if args.broker == "both" else [args.broker]
    dbs = ["loaded", "empty"] if args.db == "both" else [args.db]
    print(
        f"bench_lanes: {args.rate:g} leads/s for {args.seconds:g} s; loaded = demo month + "
        f"{args.notifications:,} webhook rows + {args.reminders:,} due reminders; endpoint "
        f"answers after {args.endpoint_seconds:g} s; routing at capture "
        f"{args.route_at_capture}; {os.cpu_count()} CPUs, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    results = []
    for broker in brokers:
        for db in dbs:
            with tempfile.NamedTemporaryFile(prefix="lh_bench_lanes_", suffix=".json") as out:
                argv = [sys.executable, __file__, *sys.argv[1:], "--child", f"{broker}:{db}"]
                argv += ["--result", out.name]
                print(f"\n== {broker} broker, {db} database", flush=True)
                code = subprocess.run(argv, check=False).returncode  # noqa: S603 (ourselves)
                text = Path(out.name).read_text()
                if code != 0 or not text:
                    print(f"   (scenario failed: exit {code})")
                    continue
                results.append(json.loads(text))
    if results:
        print_table(results)


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:,.0f} ms"


def fmt_s(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} s"


def verdict(ok: bool | None) -> str:
    return "" if ok is None else (" PASS" if ok else " MISS")


def both(a: str, b: str) -> str:
    return f"{a} / {b}"


def late_ok(r: dict[str, Any]) -> bool | None:
    p99 = r["lateness"].get("p99")
    return None if p99 is None else p99 <= TARGET_LATENESS_P99


def assigned_ok(r: dict[str, Any], pct: str) -> bool | None:
    value = r["assigned"].get(pct)
    if value is None or (pct == "p50" and r["broker"] != "orm"):
        return None
    if pct == "p50":
        return value <= TARGET_P50
    return value <= (TARGET_P99_ORM if r["broker"] == "orm" else TARGET_P99_REDIS)


# (label, target, the cell of one scenario's result)
TABLE: list[tuple[str, str, Any]] = [
    ("leads sent (late > 20 ms)", "", lambda r: f"{r['sent']:,} ({r['late']:,})"),
    ("HTTP answers", "all 201", lambda r: ", ".join(f"{k}: {v:,}" for k, v in r["codes"].items())),
    (
        "assigned / otherwise / new",
        "",
        lambda r: f"{r['n_assigned']:,} / {r['n_other']:,} / {r['n_new']:,}",
    ),
    (
        "HTTP round trip p50 / p99",
        "",
        lambda r: both(fmt_ms(r["http"]["p50"]), fmt_ms(r["http"]["p99"])),
    ),
    (
        "capture → assigned p50",
        "≤ 100 ms (ORM)",
        lambda r: fmt_ms(r["assigned"]["p50"]) + verdict(assigned_ok(r, "p50")),
    ),
    ("capture → assigned p90", "", lambda r: fmt_ms(r["assigned"]["p90"])),
    (
        "capture → assigned p99",
        "≤ 300 ms ORM, ≤ 50 ms Redis",
        lambda r: fmt_ms(r["assigned"]["p99"]) + verdict(assigned_ok(r, "p99")),
    ),
    ("capture → assigned max", "", lambda r: fmt_ms(r["assigned"]["max"])),
    (
        "SLA steps timed (due unknown)",
        "",
        lambda r: f"{r['lateness']['n']:,} ({r['lateness']['unknown']:,})",
    ),
    ("SLA lateness p50", "", lambda r: fmt_s(r["lateness"]["p50"])),
    ("SLA lateness p99", "≤ 20 s", lambda r: fmt_s(r["lateness"]["p99"]) + verdict(late_ok(r))),
    ("SLA lateness max", "", lambda r: fmt_s(r["lateness"]["max"])),
    ("all reminders seen done at t0 +", "", lambda r: fmt_s(r["reminders_done_at"])),
    *(
        (f"max queue: {lane}", "", lambda r, lane=lane: f"{r['max_queue'][lane]:,}")
        for lane in LANE_CLUSTERS
    ),
    (
        "outbox due / in flight (max)",
        "",
        lambda r: both(f"{r['max_due']:,}", f"{r['max_inflight']:,}"),
    ),
    (
        "outbox queue > due + in flight",
        "never",
        lambda r: f"{r['over_outbox']} of {r['samples']}" + verdict(r["over_outbox"] == 0),
    ),
    (
        "routing queue > new leads + 1",
        "never",
        lambda r: f"{r['over_routing']} of {r['samples']}" + verdict(r["over_routing"] == 0),
    ),
    ("webhooks answered by endpoint", "", lambda r: f"{r['webhooks']:,}"),
    (
        "bare INSERT p50 / p99, idle",
        "",
        lambda r: both(fmt_ms(r["bare_idle"]["p50"]), fmt_ms(r["bare_idle"]["p99"])),
    ),
    (
        "bare INSERT p50 / p99, in the run",
        "",
        lambda r: both(fmt_ms(r["bare_load"]["p50"]), fmt_ms(r["bare_load"]["p99"])),
    ),
    ("machine busy while leads arrive", "", lambda r: f"{r['cpu']['machine_busy']:.0%}"),
    (
        "CPU s: web/routing/outbox/ticker/pg",
        "",
        lambda r: "/".join(
            f"{r['cpu']['by_process'].get(k, 0):.0f}"
            for k in ("web", "routing", "outbox", "ticker", "postgres (all)")
        ),
    ),
    ("CPU s: not this run's", "", lambda r: f"{r['cpu']['others']:.0f}"),
    (
        "processes left after stop",
        "none",
        lambda r: str(r["leftover"]) + verdict(r["leftover"] == 0),
    ),
]


def print_table(results: list[dict[str, Any]]) -> None:
    heads = [f"{'ORM' if r['broker'] == 'orm' else 'Redis'} {r['db']}" for r in results]
    rows = [(label, target, [cell(r) for r in results]) for label, target, cell in TABLE]
    w0 = max(len(label) for label, _t, _c in rows)
    w1 = max(len(target) for _l, target, _c in rows)
    widths = [max(len(h), *(len(cells[i]) for _l, _t, cells in rows)) for i, h in enumerate(heads)]

    def line(first: str, second: str, cells: list[str]) -> str:
        columns = "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))
        return f"{first:<{w0}}  {second:<{w1}}  {columns}"

    print()
    print(line("", "target", heads))
    for label, target, cells in rows:
        print(line(label, target, cells))
    for r in results:
        if r["notes"]:
            print(f"{r['broker']} {r['db']}: " + "; ".join(r["notes"]))


# --- The child: one scenario ----------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    args.broker, args.db = args.child.split(":")

    def stop_on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_term)
    os.environ["DATABASE_URL"] = args.pg_url
    os.environ.pop("REDIS_URL", None)
    if args.broker == "redis":
        os.environ["REDIS_URL"] = args.redis_url
    # Emails go nowhere; nothing is written under var/.
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    os.environ.setdefault("SECRET_KEY", "bench-lanes-" + "x" * 40)
    os.environ["LEADHUB_ROUTE_AT_CAPTURE"] = "true" if args.route_at_capture == "on" else "false"
    # --rate leads a second through one staff token: past the per-user intake limit, which
    # stays on (a cache read and write per lead) at a rate the run never reaches.
    os.environ.setdefault("LEADHUB_THROTTLE_INTAKE_USER", "1000000/minute")
    for name in ("Q_CLUSTER_NAME", "PORT"):
        os.environ.pop(name, None)
    in_throwaway_database(run, args)


class Endpoint:
    """The loopback webhook receiver: answers 200 after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        self.received = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), 1_000_000)
                self.rfile.read(length)
                time.sleep(delay)
                with lock:
                    outer.received += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Set-up --------------------------------------------------------------------------------


def set_up_loaded(args: argparse.Namespace, hook_url: str) -> dict[str, Any]:
    """The demo month, caps lifted, the webhook backlog, the reminders (not yet due)."""
    from bench_sweep import load, load_assigned_leads
    from django.core.management import call_command
    from django.utils import timezone

    from reps.models import Rep
    from routing.models import Pool, Rule
    from sla.models import Notification, SlaClock, SlaPolicy, WebhookSubscription

    started = time.monotonic()
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)
    seeded = time.monotonic() - started
    Rep.objects.update(max_open=None, max_per_day=None, max_per_week=None)
    subscription = WebhookSubscription.objects.create(
        name="bench endpoint", url=hook_url, events=["lead.assigned"]
    )
    now = timezone.now()
    load(
        Notification,
        (
            {
                "next_attempt_at": now - timedelta(milliseconds=args.notifications - i),
                "created_at": now - timedelta(milliseconds=args.notifications - i),
                "payload": {"backlog": i},
            }
            for i in range(args.notifications)
        ),
        {
            "channel": Notification.Channel.WEBHOOK,
            "event": "lead.assigned",
            "subscription": subscription,
            "address": hook_url,
            "title": "Backlog delivery",
            "status": Notification.Status.PENDING,
        },
    )
    # The reminders: leads assigned to the demo's reps (those with an email address: each
    # reminder is an in-app and an email row), accept clocks of the "Inbound leads" policy
    # due in an hour, the reminder 50 minutes ahead until the leads start.
    reps = list(Rep.objects.filter(role=Rep.Role.REP).exclude(user__email="").order_by("pk"))
    pool = Pool.objects.get(name="North America round robin")
    rule = Rule.objects.filter(name="Everyone else: territory round robin").order_by("-pk")[0]
    policy = SlaPolicy.objects.get(name="Inbound leads")
    first_clock = (SlaClock.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    load_assigned_leads(
        {"reps": reps, "pool": pool, "rule": rule, "policy": policy},
        args.reminders,
        "remind",
        now,
        lambda i: {
            "started_at": now - timedelta(minutes=10),
            "due_at": now + timedelta(hours=1),
            "next_at": now + timedelta(minutes=50),
        },
    )
    # load_assigned_leads recounted the reps' loads; caps stay lifted.
    clock_ids = (first_clock, SlaClock.objects.order_by("-pk").values_list("pk", flat=True)[0])
    return {"seed_seconds": seeded, "clock_ids": clock_ids, "kind": "demo"}


def set_up_empty(hook_url: str) -> dict[str, Any]:
    from bench_assign import set_up_world

    from sla.models import WebhookSubscription

    set_up_world()
    WebhookSubscription.objects.create(
        name="bench endpoint", url=hook_url, events=["lead.assigned"]
    )
    return {"seed_seconds": 0.0, "clock_ids": None, "kind": "assign"}


class Payloads:
    def __init__(self, kind: str) -> None:
        from bench_assign import Submissions

        self.kind = kind
        self.subs = Submissions()
        self.n = 0

    def next(self) -> dict[str, Any]:
        if self.kind == "assign":
            data = self.subs.next()
            data["email"] = data["email"].replace("person", "lanes")
            return data
        self.n += 1
        i = self.n
        return {
            "email": f"buyer{i}@lanes-prospect{i}.example.com",
            "first_name": "Robin",
            "last_name": f"Lanes {i}",
            "company": f"Lanes Prospect {i}",
            "title": DEMO_TITLES[i % len(DEMO_TITLES)],
            "country": DEMO_COUNTRIES[i % len(DEMO_COUNTRIES)],
            "employees": [30, 120, 250, 600][i % 4],
            "source": "website",
        }


# --- The processes ------------------------------------------------------------------------


def descendants(root: int) -> dict[int, str]:
    """pid → start time (clock ticks since boot) of ``root`` and every process under it."""
    parents: dict[int, int] = {}
    starts: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry)] = int(fields[1])
        starts[int(entry)] = fields[19]
    found = {root}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                changed = True
    return {pid: starts[pid] for pid in found if pid in starts}


def alive(pid: int, start: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] == start and fields[0] != "Z"


def cpu_seconds(pids) -> float:
    """User + system CPU seconds of these processes (those still alive)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])
    return total - values[3] - values[4], total


def postgres_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{entry}/comm").read_text().strip() in {"postgres", "postmaster"}:
                    pids.append(int(entry))
    return pids


class CpuUse:
    """CPU seconds per Procfile process (with its children) and PostgreSQL (every
    database: other jobs' too) between ``start()`` and ``stop()``, and the machine's."""

    def __init__(self, procs: "Procfile") -> None:
        self.procs = procs

    def snapshot(self) -> dict[str, float]:
        out = {name: cpu_seconds(descendants(pid)) for name, pid in self.procs.names().items()}
        out["this benchmark"] = cpu_seconds([os.getpid()])
        out["postgres (all)"] = cpu_seconds(postgres_pids())
        return out

    def start(self) -> None:
        self.before, self.ticks_before, self.t = self.snapshot(), machine_ticks(), time.time()

    def stop(self) -> dict[str, Any]:
        after, (busy, total) = self.snapshot(), machine_ticks()
        seconds = time.time() - self.t
        used = {k: round(after[k] - self.before.get(k, 0.0), 1) for k in after}
        busy_share = (busy - self.ticks_before[0]) / max(1, total - self.ticks_before[1])
        return {
            "seconds": round(seconds, 1),
            "by_process": used,
            "machine_busy": round(busy_share, 3),
            "others": round(busy_share * (os.cpu_count() or 1) * seconds - sum(used.values()), 1),
        }


class Procfile:
    """``honcho start`` of the Procfile in a session of its own; every pid under it is
    remembered, so that after the stop each can be checked gone (and killed if not)."""

    def __init__(self, port: int, log: Path) -> None:
        env = dict(os.environ)
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env["HOST"] = "127.0.0.1"
        env["PYTHONUNBUFFERED"] = "1"
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(  # noqa: S603 (the venv's honcho, our Procfile)
                [str(BIN / "honcho"), "start", "-f", "Procfile", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.seen: dict[int, str] = {}
        self._names: dict[str, int] = {}
        self.remember()

    def remember(self) -> int:
        self.seen.update(descendants(self.proc.pid))
        return len(self.seen)

    def names(self) -> dict[str, int]:
        """Procfile name → pid, from honcho's "web.1 started (pid=123)" lines."""
        import re

        if len(self._names) < 5:  # read once all have started: the log can grow large
            with self.log.open(errors="replace") as log:
                head = log.read(200_000)
            found = re.findall(r"(\w+)\.1 started \(pid=(\d+)\)", head)
            self._names = {name: int(pid) for name, pid in found}
        return self._names

    def stop(self) -> dict[str, Any]:
        """SIGINT to honcho (as Ctrl-C under ``make run``), then check every process."""
        with contextlib.suppress(Exception):
            self.remember()
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        honcho_seconds = time.monotonic() - started
        deadline = time.monotonic() + 15
        left = [pid for pid, start in self.seen.items() if alive(pid, start)]
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = [pid for pid, start in self.seen.items() if alive(pid, start)]
        lingered = {}
        for pid in left:
            with contextlib.suppress(OSError):
                lingered[pid] = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.kill()
        return {
            "honcho_seconds": round(honcho_seconds, 1),
            "processes": len(self.seen),
            "leftover": lingered,
        }

    def tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def wait_for(what: str, check, timeout: float, procs: Procfile, every: float = 0.5) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if procs.proc.poll() is not None:
            raise RuntimeError(f"honcho exited while waiting for {what}:\n{procs.tail()}")
        if check():
            return time.monotonic() - started
        time.sleep(every)
    raise RuntimeError(f"Gave up waiting for {what} after {timeout:.0f} s:\n{procs.tail()}")


# --- HTTP clients ----------------------------------------------------------------------------


def post_lead(port: int, token: str, payload: dict[str, Any]) -> tuple[int, int | None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            "/api/leads/",
            body=json.dumps(payload),
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        body = response.read()
        lead_id = None
        if response.status in (200, 201):
            with contextlib.suppress(ValueError, AttributeError):
                lead_id = json.loads(body).get("id")
        return response.status, lead_id
    finally:
        conn.close()


def send_leads(
    port: int, token: str, payloads: list[dict[str, Any]], rate: float, clients: int
) -> dict[str, Any]:
    """Open loop: lead i goes at start + i / rate, whatever happened to the others."""
    results: list[tuple[int, int | None, float, float] | None] = [None] * len(payloads)
    start = time.monotonic() + 0.2

    def client(k: int) -> None:
        for i in range(k, len(payloads), clients):
            due = start + i / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            sent = time.monotonic()
            try:
                code, lead_id = post_lead(port, token, payloads[i])
            except (OSError, http.client.HTTPException):
                code, lead_id = 0, None
            results[i] = (code, lead_id, sent - due, time.monotonic() - sent)

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=len(payloads) / rate + 120)
    done = [r for r in results if r is not None]
    return {
        "codes": dict(Counter(str(r[0]) for r in done)),
        "ids": [r[1] for r in done if r[1] is not None],
        "late": sum(1 for r in done if r[2] > 0.020),
        "http": sorted(r[3] for r in done),
        "seconds": time.monotonic() - start,
        "unfinished": len(payloads) - len(done),
    }


# --- Sampling -------------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Every SAMPLE_EVERY seconds: the lanes' queues, the outbox's due and in-flight rows,
    the leads still new, the reminders done; and the next_at of clocks started since."""

    def __init__(self, broker: str, redis_url: str, clock_ids, last_clock: int) -> None:
        super().__init__(daemon=True)
        self.broker = broker
        self.redis = None
        if broker == "redis":
            import redis

            self.redis = redis.Redis.from_url(redis_url)
        self.clock_ids = clock_ids
        self.last_clock = last_clock
        self.reminder_due: dict[int, datetime] = {}
        self.samples: list[dict[str, Any]] = []
        self.stop = threading.Event()
        self.error = ""

    def counts(self, cursor) -> dict[str, int]:
        cursor.execute(
            "SELECT "
            "(SELECT count(*) FROM sla_notification WHERE channel IN ('email', 'slack', 'webhook')"
            " AND status IN ('pending', 'failed', 'sending') AND next_attempt_at <= now()), "
            "(SELECT count(*) FROM sla_notification WHERE status = 'sending' "
            " AND next_attempt_at > now()), "
            "(SELECT count(*) FROM sla_notification WHERE queued_at IS NOT NULL), "
            "(SELECT count(*) FROM leads_lead WHERE status = 'new')"
        )
        due, inflight, marked, new = cursor.fetchone()
        return {"due": due, "inflight": inflight, "marked": marked, "new": new}

    def queues(self, cursor) -> dict[str, int]:
        if self.redis is not None:
            return {
                lane: self.redis.llen(f"django_q:{cluster}:q")
                for lane, cluster in LANE_CLUSTERS.items()
            }
        cursor.execute(
            "SELECT key, count(*) FILTER (WHERE lock <= now()), count(*) FROM django_q_ormq "
            "GROUP BY key"
        )
        by_key = {key: (waiting, total) for key, waiting, total in cursor.fetchall()}
        out = {}
        for lane, cluster in LANE_CLUSTERS.items():
            waiting, total = by_key.get(cluster, (0, 0))
            out[lane] = waiting
            out[f"{lane}_rows"] = total
        return out

    def run(self) -> None:
        from django.db import connection

        try:
            with connection.cursor() as cursor:
                for _ in range(100_000):  # bounded: 14 hours of samples
                    if self.stop.is_set():
                        break
                    started = time.monotonic()
                    before = self.counts(cursor)
                    sample = {"t": time.time(), **self.queues(cursor)}
                    after = self.counts(cursor)
                    sample.update(
                        {f"{k}_before": v for k, v in before.items()}
                        | {f"{k}_after": v for k, v in after.items()}
                    )
                    if self.clock_ids:
                        cursor.execute(
                            "SELECT count(*) FROM sla_slaclock WHERE id BETWEEN %s AND %s "
                            "AND reminded",
                            list(self.clock_ids),
                        )
                        sample["reminded"] = cursor.fetchone()[0]
                    cursor.execute(
                        "SELECT id, next_at FROM sla_slaclock WHERE id > %s "
                        "AND status = 'running' AND next_at < due_at ORDER BY id",
                        [self.last_clock],
                    )
                    for pk, next_at in cursor.fetchall():
                        self.reminder_due.setdefault(pk, next_at)
                        self.last_clock = max(self.last_clock, pk)
                    sample["cost"] = time.monotonic() - started
                    self.samples.append(sample)
                    self.stop.wait(max(0.0, SAMPLE_EVERY - (time.monotonic() - started)))
        except Exception as exc:  # reported with the figures, never silently
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()


class BareInserts(threading.Thread):
    """The baseline under load: one ``Lead.objects.create`` every BARE_EVERY seconds."""

    def __init__(self, prefix: str) -> None:
        super().__init__(daemon=True)
        self.prefix = prefix
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        from django.db import connection

        try:
            for i in range(100_000):
                if self.stop.wait(BARE_EVERY):
                    break
                self.samples.append(bare_insert(f"{self.prefix}{i}"))
        finally:
            connection.close()


def bare_insert(tag: str) -> float:
    """One lead as intake would store it, closed (no router or sweep looks at it)."""
    from leadhub.leads.models import Lead

    fields = {
        "email": f"{tag}@bare.example.com",
        "email_domain": "bare.example.com",
        "first_name": "Bare",
        "last_name": tag,
        "company": "Bare Inc",
        "country": "US",
        "channel": "api",
        "status": "disqualified",
        "score": 20,
    }
    started = time.perf_counter()
    Lead.objects.create(**fields)
    return time.perf_counter() - started


def figures(values: list[float]) -> dict[str, Any]:
    values = sorted(values)
    if not values:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "max": None}
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": values[-1],
    }


# --- One scenario ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from knox.models import AuthToken

    from leadhub.leads.models import Lead
    from leadhub.ops.models import Heartbeat
    from sla.models import SlaClock

    redis_db = None
    if args.broker == "redis":
        import redis

        redis_db = redis.Redis.from_url(args.redis_url)
        redis_db.flushdb()
    endpoint = Endpoint(args.endpoint_seconds)
    procs: Procfile | None = None
    notes: list[str] = []
    log = Path(tempfile.mkstemp(prefix="lh_bench_lanes_", suffix=".log")[1])
    try:
        started = time.monotonic()
        call_command("migrate", verbosity=0)
        world = (
            set_up_loaded(args, endpoint.url) if args.db == "loaded" else set_up_empty(endpoint.url)
        )
        user = get_user_model().objects.create_user("bench-lanes", is_staff=True)
        token = AuthToken.objects.create(user=user)[1]
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(
            f"   {database_version()}; set up in {time.monotonic() - started:.0f} s"
            + (f" (seed_demo {world['seed_seconds']:.0f} s)" if world["seed_seconds"] else "")
            + f": {Lead.objects.count():,} leads, {SlaClock.objects.count():,} clocks",
            flush=True,
        )
        bare_idle = [bare_insert(f"bare-idle-{i}") for i in range(200)]

        port = free_port()
        launched = time.time()
        procs = Procfile(port, log)
        wait_for("the web process", lambda: web_up(port), 90, procs)
        fresh = datetime.fromtimestamp(launched).astimezone()
        wait_for(
            "every heartbeat",
            lambda: (
                Heartbeat.objects.filter(name__in=HEARTBEATS, beat_at__gte=fresh).count()
                == len(HEARTBEATS)
            ),
            120,
            procs,
        )
        procs.remember()
        payloads = Payloads(world["kind"])
        warm = [post_lead(port, token, payloads.next())[1] for _ in range(10)]
        wait_for(
            "the warm-up leads",
            lambda: not Lead.objects.filter(pk__in=[w for w in warm if w], status="new").exists(),
            60,
            procs,
        )
        from django.utils import timezone

        settled = wait_for(
            "no SLA step due (the demo's overdue clocks)",
            lambda: (
                not SlaClock.objects.filter(status="running", next_at__lte=timezone.now())
                .exclude(pk__range=world["clock_ids"] or (0, 0))
                .exists()
            ),
            180,
            procs,
            every=1.0,
        )
        procs.remember()
        print(f"   processes up ({len(procs.seen)} pids); warm; SLA settled after {settled:.0f} s")

        count = int(args.rate * args.seconds)
        batch = [payloads.next() for _ in range(count)]
        last_clock = SlaClock.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        t0 = timezone.now()
        reminder_due: dict[int, datetime] = dict(
            SlaClock.objects.filter(status="running", next_at__lt=models_f("due_at")).values_list(
                "pk", "next_at"
            )
        )
        if world["clock_ids"]:
            # The reminders come due now, a microsecond apart (as bench_sweep.py does).
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE sla_slaclock SET next_at = %s + (id - %s) * interval '1 microsecond' "
                    "WHERE id BETWEEN %s AND %s RETURNING id, next_at",
                    [t0, world["clock_ids"][0], *world["clock_ids"]],
                )
                reminder_due.update(dict(cursor.fetchall()))
        sampler = Sampler(args.broker, args.redis_url, world["clock_ids"], last_clock)
        sampler.start()
        bare = BareInserts("bare-load-")
        bare.start()
        cpu = CpuUse(procs)
        cpu.start()
        sent = send_leads(port, token, batch, args.rate, args.clients)
        cpu_used = cpu.stop()
        bare.stop.set()
        print(
            f"   sent {count:,} leads in {sent['seconds']:.1f} s: {sent['codes']}, "
            f"{sent['late']} late by > 20 ms",
            flush=True,
        )
        ids = sent["ids"]
        drain_start = time.monotonic()
        deadline = drain_start + args.drain
        while time.monotonic() < deadline:
            pending = Lead.objects.filter(pk__in=ids, status="new").exists()
            reminders_left = (
                bool(world["clock_ids"])
                and SlaClock.objects.filter(pk__range=world["clock_ids"], reminded=False).exists()
            )
            if not pending and not reminders_left:
                break
            time.sleep(0.5)
        drained = time.monotonic() - drain_start
        time.sleep(2 * SAMPLE_EVERY)
        sampler.stop.set()
        sampler.join(timeout=10)
        bare.join(timeout=10)
        procs.remember()
        stopped = procs.stop()
        procs = None
        if stopped["leftover"]:
            notes.append(f"left running after the stop, killed: {stopped['leftover']}")
        if sampler.error:
            notes.append(f"sampler failed: {sampler.error}")
        if sent["unfinished"]:
            notes.append(f"{sent['unfinished']} requests unfinished")
        reminder_due.update(sampler.reminder_due)
        result = measure(args, world, ids, t0, reminder_due, sampler, sent)
        result.update(
            {
                "bare_idle": figures(bare_idle),
                "bare_load": figures(bare.samples),
                "leftover": len(stopped["leftover"]),
                "stop": stopped,
                "drain_seconds": drained,
                "webhooks": endpoint.received,
                "cpu": cpu_used,
                "notes": notes,
                "log_tail": "",
            }
        )
        print_scenario(result)
        Path(args.result).write_text(json.dumps(result, default=str))
    except BaseException:
        if procs is not None:
            print(procs.tail(), file=sys.stderr)
        raise
    finally:
        if procs is not None:
            procs.stop()
        endpoint.close()
        if redis_db is not None:
            redis_db.flushdb()
        if not args.keep_logs:
            log.unlink(missing_ok=True)
        else:
            print(f"   honcho log: {log}")


def models_f(name: str):
    from django.db.models import F

    return F(name)


def web_up(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/health/")
        conn.getresponse().read()
        conn.close()
        return True
    except (OSError, http.client.HTTPException):
        return False


def measure(
    args: argparse.Namespace,
    world: dict[str, Any],
    ids: list[int],
    t0: datetime,
    reminder_due: dict[int, datetime],
    sampler: Sampler,
    sent: dict[str, Any],
) -> dict[str, Any]:
    from django.db.models import F

    from leadhub.leads.models import Lead, LeadEvent

    leads = Lead.objects.filter(pk__in=ids)
    assigned = [
        (a - c).total_seconds()
        for a, c in leads.exclude(assigned_at=None)
        .annotate(c=F("captured_at"))
        .values_list("assigned_at", "c")
    ]
    n_new = leads.filter(status="new").count()
    lateness, unknown = [], 0
    for data, at in LeadEvent.objects.filter(kind="sla", at__gte=t0).values_list("data", "at"):
        if data.get("step") == "breach":
            due = datetime.fromisoformat(data["due_at"])
        else:
            due = reminder_due.get(data.get("clock_id"))
        if due is None:
            unknown += 1
            continue
        lateness.append((at - due).total_seconds())
    late = figures(lateness)
    late["unknown"] = unknown
    samples = sampler.samples
    over_outbox = sum(
        1
        for s in samples
        if s["outbox"]
        > max(s["due_before"] + s["inflight_before"], s["due_after"] + s["inflight_after"])
    )
    over_routing = sum(
        1 for s in samples if s["routing"] > max(s["new_before"], s["new_after"]) + 1
    )
    done_at = None
    if world["clock_ids"]:
        total = world["clock_ids"][1] - world["clock_ids"][0] + 1
        for s in samples:
            if s.get("reminded", 0) >= total:
                done_at = s["t"] - t0.timestamp()
                break
    return {
        "broker": args.broker,
        "db": args.db,
        "sent": len(sent["http"]),
        "late": sent["late"],
        "codes": sent["codes"],
        "http": figures(sent["http"]),
        "n_assigned": len(assigned),
        "n_other": leads.exclude(status="new").filter(assigned_at=None).count(),
        "n_new": n_new,
        "assigned": figures(assigned),
        "lateness": late,
        "reminders_done_at": done_at,
        "samples": len(samples),
        "sample_cost_max": max((s["cost"] for s in samples), default=None),
        "max_queue": {lane: max((s[lane] for s in samples), default=0) for lane in LANE_CLUSTERS},
        "max_rows": {
            lane: max((s.get(f"{lane}_rows", 0) for s in samples), default=0)
            for lane in LANE_CLUSTERS
        },
        "max_due": max((s["due_after"] for s in samples), default=0),
        "max_inflight": max((s["inflight_after"] for s in samples), default=0),
        "max_marked": max((s["marked_after"] for s in samples), default=0),
        "over_outbox": over_outbox,
        "over_routing": over_routing,
        "outbox_series": [
            (round(s["t"] - t0.timestamp(), 1), s["outbox"], s["due_after"], s["inflight_after"])
            for s in samples[:: max(1, len(samples) // 40)]
        ],
    }


def print_scenario(r: dict[str, Any]) -> None:
    a, late = r["assigned"], r["lateness"]
    print(
        f"   {r['n_assigned']:,} assigned, {r['n_other']:,} decided otherwise, {r['n_new']:,} "
        f"still new; capture -> assigned p50 {fmt_ms(a['p50'])} p90 {fmt_ms(a['p90'])} "
        f"p99 {fmt_ms(a['p99'])} max {fmt_ms(a['max'])}; HTTP p50 {fmt_ms(r['http']['p50'])} "
        f"p99 {fmt_ms(r['http']['p99'])}"
    )
    print(
        f"   SLA steps {late['n']:,} (+{late['unknown']} of unknown due): lateness p50 "
        f"{fmt_s(late['p50'])} p99 {fmt_s(late['p99'])} max {fmt_s(late['max'])}; reminders "
        f"all seen done at t0 + {fmt_s(r['reminders_done_at'])}"
    )
    print(
        f"   max queue {r['max_queue']} (ORM rows incl. taken: {r['max_rows']}); outbox due "
        f"max {r['max_due']:,}, in flight max {r['max_inflight']}, marked queued max "
        f"{r['max_marked']:,}; outbox queue > due + in flight in {r['over_outbox']} of "
        f"{r['samples']} samples; routing queue > new + 1 in {r['over_routing']}"
    )
    print(f"   outbox (t, queue, due, in flight): {r['outbox_series']}")
    cpu = r["cpu"]
    print(
        f"   CPU while the leads arrived ({cpu['seconds']} s, {os.cpu_count()} CPUs, machine "
        f"{cpu['machine_busy']:.0%} busy): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in cpu["by_process"].items())
        + f", everything else {cpu['others']:.1f} s"
    )
    print(
        f"   bare INSERT idle p50 {fmt_ms(r['bare_idle']['p50'])} p99 "
        f"{fmt_ms(r['bare_idle']['p99'])}; under load p50 {fmt_ms(r['bare_load']['p50'])} p99 "
        f"{fmt_ms(r['bare_load']['p99'])}; drained in {r['drain_seconds']:.1f} s; stop "
        f"{r['stop']['honcho_seconds']} s, {r['stop']['processes']} processes, "
        f"{len(r['stop']['leftover'])} left; endpoint got {r['webhooks']:,} webhooks",
        flush=True,
    )


if __name__ == "__main__":
    main()
