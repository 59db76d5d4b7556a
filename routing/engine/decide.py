"""The decision: lead snapshot + compiled rule set + world + now → where the lead goes.

Rules are tried in order (position, then id; disabled rules are left out) and the first
whose condition matches decides. Its action:

- ``pool``: the pool's method picks among its eligible members (methods.py);
- ``territory_pool``: the same, with the pool of the most specific territory covering the
  lead (or of its nearest ancestor that has one);
- ``rep``: the named rep, if eligible now (hours, presence, time off, caps);
- ``account_owner``: the owner of the lead's matched account, if eligible now;
- ``nurture`` / ``triage``: the lead goes to that queue.

When the action finds nobody (no eligible member, no territory or pool, an unknown or
ineligible rep, no account or no owner), the rule's fallback takes over, once:

- ``pool``: that pool's method picks; a fallback pool the action already tried is not
  tried again (no loops), and a fallback pool with nobody eligible sends the lead to triage;
- ``manager``: the manager (``World.managers``) of the team of the pool that was tried, or
  of the named rep / account owner who could not take it. A manager takes the lead unless
  inactive, offline, on time off, on a holiday, or at their ceiling of open escalated leads
  (``RepSnapshot.max_escalated``): working hours and routine caps do not hold back an
  escalation. No team, no manager, or an unavailable one: triage;
- ``triage``: the triage queue.

No rule matching also means triage. Every path ends in a decision; no lead is dropped.

Only leads a pool's method chose move the pool's rotation (``Decision.state_update``);
named-rep, owner-routed and manager leads leave it alone (``state_update`` is None).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from reps.availability import ESCALATION, LeadNeeds, Reason, rep_eligibility
from routing.engine.conditions import Facts, Interner, Node, RuleError, parse_condition, zone
from routing.engine.inputs import (
    ActionKind,
    FallbackKind,
    Method,
    Pool,
    Rule,
    RuleSet,
    StateUpdate,
    World,
)
from routing.engine.methods import EXCLUDED_REP, METHODS, UNKNOWN_REP, Candidate, PoolResult

ASSIGNED, NURTURE, TRIAGE, QUEUED = "assigned", "nurture", "triage", "queued"
# decide_in_pool found nobody: the caller decides what happens next (no decision stored).
NOBODY = "nobody"
# An escalation to a manager ignores working hours and routine caps, not absence nor the
# ceiling of escalated leads.
MANAGER_BLOCKERS = frozenset(
    {Reason.INACTIVE, Reason.OFFLINE, Reason.TIME_OFF, Reason.HOLIDAY, Reason.CAP_ESCALATED}
)

REASON_WORDS = {
    Reason.INACTIVE: "switched off",
    Reason.OFFLINE: "offline",
    Reason.AWAY: "away",
    Reason.OUTSIDE_HOURS: "outside working hours",
    Reason.TIME_OFF: "on time off",
    Reason.HOLIDAY: "on a holiday",
    Reason.CAP_OPEN: "at the maximum of open leads",
    Reason.CAP_DAY: "at the daily maximum",
    Reason.CAP_WEEK: "at the weekly maximum",
    Reason.MISSING_SKILL: "lacks a required skill",
    Reason.LANGUAGE: "does not speak the lead's language",
    Reason.TIER: "below the tier this lead needs",
    Reason.CAP_ESCALATED: "at the ceiling of open escalated leads",
    UNKNOWN_REP: "not a known rep",
    EXCLUDED_REP: "declined or held this lead before",
    "zero_weight": "has weight 0 in this pool",
}
METHOD_WORDS = {
    Method.ROUND_ROBIN: "round robin",
    Method.WEIGHTED_ROUND_ROBIN: "weighted round robin",
    Method.LOAD_BALANCED: "load balanced",
    Method.AVAILABILITY_FIRST: "availability first",
    Method.SKILLS_MATCH: "skills match",
    Method.PERFORMANCE_WEIGHTED: "performance weighted",
    Method.SCORE_TIERS: "score tiers",
    Method.CLAIM_QUEUE: "claim queue",
}


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    condition: Node
    text: str  # the condition in words


@dataclass(frozen=True)
class CompiledRuleSet:
    """A rule set checked and compiled once, reused for every decision."""

    version: int | None
    rules: tuple[CompiledRule, ...]
    comparisons: int  # distinct comparisons, for the per-lead memo


def compile_ruleset(ruleset: RuleSet) -> CompiledRuleSet:
    """Check every rule and compile its condition; raise ``RuleError`` naming the bad node
    (``rules[3].condition.all[1]: ...``), where 3 is the rule's index in ``ruleset.rules``."""
    interner = Interner()
    compiled = []
    for i, rule in enumerate(ruleset.rules):
        path = f"rules[{i}]"
        node = parse_condition(rule.condition, f"{path}.condition", interner)
        if rule.action.kind not in ActionKind.__members__.values():
            raise RuleError(f"{path}.action", f"Unknown action {rule.action.kind!r}.")
        if rule.action.kind in (ActionKind.POOL, ActionKind.REP) and rule.action.target_id is None:
            raise RuleError(f"{path}.action", f"Action {rule.action.kind!r} needs a target.")
        if rule.fallback.kind not in FallbackKind.__members__.values():
            raise RuleError(f"{path}.fallback", f"Unknown fallback {rule.fallback.kind!r}.")
        if rule.fallback.kind == FallbackKind.POOL and rule.fallback.target_id is None:
            raise RuleError(f"{path}.fallback", "Fallback 'pool' needs a pool.")
        if rule.enabled:
            compiled.append(CompiledRule(rule, node, node.describe()))
    compiled.sort(key=lambda c: (c.rule.position, c.rule.id))
    return CompiledRuleSet(ruleset.version, tuple(compiled), len(interner.seen))


@dataclass(frozen=True)
class Decision:
    """Where the lead goes and why. ``explanation`` and ``to_dict`` render it for people
    and for storage; the rendering is done on demand, not while deciding."""

    ruleset_version: int | None
    rule_id: int | None
    rule_name: str
    action: str
    method: str
    pool_id: int | None
    territory_id: int | None
    outcome: str
    rep_id: int | None
    fallback_used: bool
    fallback_reason: str
    state_update: StateUpdate | None
    decided_at: datetime
    # Summary lines and pool results, in order; pool results expand into candidate lines.
    trace: tuple[str | PoolResult, ...] = field(repr=False, default=())
    # The reps considered, in order: single candidates (a named rep, an owner, a manager)
    # and pool results, whose members become candidates when ``candidates`` is read.
    considered: tuple[Candidate | PoolResult, ...] = field(repr=False, default=())

    @cached_property
    def candidates(self) -> tuple[Candidate, ...]:
        """Every rep considered, eligible or not, with the reasons and figures."""
        out: list[Candidate] = []
        for item in self.considered:
            if isinstance(item, PoolResult):
                out.extend(item.candidates)
            else:
                out.append(item)
        return tuple(out)

    @property
    def rotation(self) -> bool:
        """Does this lead count in the pool's rotation (and its fairness figures)?"""
        return self.state_update is not None

    @property
    def explanation(self) -> tuple[str, ...]:
        lines: list[str] = []
        for item in self.trace:
            if isinstance(item, str):
                lines.append(item)
            else:
                lines.extend(_pool_lines(item, self.decided_at))
        return tuple(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ruleset_version": self.ruleset_version,
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "action": self.action,
            "method": self.method,
            "pool_id": self.pool_id,
            "territory_id": self.territory_id,
            "outcome": self.outcome,
            "rep_id": self.rep_id,
            "rotation": self.rotation,
            "fallback_used": self.fallback_used,
            "fallback_reason": self.fallback_reason,
            "decided_at": self.decided_at.isoformat(),
            "candidates": [_candidate_dict(c) for c in self.candidates],
            "explanation": list(self.explanation),
            "state_update": self.state_update.to_dict() if self.state_update else None,
        }


def _json_value(value: Any) -> Any:
    """Metrics are kept exact while deciding and rounded for people and storage here."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    return value


def _candidate_dict(c: Candidate) -> dict[str, Any]:
    return {
        "rep_id": c.rep_id,
        "name": c.name,
        "pool_id": c.pool_id,
        "eligible": c.eligible,
        "reasons": [str(r) for r in c.reasons],
        "metrics": {k: _json_value(v) for k, v in c.metrics.items()},
        "chosen": c.chosen,
    }


def _reason_text(reason: str, c: Candidate, now: datetime) -> str:
    words = REASON_WORDS.get(reason, reason)
    if reason in (Reason.OUTSIDE_HOURS, Reason.HOLIDAY):
        local = now.astimezone(zone(c.timezone))
        stamp = f"{local:%H:%M}" if reason == Reason.OUTSIDE_HOURS else f"{local:%Y-%m-%d}"
        return f"{words} ({c.timezone} {stamp})"
    return words


def _names(candidates: list[Candidate], limit: int = 10) -> str:
    names = ", ".join(c.name for c in candidates[:limit])
    more = len(candidates) - limit
    return f"{names} (+{more} more)" if more > 0 else names


def _pool_lines(result: PoolResult, now: datetime) -> list[str]:
    pool = result.pool
    eligible = [c for c in result.candidates if c.eligible]
    lines = [
        f"Pool '{pool.name}' ({METHOD_WORDS.get(pool.method, pool.method)}): "
        f"{len(eligible)} of {len(result.candidates)} members eligible."
    ]
    said: dict[tuple[str, ...], str] = {}  # reasons in words, per reasons and time zone
    for c in result.candidates:
        if not c.eligible:
            key = (*c.reasons, c.timezone)
            if key not in said:
                said[key] = ", ".join(_reason_text(r, c, now) for r in c.reasons)
            lines.append(f"{c.name} skipped: {said[key]}.")
    others = [c for c in eligible if not c.chosen]
    chosen = [c for c in result.candidates if c.chosen]
    if chosen:
        lines.append(f"{chosen[0].name} chosen: {result.why}.")
        if others:
            lines.append(f"Also eligible: {_names(others)}.")
    return lines


class _Run:
    """One decision in progress: what was tried, in order."""

    def __init__(self, lead: Mapping[str, Any], world: World, now: datetime) -> None:
        self.lead, self.world, self.now = lead, world, now
        self.trace: list[str | PoolResult] = []
        self.candidates: list[Candidate | PoolResult] = []
        self.tried_pools: set[int] = set()
        self.team_id: int | None = None

    def pool(self, pool_id: int | None) -> tuple[PoolResult | None, str]:
        """Let the pool's method choose; (result, "") or (None, why nobody)."""
        pool = self.world.pools.get(pool_id) if pool_id is not None else None
        if pool_id is not None:
            self.tried_pools.add(pool_id)
        if pool is None:
            return None, f"pool #{pool_id} does not exist"
        self.team_id = pool.team_id
        method = METHODS.get(pool.method)
        if method is None:
            return None, f"pool '{pool.name}' has an unknown method {pool.method!r}"
        result = method(pool, self.world.state_of(pool.id), self.world, self.lead, self.now)
        self.trace.append(result)
        self.candidates.append(result)
        if result.rep_id is None:
            return None, f"no eligible member in pool '{pool.name}'"
        return result, ""

    def queue(self, pool_id: int | None) -> Pool | None:
        """The pool if it is a claim queue (the lead waits there), else None."""
        pool = self.world.pools.get(pool_id) if pool_id is not None else None
        if pool is None or pool.method != Method.CLAIM_QUEUE:
            return None
        self.tried_pools.add(pool.id)
        self.team_id = pool.team_id
        self.trace.append(
            f"Pool '{pool.name}' is a claim queue: the lead waits there for one of its "
            f"{len(pool.member_ids)} members to claim it."
        )
        return pool

    def rep(self, rep_id: int | None, role: str, blockers: frozenset[str] | None) -> str:
        """Check one rep; "" when they can take the lead, else why not."""
        rep = self.world.reps.get(rep_id) if rep_id is not None else None
        if rep is None:
            self.candidates.append(Candidate(rep_id or 0, f"#{rep_id}", False, (UNKNOWN_REP,), {}))
            return f"the {role} (#{rep_id}) is not a known rep"
        self.team_id = rep.team_id
        needs = ESCALATION if blockers else LeadNeeds()
        reasons = tuple(rep_eligibility(rep, needs, self.now, self.world.schedule))
        if blockers:
            reasons = tuple(r for r in reasons if r in blockers)
        if rep.id in self.world.excluded:
            reasons = (EXCLUDED_REP, *reasons)
        self.candidates.append(
            Candidate(rep.id, rep.name, not reasons, reasons, {}, not reasons, rep.timezone)
        )
        if reasons:
            words = ", ".join(_reason_text(r, self.candidates[-1], self.now) for r in reasons)
            self.trace.append(f"{rep.name} ({role}) cannot take it: {words}.")
            return f"the {role} {rep.name} is not available"
        return ""


def decide(
    lead: Mapping[str, Any], rules: CompiledRuleSet, world: World, now: datetime
) -> Decision:
    """Route one lead. Pure: reads its arguments only, and always returns a decision."""
    index = world.territory_index
    facts = Facts(lead, world, now, index, rules.comparisons)
    matched = None
    for compiled in rules.rules:  # a plain loop, not next(<generator>): once per lead
        if compiled.condition.matches(facts):
            matched = compiled
            break
    territory = facts.territory()
    run = _Run(lead, world, now)
    base: dict[str, Any] = {
        "ruleset_version": rules.version,
        "territory_id": territory.id if territory else None,
        "decided_at": now,
    }
    if matched is None:
        run.trace.append("No rule matched: the lead goes to triage.")
        return _finish(run, base, rule=None, action="", outcome=TRIAGE)
    rule = matched.rule
    run.trace.append(f"Rule '{rule.name}' (#{rule.position}) matched: {matched.text}.")
    kind = rule.action.kind
    if kind in (ActionKind.NURTURE, ActionKind.TRIAGE):
        run.trace.append(f"Action: {kind}.")
        return _finish(run, base, rule=rule, action=kind, outcome=str(kind))

    why = ""
    if kind in (ActionKind.POOL, ActionKind.TERRITORY_POOL):
        pool_id = rule.action.target_id
        if kind == ActionKind.TERRITORY_POOL:
            pool_id = index.pool_of(territory) if territory else None
            if territory is None:
                why = "no territory covers the lead"
            elif pool_id is None:
                why = f"territory '{territory.name}' has no pool"
            else:
                run.trace.append(f"Territory '{territory.name}' → its pool.")
        if not why and (queue := run.queue(pool_id)):
            return _queued(run, base, rule, kind, queue)
        if not why:
            result, why = run.pool(pool_id)
            if result:
                return _assigned(run, base, rule, kind, result)
    else:
        if kind == ActionKind.REP:
            rep_id, role = rule.action.target_id, "named rep"
        else:
            rep_id, role = lead.get("account_owner_id"), "account owner"
            if not lead.get("account_id"):
                why = "no account matched"
            elif rep_id is None:
                why = "the account has no owner"
        if not why:
            why = run.rep(rep_id, role, None)
            if not why:
                run.trace.append(f"Assigned to the {role}, {world.reps[rep_id].name}.")
                method = "named_rep" if kind == ActionKind.REP else "account_owner"
                return _finish(
                    run,
                    base,
                    rule=rule,
                    action=kind,
                    outcome=ASSIGNED,
                    rep_id=rep_id,
                    method=method,
                )
    return _fallback(run, base, rule, kind, why)


def _fallback(run: _Run, base: dict[str, Any], rule: Rule, action: str, why: str) -> Decision:
    fb = rule.fallback
    run.trace.append(f"Fallback ({fb.kind}) because {why}.")
    common = {"rule": rule, "action": action, "fallback_reason": why}
    if fb.kind == FallbackKind.POOL:
        if fb.target_id in run.tried_pools:
            run.trace.append("The fallback pool was already tried: the lead goes to triage.")
            return _finish(run, base, outcome=TRIAGE, **common)
        if queue := run.queue(fb.target_id):
            return _queued(run, base, rule, action, queue, fallback_reason=why)
        result, why_not = run.pool(fb.target_id)
        if result:
            return _assigned(run, base, rule, action, result, fallback_reason=why)
        run.trace.append(f"Then triage: {why_not}.")
        return _finish(run, base, outcome=TRIAGE, **common)
    if fb.kind == FallbackKind.MANAGER:
        team_id = run.team_id
        manager_id = run.world.managers.get(team_id) if team_id is not None else None
        if manager_id is None:
            run.trace.append("No team manager to escalate to: the lead goes to triage.")
            return _finish(run, base, outcome=TRIAGE, **common)
        why_not = run.rep(manager_id, "team manager", MANAGER_BLOCKERS)
        if why_not:
            run.trace.append(f"Then triage: {why_not}.")
            return _finish(run, base, outcome=TRIAGE, **common)
        run.trace.append(f"Assigned to the team manager, {run.world.reps[manager_id].name}.")
        return _finish(run, base, outcome=ASSIGNED, rep_id=manager_id, method="manager", **common)
    run.trace.append("The lead goes to triage.")
    return _finish(run, base, outcome=TRIAGE, **common)


def _queued(
    run: _Run,
    base: dict[str, Any],
    rule: Rule,
    action: str,
    pool: Pool,
    fallback_reason: str = "",
) -> Decision:
    return _finish(
        run,
        base,
        rule=rule,
        action=action,
        outcome=QUEUED,
        method=str(Method.CLAIM_QUEUE),
        pool_id=pool.id,
        fallback_reason=fallback_reason,
    )


def decide_in_pool(
    lead: Mapping[str, Any], pool_id: int, world: World, now: datetime, *, why: str
) -> Decision:
    """Choose a member of one pool by its method, with no rules: an SLA reassignment to
    the next eligible rep of the pool the lead was routed to (``world.excluded`` holds its
    previous owners). Outcome ``assigned``, or ``nobody`` when no member is eligible (the
    caller moves on: escalation). Pure, like ``decide``."""
    run = _Run(lead, world, now)
    base: dict[str, Any] = {"ruleset_version": None, "territory_id": None, "decided_at": now}
    run.trace.append(why)
    result, why_not = run.pool(pool_id)
    if result is None:
        run.trace.append(f"Nobody to take it: {why_not}.")
        return _finish(run, base, rule=None, action="pool", outcome=NOBODY, pool_id=pool_id)
    return _finish(
        run,
        base,
        rule=None,
        action="pool",
        outcome=ASSIGNED,
        rep_id=result.rep_id,
        method=str(result.pool.method),
        pool_id=result.pool.id,
        update=result.update,
    )


def _assigned(
    run: _Run,
    base: dict[str, Any],
    rule: Rule,
    action: str,
    result: PoolResult,
    fallback_reason: str = "",
) -> Decision:
    return _finish(
        run,
        base,
        rule=rule,
        action=action,
        outcome=ASSIGNED,
        rep_id=result.rep_id,
        method=str(result.pool.method),
        pool_id=result.pool.id,
        update=result.update,
        fallback_reason=fallback_reason,
    )


def _finish(
    run: _Run,
    base: dict[str, Any],
    *,
    rule: Rule | None,
    action: str,
    outcome: str,
    rep_id: int | None = None,
    method: str = "",
    pool_id: int | None = None,
    update: StateUpdate | None = None,
    fallback_reason: str = "",
) -> Decision:
    return Decision(
        rule_id=rule.id if rule else None,
        rule_name=rule.name if rule else "",
        action=str(action),
        method=method,
        pool_id=pool_id,
        outcome=outcome,
        rep_id=rep_id,
        fallback_used=bool(fallback_reason),
        fallback_reason=fallback_reason,
        considered=tuple(run.candidates),
        state_update=update,
        trace=tuple(run.trace),
        **base,
    )
