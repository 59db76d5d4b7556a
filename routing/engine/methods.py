"""Distribution methods: which eligible member of a pool gets the lead, and what the pool's
state must remember so that the sharing stays fair.

Common ground for every method:

- Every member is a candidate, eligible or not, with the reasons from
  ``reps.availability.rep_eligibility`` (plus ``unknown_rep`` for a member the world does
  not know, and ``zero_weight`` in the weighted methods) and the figures the method used.
- The pool's needs come from its settings: required skills, the lead's language when
  ``language_required``, ``check_hours``, ``allow_away``; score tiers add the minimum tier.
- Ties always go to rotation order after the pointer (``PoolState.last_rep_id``, the member
  served last by a plain turn): the members after it in ``Pool.member_ids`` first, wrapping
  round, the pointer's own member last. A pointer that is no longer a member counts as
  "before the first member". Nothing is random: the same inputs give the same choice.
- A chosen member's rotation count goes up by one and its ``last_assigned_at`` becomes now.
  When no member is eligible nothing changes (the rule's fallback takes the lead, and no
  member lost a turn to a colleague).

Fairness per method:

- ``round_robin``: the next eligible member after the pointer gets the lead and becomes
  the pointer. Each member passed over on the way *because it was unavailable* (inactive,
  offline, away, outside hours, time off, holiday, at a cap) keeps its place in the
  rotation and is owed one catch-up credit, up to ``catch_up_limit`` (0: no credits, a
  missed turn is lost). Members passed over because the lead does not fit them (missing
  skill, language, tier) are owed nothing: it was not their lead. Before the plain
  rotation, the first eligible member after the pointer that is owed a credit takes the
  lead, spends one credit, and the pointer stays where it was (a catch-up turn is not a
  rotation turn). So with everyone eligible, counts never differ by more than one, and a
  member back from a break gets at most ``catch_up_limit`` extra leads.
- ``weighted_round_robin``: deterministic shares proportional to the members' weights
  (``PoolSettings.weights`` overrides the rep's own, ramp-up applies: ``effective_weight``).
  It is Balinski and Young's quota method: with N counted leads so far and share p = w / Σw,
  the lead goes to the member with the lowest (count + 1) / w among those whose count is
  below (N + 1) · p. With every member eligible each count stays within 1 of N · p at every
  N. A member that was unavailable falls behind its share. On its return, if it is more
  than max(catch_up_limit, 1) leads behind, its count is raised (and the raise is stored)
  so that it is ``catch_up_limit`` leads behind a share computed as if it had been given
  those leads: it gets about ``catch_up_limit`` leads more than its share, not a burst for
  the whole absence. Shortfalls under one lead are the ordinary rounding of shares and are
  never touched, so the guarantee above holds.
- ``performance_weighted``: the same, with weight = max(performance_floor, conversion rate)
  * effective weight. A member without a rate gets the mean of the pool's known rates (1.0
  when nobody has one), so a newcomer is neither starved nor flooded.
- ``load_balanced``: fewest open leads (``load_metric`` "open"), or lowest open ÷ max_open
  ("ratio"). A member without max_open has unbounded room: its ratio is open ÷ 10⁹, so it is
  preferred to every capped member with open leads; give every member of a ratio pool a
  cap. A member that missed leads has fewer open ones, so it catches up by itself.
- ``availability_first``: only members available right now: presence "available" (away is
  excluded even if the pool allows away) and inside working hours (even if the pool does
  not check hours). Among them, the one idle longest (oldest ``last_assigned_at`` in this
  pool; never assigned first).
- ``skills_match``: required skills (and language, when required) filter; then each member
  scores one point per skill the lead wants that it has (the value of the lead's
  ``skill_field`` plus ``preferred_skills``, lower-case) and one point if it speaks the
  lead's language. Best score wins; rotation among equals.
- ``score_tiers``: the lead's score selects the minimum tier (the ``tiers`` entry with the
  highest min_score not above the score; none: tier 0); members below it are ineligible
  (reason ``tier``); the rest share the lead by round robin with its credit rules.
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import Any, NamedTuple

from reps.availability import LeadNeeds, RepSnapshot, rep_eligibility
from routing.engine.inputs import Method, Pool, PoolState, StateUpdate, World

# The catch-up rules, weights and targets are the fairness ledger's too (ledger.py).
from routing.engine.ledger import (
    EXCLUDED_REP,
    UNKNOWN_REP,
    fair_targets,
    member_weight,
    owes_catch_up,
    performance_weight,
    rotation_catch_up,
    weighted_catch_up,
)

ZERO_WEIGHT = "zero_weight"
UNBOUNDED_CAPACITY = 10**9


class Candidate(NamedTuple):
    """A rep the engine considered. A pool's members are listed in rotation order after the
    pointer (who would be next first). ``pool_id`` is None for a named rep, an account
    owner or a manager; ``metrics`` are the figures the method compared."""

    rep_id: int
    name: str
    eligible: bool
    reasons: tuple[str, ...]
    metrics: Mapping[str, Any]
    chosen: bool = False
    timezone: str = "UTC"
    pool_id: int | None = None


@dataclass(frozen=True)
class PoolResult:
    """What a pool's method chose. Its ``candidates`` (every member with its reasons and
    figures) are built when first read, for an explanation or for storage, not while
    deciding: a replay decides every lead of a month and reads them for few."""

    pool: Pool
    rep_id: int | None
    why: str  # why the chosen member, in words ("" when none)
    update: StateUpdate | None
    members: "_Members" = field(repr=False, compare=False)
    metrics: Mapping[int, Mapping[str, Any]] = field(repr=False, compare=False)

    @cached_property
    def candidates(self) -> tuple[Candidate, ...]:
        # tuple.__new__ skips the named tuple's Python-level constructor: one per member.
        make, m, get, pool_id = tuple.__new__, self.members, self.metrics.get, self.pool.id
        reps, reasons, chosen = m.reps, m.reasons, self.rep_id
        empty: Mapping[str, Any] = {}
        return tuple(
            make(
                Candidate,
                (
                    rid,
                    rep.name if rep else f"#{rid}",
                    not reasons[rid],
                    reasons[rid],
                    get(rid, empty),
                    rid == chosen,
                    rep.timezone if rep else "UTC",
                    pool_id,
                ),
            )
            for rid, rep in ((rid, reps.get(rid)) for rid in m.order)
        )


class _Members:
    """The pool's members in rotation order after the pointer, with their eligibility."""

    def __init__(self, pool: Pool, state: PoolState, world: World, needs: LeadNeeds, now: datetime):
        ids = tuple(dict.fromkeys(pool.member_ids))
        pointer = state.last_rep_id
        start = ids.index(pointer) + 1 if pointer in ids else 0
        self.order = ids[start:] + ids[:start]
        self.reps: dict[int, RepSnapshot] = {}
        self.reasons: dict[int, tuple[str, ...]] = {}
        get_rep, reps, reasons = world.reps.get, self.reps, self.reasons
        excluded, schedule = world.excluded, world.schedule
        for rid in self.order:
            rep = get_rep(rid)
            if rep is None:
                reasons[rid] = (UNKNOWN_REP,)
            else:
                reps[rid] = rep
                reasons[rid] = tuple(rep_eligibility(rep, needs, now, schedule))
                if rid in excluded:
                    reasons[rid] = (EXCLUDED_REP, *reasons[rid])
        self.eligible = [rid for rid in self.order if not reasons[rid]]


def _needs(pool: Pool, lead: Mapping[str, Any], min_tier: int = 0) -> LeadNeeds:
    s = pool.settings
    language = str(lead.get("language") or "").lower() if s.language_required else ""
    return LeadNeeds(
        skills=s.required_skills,
        language=language,
        min_tier=min_tier,
        check_hours=s.check_hours,
        allow_away=s.allow_away,
    )


def _result(
    pool: Pool,
    state: PoolState,
    m: _Members,
    metrics: Mapping[int, Mapping[str, Any]],
    chosen: int | None,
    why: str,
    now: datetime,
    *,
    pointer: int | None = None,
    credits: Mapping[int, int] | None = None,
    assigned: Mapping[int, int] | None = None,
    move_pointer: bool = True,
) -> PoolResult:
    update = None
    if chosen is not None:
        update = StateUpdate(
            pool_id=pool.id,
            last_rep_id=(pointer if pointer is not None else chosen)
            if move_pointer
            else state.last_rep_id,
            assigned=dict(assigned or {chosen: state.assigned.get(chosen, 0) + 1}),
            credits=dict(credits or {}),
            last_assigned_at={chosen: now},
        )
    return PoolResult(pool, chosen, why, update, m, metrics)


def _rotation(
    pool: Pool, state: PoolState, m: _Members, now: datetime, metrics: dict[int, dict[str, Any]]
) -> PoolResult:
    limit = max(0, pool.settings.catch_up_limit)
    credit = state.credits.get
    # No credit, nothing owed: the rule is asked only about members with credits.
    owed = {rid: rotation_catch_up(c, limit) if (c := credit(rid, 0)) else 0 for rid in m.order}
    for rid in m.order:
        row = metrics.get(rid)
        if row is None:
            metrics[rid] = {"credit": owed[rid]}
        else:
            row["credit"] = owed[rid]
    if limit:
        for rid in m.eligible:
            if owed[rid]:
                why = f"catch-up turn (owed {owed[rid]} missed lead{'s' if owed[rid] > 1 else ''})"
                return _result(
                    pool,
                    state,
                    m,
                    metrics,
                    rid,
                    why,
                    now,
                    credits={rid: owed[rid] - 1},
                    move_pointer=False,
                )
    earned: dict[int, int] = {}
    for rid in m.order:
        reasons = m.reasons[rid]
        if not reasons:
            return _result(pool, state, m, metrics, rid, "next in rotation", now, credits=earned)
        if limit and owes_catch_up(reasons):
            earned[rid] = rotation_catch_up(owed[rid] + 1, limit)
    return _result(pool, state, m, metrics, None, "", now)


def round_robin(
    pool: Pool, state: PoolState, world: World, lead: Mapping[str, Any], now: datetime
) -> PoolResult:
    m = _Members(pool, state, world, _needs(pool, lead), now)
    return _rotation(pool, state, m, now, {})


def score_tiers(
    pool: Pool, state: PoolState, world: World, lead: Mapping[str, Any], now: datetime
) -> PoolResult:
    score = lead.get("score") or 0
    min_tier = 0
    for min_score, tier in sorted(pool.settings.tiers):
        if score >= min_score:
            min_tier = tier
    m = _Members(pool, state, world, _needs(pool, lead, min_tier), now)
    metrics = {rid: {"tier": rep.tier, "min_tier": min_tier} for rid, rep in m.reps.items()}
    return _rotation(pool, state, m, now, metrics)


def _forgive(
    counts: dict[int, int], weights: Mapping[int, float], eligible: list[int], limit: int
) -> dict[int, int]:
    """Raised counts for eligible members more than max(limit, 1) leads behind their share.

    Raising a count raises the total and so every share; the new total N' solves
    N' = (counts of the others) + Σ over the raised members of (p · N' - limit).
    """
    counted = {rid: weights[rid] for rid in counts}
    total_weight = sum(counted.values())
    total = float(sum(counts.values()))
    behind: set[int] = set()
    while True:
        targets = fair_targets(counted, total)
        # Behind by more than the catch-up rule gives back.
        new = [
            rid
            for rid in eligible
            if rid not in behind
            and weighted_catch_up(targets[rid] - counts[rid], limit) < targets[rid] - counts[rid]
        ]
        if not new:
            break
        behind.update(new)
        share = sum(weights[rid] for rid in behind) / total_weight
        if share >= 1:
            break
        others = sum(c for rid, c in counts.items() if rid not in behind)
        total = (others - len(behind) * limit) / (1 - share)
    raised = {}
    for rid in behind:
        value = max(counts[rid], math.ceil(weights[rid] * total / total_weight - limit))
        if value > counts[rid]:
            raised[rid] = value
    return raised


def _weighted(
    pool: Pool,
    state: PoolState,
    m: _Members,
    weights: Mapping[int, float],
    now: datetime,
    metrics: dict[int, dict[str, Any]],
    label: str,
) -> PoolResult:
    # Shares are over the members with a positive weight, eligible now or not.
    counts: dict[int, int] = {}
    eligible = []
    assigned, weight_of, reasons = state.assigned.get, weights.get, m.reasons
    for rid in m.order:
        w = weight_of(rid, 0.0)
        a = assigned(rid, 0)
        row = metrics.get(rid)
        if row is None:
            metrics[rid] = {"weight": w, "assigned": a}
        else:
            row["weight"], row["assigned"] = w, a
        if w > 0:
            counts[rid] = a
            if not reasons[rid]:
                eligible.append(rid)
        elif rid in m.reps:
            reasons[rid] = (*reasons[rid], ZERO_WEIGHT)
    m.eligible = eligible
    if not eligible:
        return _result(pool, state, m, metrics, None, "", now)
    raised = _forgive(counts, weights, eligible, max(0, pool.settings.catch_up_limit))
    for rid, value in raised.items():
        counts[rid] = value
        metrics[rid]["forgiven"] = value - assigned(rid, 0)
    counted = {rid: weights[rid] for rid in counts}
    total_weight = sum(counted.values())
    n = sum(counts.values())
    for rid, target in fair_targets(counted, n).items():
        metrics[rid]["target"] = target
    rank = {rid: i for i, rid in enumerate(m.order)}
    # Quota method: members under their upper quota first, then lowest (count + 1) / weight.
    rid = min(
        eligible,
        key=lambda r: (
            counts[r] * total_weight >= (n + 1) * weights[r],
            (counts[r] + 1) / weights[r],
            rank[r],
        ),
    )
    why = f"furthest below its {label} share ({counts[rid]} of {metrics[rid]['target']:.1f} leads)"
    return _result(
        pool, state, m, metrics, rid, why, now, assigned={**raised, rid: counts[rid] + 1}
    )


def weighted_round_robin(
    pool: Pool, state: PoolState, world: World, lead: Mapping[str, Any], now: datetime
) -> PoolResult:
    m = _Members(pool, state, world, _needs(pool, lead), now)
    weights = {rid: member_weight(pool.settings, rep, now) for rid, rep in m.reps.items()}
    return _weighted(pool, state, m, weights, now, {}, "weighted")


def performance_weighted(
    pool: Pool, state: PoolState, world: World, lead: Mapping[str, Any], now: datetime
) -> PoolResult:
    m = _Members(pool, state, world, _needs(pool, lead), now)
    known = [world.performance[rid] for rid in m.reps if rid in world.performance]
    default = sum(known) / len(known) if known else 1.0
    weights = {}
    metrics: dict[int, dict[str, Any]] = {}
    for rid, rep in m.reps.items():
        rate = world.performance.get(rid, default)
        weights[rid] = performance_weight(pool.settings, rep, rate, now)
        metrics[rid] = {"conversion": rate}
    return _weighted(pool, state, m, weights, now, metrics, "performance-weighted")


def load_balanced(
    pool: Pool, state: PoolState, world: World, lead: Mapping[str, Any], now: datetime
) -> PoolResult:
    m = _Members(pool, state, world, _needs(pool, lead), now)
    by_ratio = pool.settings.load_metric == "ratio"
    metrics: dict[int, dict[str, Any]] = {}
    best: tuple[float, int, int] | None = None
    eligible = set(m.eligible)
    for rank, rid in enumerate(m.order):
        rep = m.reps.get(rid)
        if rep is None:
            continue
        ratio = rep.open_count / (rep.max_open or UNBOUNDED_CAPACITY)
        metrics[rid] = {"open": rep.open_count, "max_open": rep.max_open, "ratio": ratio}
        if rid in eligible:
            key = (ratio if by_ratio else rep.open_count, rank, rid)
            if best is None or key < best:
                best = key
    if best is None:
        return _result(pool, state, m, metrics, None, "", now)
    rid = best[2]
    rep = m.reps[rid]
    if by_ratio:
        cap = rep.max_open if rep.max_open is not None else "no cap"
        why = f"lowest load ({rep.open_count} open of {cap})"
    else:
        why = f"fewest open leads ({rep.open_count})"
    return _result(pool, state, m, metrics, rid, why, now)


def availability_first(
    pool: Pool, state: PoolState, world: World, lead: Mapping[str, Any], now: datetime
) -> PoolResult:
    needs = replace(_needs(pool, lead), check_hours=True, allow_away=False)
    m = _Members(pool, state, world, needs, now)
    metrics: dict[int, dict[str, Any]] = {}
    best: tuple[Any, ...] | None = None
    eligible = set(m.eligible)
    for rank, rid in enumerate(m.order):
        last = state.last_assigned_at.get(rid)
        metrics[rid] = {"last_assigned_at": last}
        if rid in eligible:
            key = (last is not None, last or now, rank, rid)
            if best is None or key < best:
                best = key
    if best is None:
        return _result(pool, state, m, metrics, None, "", now)
    rid = best[3]
    last = state.last_assigned_at.get(rid)
    why = "idle longest (never assigned here)" if last is None else "idle longest"
    return _result(pool, state, m, metrics, rid, why, now)


def skills_match(
    pool: Pool, state: PoolState, world: World, lead: Mapping[str, Any], now: datetime
) -> PoolResult:
    s = pool.settings
    m = _Members(pool, state, world, _needs(pool, lead), now)
    wanted = {k.lower() for k in s.preferred_skills}
    if s.skill_field:
        value = lead.get(s.skill_field)
        if isinstance(value, str) and value.strip():
            wanted.add(value.strip().lower())
    language = str(lead.get("language") or "").lower()
    metrics: dict[int, dict[str, Any]] = {}
    best: tuple[int, int, int] | None = None
    eligible = set(m.eligible)
    for rank, rid in enumerate(m.order):
        rep = m.reps.get(rid)
        if rep is None:
            continue
        matched = len(wanted & rep.skills)
        speaks = bool(language) and language in rep.languages
        score = matched + speaks
        metrics[rid] = {"score": score, "skills_matched": matched, "speaks_language": speaks}
        if rid in eligible:
            key = (-score, rank, rid)
            if best is None or key < best:
                best = key
    if best is None:
        return _result(pool, state, m, metrics, None, "", now)
    rid = best[2]
    return _result(pool, state, m, metrics, rid, f"best match (score {-best[0]})", now)


METHODS: dict[str, Callable[[Pool, PoolState, World, Mapping[str, Any], datetime], PoolResult]] = {
    Method.ROUND_ROBIN: round_robin,
    Method.WEIGHTED_ROUND_ROBIN: weighted_round_robin,
    Method.LOAD_BALANCED: load_balanced,
    Method.AVAILABILITY_FIRST: availability_first,
    Method.SKILLS_MATCH: skills_match,
    Method.PERFORMANCE_WEIGHTED: performance_weighted,
    Method.SCORE_TIERS: score_tiers,
}
