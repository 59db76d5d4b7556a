"""``replay_run``: decide the window's leads again with a rule set, and store the report.

The only write is the ``ReplayReport`` row, at the end: leads, decisions, pool states and
the reps' counters are read, never written (``routing/tests/test_replay.py`` counts every
table's rows before and after).
"""

import time
from datetime import datetime, timedelta

from django.utils import timezone

from routing import engine
from routing.models import ReplayReport, RuleSet
from routing.replay.inputs import (
    CHUNK,
    lead_rows,
    load_at,
    replay_world,
    snapshot_fields,
    states_at,
    stored_payloads,
)
from routing.replay.simulate import KEEP, REASONS, Replay
from routing.selectors import compiled_ruleset, ruleset_in_force

MAX_DAYS = 366
ASSUMPTIONS = [
    "Presence is not stored over time: every rep is taken as available (online) at every "
    "lead; stored decisions that skipped an offline or away rep are named 'presence'.",
    "The set-up is today's (pools and members, territories, reps' settings, working hours, "
    "account owners); working hours, time off, holidays and ramp-up are evaluated at each "
    "lead's capture instant.",
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


def replay_run(
    *,
    ruleset: RuleSet,
    days: int = 30,
    actor=None,
    end: datetime | None = None,
    keep: int = KEEP,
    chunk: int = CHUNK,
) -> ReplayReport:
    """Replay the leads captured in the ``days`` before ``end`` (now) with ``ruleset`` and
    store the report (``routing.replay.report`` defines its figures)."""
    days = check_days(days)
    started = time.perf_counter()
    end = end or timezone.now()
    start = end - timedelta(days=days)
    try:
        rules = compiled_ruleset(ruleset)
    except engine.RuleError as exc:
        raise ReplayError("ruleset", f"{ruleset} does not compile: {exc}") from None
    world = replay_world(start, end)
    replay = Replay(
        rules=rules,
        world=world,
        states=states_at(sorted(world.pools), start, end),
        load=load_at(dict(world.reps), start),
        payloads=stored_payloads,
        keep=keep,
    )
    for rows in lead_rows(start, end, chunk, snapshot_fields(rules, world)):
        replay.feed(rows)
    replay.finish()
    summary = replay.tally.summary(start, end)
    in_force = ruleset_in_force()
    summary.update(
        {
            "ruleset": str(ruleset),
            "in_force": str(in_force) if in_force else None,
            "reason_words": {k: REASONS[k] for k in summary["reasons"]},
            "listed": len(replay.changes),
            "assumptions": ASSUMPTIONS,
            "presence": "every rep taken as online (presence is not stored over time)",
        }
    )
    return ReplayReport.objects.create(
        ruleset=ruleset,
        ruleset_label=str(ruleset),
        days=days,
        window_start=start,
        window_end=end,
        created_by=actor,
        leads=summary["leads"],
        changed=summary["changed"],
        seconds=round(time.perf_counter() - started, 3),
        summary=summary,
        changes=replay.changes,
    )
