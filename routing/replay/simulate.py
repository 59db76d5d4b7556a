"""The replay itself: each lead decided again by the pure engine, in capture order, on a
simulated state. No ORM here: ``routing.replay.services`` feeds it the rows
(``routing.replay.inputs``) and stores what it reports.

The simulated state moves only with the replayed decisions:

- rotation: each pool's ``engine.PoolState`` starts as the pool's first stored decision in
  the window read it, and moves by ``engine.apply_update`` with every replayed decision
  that counts in the rotation;
- load: each rep's open leads, leads today and this week (their local day and week, as
  ``reps.load`` counts) start from the leads held at the window's start and move with the
  replayed assignments: a lead replayed to a rep is open for them from its capture until
  the lead actually closed (``closed_at``), whoever really had it; a manager's escalated
  leads likewise;
- time: the engine is called with ``now`` = the lead's capture instant, so working hours,
  time off, holidays and ramp-up are those of that instant.

Leads the replay does not see move (a claim from a queue, an SLA reassignment, a decline,
a manual change, a refund) are not simulated: the replay is routing only. When a replayed
decision differs from the stored one, ``Replay.classify`` names why, in this order:
``REASONS``.
"""

import heapq
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from reps.availability import RepSnapshot
from reps.load import period_starts
from routing import engine
from routing.replay.inputs import LeadRow, Load, Stored, StoredDetail
from routing.replay.report import Tally

# Why a replayed decision differs from the stored one, checked in this order.
REASONS = {
    "not_routed": "The lead has no routing decision stored (never routed by the rules).",
    "ruleset": "It was decided by another rule set version than the one replayed.",
    "account_owner": "Its account's owner has changed since.",
    "presence": "A rep was offline or away when it was decided; the replay takes every rep "
    "as available (presence is not stored over time).",
    "setup": "The set-up changed since (pool members, reps' hours, time off, skills, tiers, "
    "or a rep switched off or on).",
    "load": "A rep's load (open, today, this week) differed: leads closed, claimed, declined "
    "or moved by hand outside routing, or an earlier lead went elsewhere in the replay.",
    "earlier_difference": "The pool's rotation had moved differently: an earlier lead of "
    "this pool went elsewhere in the replay.",
    "moves": "The pool's rotation had been moved outside routing (an SLA reassignment, a "
    "claim, a refund) since the window began.",
    "timing": "It was decided well after its capture (the sweep, or a partial lead); the "
    "replay decides at the capture instant.",
    "unexplained": "No reason found.",
}
PRESENCE_REASONS = frozenset({"offline", "away"})
CAP_REASONS = frozenset({"cap_open", "cap_day", "cap_week", "cap_escalated"})
LATE = timedelta(seconds=60)
# Full entries (both explanations) kept for the first this many changed leads.
KEEP = 1000

_CLOSE, _DAY, _WEEK = 0, 1, 2


@dataclass
class _Counts:
    open: int = 0
    day: int = 0
    week: int = 0
    escalated: int = 0
    day_start: datetime | None = None
    week_start: datetime | None = None


@dataclass
class Pending:
    """A changed lead decided by the version replayed: classified once its stored
    decision's candidates are read (in a batch, at the end of the chunk)."""

    row: LeadRow
    decision: engine.Decision
    states: dict[int, engine.PoolState]
    diverged: frozenset[int]
    entry: dict[str, Any] | None


@dataclass
class Replay:
    """One replay in progress. ``feed`` a chunk of rows at a time, then ``finish``."""

    rules: engine.CompiledRuleSet
    world: engine.World
    states: dict[int, engine.PoolState]
    load: Load
    # Reads stored decisions' payloads and times by decision id (a batch per chunk).
    details: Callable[[list[int]], Mapping[int, StoredDetail]]
    keep: int = KEEP
    tally: Tally = field(init=False)
    changes: list[dict[str, Any]] = field(init=False, default_factory=list)
    reps: dict[int, RepSnapshot] = field(init=False)

    def __post_init__(self) -> None:
        self.reps = dict(self.world.reps)
        # The engine reads these two mappings; the replay moves them in place.
        self.world = replace(self.world, reps=self.reps, states=self.states)
        self.tally = Tally(self.world)
        # Only the reps whose load the engine reads are counted: those with a cap, the
        # members of load-balanced pools, and the managers (their escalation ceiling).
        balanced = {
            rid
            for pool in self.world.pools.values()
            if pool.method == engine.Method.LOAD_BALANCED
            for rid in pool.member_ids
        }
        tracked = {
            rid
            for rid, rep in self.reps.items()
            if rep.max_open is not None
            or rep.max_per_day is not None
            or rep.max_per_week is not None
        }
        tracked |= (balanced | set(self.world.managers.values())) & set(self.reps)
        self.counts: dict[int, _Counts] = {rid: _Counts() for rid in tracked}
        self.events: list[tuple[datetime, int, int, bool]] = []
        self.diverged: set[int] = set()  # pools whose replayed rotation left the stored one
        self.pending: list[Pending] = []
        self._start(self.load)

    def _start(self, load: Load) -> None:
        for rid, c in self.counts.items():
            c.open = load.open.get(rid, 0)
            c.day, c.week = load.day.get(rid, 0), load.week.get(rid, 0)
        for closed_at, rid in load.closings:
            if rid in self.counts:
                heapq.heappush(self.events, (closed_at, _CLOSE, rid, False))
        self._first = True

    # --- the simulated load ------------------------------------------------------------

    def _refresh(self, rid: int) -> None:
        """A new snapshot of the rep with the simulated counts. Copied field by field, not
        by ``dataclasses.replace`` (which runs the frozen class's ``__init__``: several
        times slower, and this runs with every replayed assignment); the schedule's objects
        are kept, so the world's ``ScheduleMemo`` still answers for the new snapshot."""
        c = self.counts[rid]
        rep = object.__new__(RepSnapshot)
        rep.__dict__.update(
            self.reps[rid].__dict__,
            open_count=c.open,
            day_count=c.day,
            week_count=c.week,
            escalated_count=c.escalated,
        )
        self.reps[rid] = rep

    def _periods(self, rid: int, now: datetime) -> None:
        """Start the rep's day and week counts at ``now`` (the first lead), and schedule
        their end."""
        c = self.counts[rid]
        day, week = period_starts(self.reps[rid].timezone, now)
        c.day_start, c.week_start = day, week
        heapq.heappush(self.events, (_next(day, 1), _DAY, rid, False))
        heapq.heappush(self.events, (_next(week, 7), _WEEK, rid, False))

    def _advance(self, now: datetime) -> None:
        if self._first:
            self._first = False
            for rid in self.counts:
                self._periods(rid, now)
                self._refresh(rid)
        events = self.events
        while events and events[0][0] <= now:
            at, kind, rid, escalated = heapq.heappop(events)
            c = self.counts[rid]
            if kind == _CLOSE:
                c.open -= 1
                c.escalated -= escalated
            elif kind == _DAY:
                c.day = 0
                day, _week = period_starts(self.reps[rid].timezone, at)
                c.day_start = day
                heapq.heappush(events, (_next(day, 1), _DAY, rid, False))
            else:
                c.week = 0
                _day, week = period_starts(self.reps[rid].timezone, at)
                c.week_start = week
                heapq.heappush(events, (_next(week, 7), _WEEK, rid, False))
            self._refresh(rid)

    def _gain(self, rid: int, closed_at: datetime | None, now: datetime, escalated: bool) -> None:
        c = self.counts.get(rid)
        if c is None:
            return
        c.day += 1
        c.week += 1
        if closed_at is None or closed_at > now:
            c.open += 1
            c.escalated += escalated
            if closed_at is not None:
                heapq.heappush(self.events, (closed_at, _CLOSE, rid, escalated))
        self._refresh(rid)

    # --- deciding --------------------------------------------------------------------

    def feed(self, rows: list[LeadRow]) -> None:
        for row in rows:
            lead = row.snapshot
            now = lead["captured_at"]
            self._advance(now)
            decision = engine.decide(lead, self.rules, self.world, now)
            moved: tuple[int, engine.PoolState | None] | None = None
            if decision.state_update is not None:
                pid = decision.state_update.pool_id
                moved = (pid, self.states.get(pid))
                self.states[pid] = engine.apply_update(
                    self.world.state_of(pid), decision.state_update
                )
            if decision.outcome == engine.ASSIGNED and decision.rep_id is not None:
                escalated = decision.method in engine.ESCALATION_METHODS
                self._gain(decision.rep_id, lead.get("closed_at"), now, escalated)
            self._compare(row, decision, moved)
        self._classify_pending()

    def _compare(
        self,
        row: LeadRow,
        decision: engine.Decision,
        moved: tuple[int, engine.PoolState | None] | None,
    ) -> None:
        stored = row.stored
        self.tally.add(row.snapshot, stored, decision)
        if stored is not None and _same(stored, decision):
            return
        touched = {p for p in (decision.pool_id, stored.pool_id if stored else None) if p}
        entry = self._entry(row, decision) if len(self.changes) < self.keep else None
        if entry is not None:
            self.changes.append(entry)
        reason = self._cheap_reason(row, decision)
        diverged = frozenset(self.diverged)
        self.diverged |= touched
        if reason:
            self._record(reason, entry)
            return
        # The states the decision read: the current ones, but the pool it moved as it was.
        states = dict(self.states)
        if moved is not None:
            states.pop(moved[0])
            if moved[1] is not None:
                states[moved[0]] = moved[1]
        self.pending.append(Pending(row, decision, states, diverged, entry))

    def _cheap_reason(self, row: LeadRow, decision: engine.Decision) -> str:
        stored = row.stored
        if stored is None:
            return "not_routed"
        if stored.ruleset_version != self.rules.version:
            return "ruleset"
        if stored.method == "account_owner" and stored.rep_id != row.snapshot["account_owner_id"]:
            return "account_owner"
        return ""

    def _record(self, reason: str, entry: dict[str, Any] | None) -> None:
        self.tally.reasons[reason] = self.tally.reasons.get(reason, 0) + 1
        if entry is not None:
            entry["reason"] = reason
            entry["why"] = REASONS[reason]

    def _classify_pending(self) -> None:
        if not self.pending:
            return
        details = self.details([p.row.stored.pk for p in self.pending])
        for p in self.pending:
            detail = details.get(p.row.stored.pk)
            self._record(self.classify(p, detail), p.entry)
        self.pending = []

    def classify(self, p: Pending, detail: StoredDetail | None) -> str:
        """Why a lead decided by the version replayed went elsewhere (``REASONS``)."""
        stored_candidates = (detail.payload.get("candidates") or []) if detail else []
        if any(PRESENCE_REASONS.intersection(c["reasons"]) for c in stored_candidates):
            return "presence"
        replayed = {(c.pool_id, c.rep_id): c for c in p.decision.candidates}
        stored = {(c.get("pool_id"), c["rep_id"]): c for c in stored_candidates}
        for pool_id in {k[0] for k in stored} & {k[0] for k in replayed}:
            if {k for k in stored if k[0] == pool_id} != {k for k in replayed if k[0] == pool_id}:
                return "setup"
        load_differs = False
        for key in stored.keys() & replayed.keys():
            was, now = set(stored[key]["reasons"]), set(replayed[key].reasons)
            if (was ^ now) - CAP_REASONS:
                return "setup"
            if was != now:
                load_differs = True
        if load_differs:
            return "load"
        pools = {c.get("pool_id") for c in stored_candidates} - {None}
        for pool_id in sorted(pools):
            pool = self.world.pools.get(pool_id)
            if pool is None:
                return "setup"
            mine = p.states.get(pool_id) or engine.PoolState(pool_id)
            theirs = [c for c in stored_candidates if c.get("pool_id") == pool_id]
            if not _same_state(pool, mine, theirs):
                return "earlier_difference" if pool_id in p.diverged else "moves"
        if detail and detail.created_at - p.row.snapshot["captured_at"] > LATE:
            return "timing"
        return "unexplained"

    def _entry(self, row: LeadRow, decision: engine.Decision) -> dict[str, Any]:
        stored = row.stored
        lead = row.snapshot
        return {
            "lead_id": lead["id"],
            "captured_at": lead["captured_at"].isoformat(),
            "before": None
            if stored is None
            else {
                "decision_id": stored.pk,
                "ruleset_version": stored.ruleset_version,
                "rule": stored.rule_name,
                "method": stored.method,
                "outcome": stored.outcome,
                "rep_id": stored.rep_id,
                "pool_id": stored.pool_id,
                "explanation": [],  # filled from the stored payload at the end
            },
            "after": {
                "ruleset_version": decision.ruleset_version,
                "rule": decision.rule_name,
                "method": decision.method or decision.action,
                "outcome": decision.outcome,
                "rep_id": decision.rep_id,
                "pool_id": decision.pool_id,
                "explanation": list(decision.explanation),
            },
            "moved_later_by": list(row.moved_by),
        }

    def finish(self) -> None:
        self._classify_pending()
        ids = [e["before"]["decision_id"] for e in self.changes if e["before"]]
        details = self.details(ids) if ids else {}
        for e in self.changes:
            if e["before"]:
                detail = details.get(e["before"]["decision_id"])
                e["before"]["explanation"] = (
                    (detail.payload.get("explanation") or []) if detail else []
                )


def _next(start: datetime, days: int) -> datetime:
    """The start of the next local day or week after ``start`` (a local midnight): the
    same wall-clock time ``days`` later, whatever the UTC offset does meanwhile."""
    return (start.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=start.tzinfo)


def _same(stored: Stored, decision: engine.Decision) -> bool:
    return (
        stored.outcome == decision.outcome
        and stored.rep_id == decision.rep_id
        and stored.pool_id == decision.pool_id
    )


def _order(pool: engine.Pool, pointer: int | None) -> tuple[int, ...]:
    ids = tuple(dict.fromkeys(pool.member_ids))
    start = ids.index(pointer) + 1 if pointer in ids else 0
    return ids[start:] + ids[:start]


def _same_state(pool: engine.Pool, mine: engine.PoolState, stored: list[dict[str, Any]]) -> bool:
    """Did the replay's rotation state read what the stored decision read (the rotation
    order, catch-up credits, rotation counts and last assignments it shows)?"""
    if not stored:
        return True
    theirs = _order(pool, stored[-1]["rep_id"])
    if _order(pool, mine.last_rep_id) != theirs:
        return False
    limit = max(0, pool.settings.catch_up_limit)
    for c in stored:
        metrics = c.get("metrics") or {}
        rid = c["rep_id"]
        if "credit" in metrics and metrics["credit"] != min(mine.credits.get(rid, 0), limit):
            return False
        if "assigned" in metrics and metrics["assigned"] != mine.assigned.get(rid, 0):
            return False
        if "last_assigned_at" in metrics:
            last = mine.last_assigned_at.get(rid)
            if (last.isoformat() if last else None) != metrics["last_assigned_at"]:
                return False
    return True
