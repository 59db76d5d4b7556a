"""``replay_run``: decide the window's leads again with a rule set, and store the report.

The only write is the ``ReplayReport`` row, at the end: leads, decisions, pool states and
the reps' counters are read, never written (``routing/tests/test_replay.py`` counts every
table's rows before and after).
"""

import time
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from leadhub import lanes
from routing import engine
from routing.models import ReplayReport, RuleSet
from routing.replay.inputs import (
    CHUNK,
    lead_rows,
    load_at,
    replay_world,
    setup_changes,
    snapshot_fields,
    states_at,
    stored_details,
)
from routing.replay.simulate import KEEP, REASONS, Replay
from routing.selectors import compiled_ruleset, ruleset_in_force

MAX_DAYS = 366
ASSUMPTIONS = [
    "Presence is not stored over time: every rep is taken as available (online) at every "
    "lead; stored decisions that skipped an offline or away rep are named 'presence'.",
    "The set-up is today's (pools and members, territories, reps' settings, working hours, "
    "account owners); working hours, time off, holidays and ramp-up are evaluated at each "
    "lead's capture instant. The set-up's changes since the window began (from the audit "
    "log) are listed: leads decided before one may differ for it.",
    "Each pool's rotation starts as its first stored decision in the window read it; caps "
    "count the replayed assignments (a replayed lead stays open until the lead really "
    "closed) on top of the leads held at the window's start.",
    "Only routing is replayed: claims from queues, SLA steps, declines and manual moves "
    "are not; leads waiting in a claim queue are counted as queued.",
]


class ReplayError(ValueError):
    """A replay that cannot run, naming the argument at fault (``field``)."""

    def __init__(self, field: str, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.missing = missing  # well formed, but there is no such rule set


def replay_ruleset(ref: str) -> RuleSet:
    """The rule set ``ref`` names: "draft", or a published version number."""
    ref = str(ref).strip()
    if ref.lower() == "draft":
        draft = RuleSet.objects.filter(is_draft=True).first()
        if draft is None:
            raise ReplayError(
                "ruleset", "There is no draft: create one, or give a version.", missing=True
            )
        return draft
    if not ref.isdigit() or len(ref) > 9:
        raise ReplayError("ruleset", f"Give 'draft' or a version number, not {ref[:40]!r}.")
    ruleset = RuleSet.objects.filter(is_draft=False, version=int(ref)).first()
    if ruleset is None:
        raise ReplayError("ruleset", f"There is no version {int(ref)}.", missing=True)
    return ruleset


def check_days(days: object) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ReplayError("days", f"days must be a whole number from 1 to {MAX_DAYS}.")
    return days


def replay_request(
    *,
    ruleset: RuleSet,
    days: int = 30,
    actor=None,
    end: datetime | None = None,
) -> ReplayReport:
    """Check the arguments, write the report as ``running`` for the window ending now, and
    queue its work in the housekeeping lane once this transaction commits (a replay of a
    month takes seconds: not a request's work). Bad arguments and a rule set that does not
    compile are refused here, at once (``ReplayError``)."""
    report = _report(ruleset, days, actor, end)
    report.save()
    transaction.on_commit(
        lambda: lanes.enqueue(lanes.HOUSEKEEPING, "routing.tasks.replay_report", report.pk)
    )
    return report


def replay_run(
    *,
    ruleset: RuleSet,
    days: int = 30,
    actor=None,
    end: datetime | None = None,
    keep: int = KEEP,
    chunk: int = CHUNK,
) -> ReplayReport:
    """Replay the leads captured in the ``days`` before ``end`` (now) with ``ruleset`` here
    and now, and store the report (the ``replay`` command, the benchmark)."""
    report = _report(ruleset, days, actor, end)
    report.save()
    return replay_fill(report, keep=keep, chunk=chunk)


def _report(ruleset: RuleSet, days: object, actor, end: datetime | None) -> ReplayReport:
    days = check_days(days)
    _compiled(ruleset)
    end = end or timezone.now()
    return ReplayReport(
        ruleset=ruleset,
        ruleset_label=str(ruleset),
        days=days,
        window_start=end - timedelta(days=days),
        window_end=end,
        created_by=actor,
        status=ReplayReport.Status.RUNNING,
    )


def _compiled(ruleset: RuleSet) -> engine.CompiledRuleSet:
    try:
        return compiled_ruleset(ruleset)
    except engine.RuleError as exc:
        raise ReplayError("ruleset", f"{ruleset} does not compile: {exc}") from None


def replay_fill(report: ReplayReport, *, keep: int = KEEP, chunk: int = CHUNK) -> ReplayReport:
    """Do a requested replay: decide its window's leads again with its rule set and fill
    in the report (``routing.replay.report`` defines its figures). Doing it again
    overwrites the same report with the same figures."""
    started = time.perf_counter()
    if report.ruleset is None:
        raise ReplayError("ruleset", f"{report.ruleset_label} no longer exists.")
    rules = _compiled(report.ruleset)
    start, end = report.window_start, report.window_end
    world = replay_world(start, end)
    replay = Replay(
        rules=rules,
        world=world,
        states=states_at(sorted(world.pools), start, end),
        load=load_at(dict(world.reps), start),
        details=stored_details,
        keep=keep,
    )
    for rows in lead_rows(start, end, chunk, snapshot_fields(rules, world)):
        replay.feed(rows)
    replay.finish()
    summary = replay.tally.summary(start, end)
    in_force = ruleset_in_force()
    summary.update(
        {
            "ruleset": report.ruleset_label,
            "in_force": str(in_force) if in_force else None,
            "reason_words": {k: REASONS[k] for k in summary["reasons"]},
            "listed": len(replay.changes),
            "setup_changes": setup_changes(start),
            "assumptions": ASSUMPTIONS,
            "presence": "every rep taken as online (presence is not stored over time)",
        }
    )
    report.status = ReplayReport.Status.DONE
    report.error = ""
    report.finished_at = timezone.now()
    report.leads = summary["leads"]
    report.changed = summary["changed"]
    report.seconds = round(time.perf_counter() - started, 3)
    report.summary = summary
    report.changes = replay.changes
    report.save()
    return report


def replay_failed(report: ReplayReport, error: str) -> None:
    """Mark a requested replay as failed, with why (the lane's task, on any error)."""
    report.status = ReplayReport.Status.FAILED
    report.error = error[:2000]
    report.finished_at = timezone.now()
    report.save(update_fields=["status", "error", "finished_at"])
