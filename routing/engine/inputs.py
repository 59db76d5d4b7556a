"""What the engine reads: frozen snapshots of territories, pools, rules and pool state.

Nothing here touches the database. The assignment layer (later) loads these from the models
once, and the preview, the replay and the benchmarks build them directly.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from reps.availability import RepSnapshot, ScheduleMemo, WorkInterval

if TYPE_CHECKING:
    from routing.engine.territories import TerritoryIndex


class Method(StrEnum):
    ROUND_ROBIN = "round_robin"
    WEIGHTED_ROUND_ROBIN = "weighted_round_robin"
    LOAD_BALANCED = "load_balanced"
    AVAILABILITY_FIRST = "availability_first"
    SKILLS_MATCH = "skills_match"
    PERFORMANCE_WEIGHTED = "performance_weighted"
    SCORE_TIERS = "score_tiers"
    # Nobody is chosen: the lead waits in the pool until a member claims it.
    CLAIM_QUEUE = "claim_queue"


class ActionKind(StrEnum):
    POOL = "pool"
    REP = "rep"
    ACCOUNT_OWNER = "account_owner"
    TERRITORY_POOL = "territory_pool"
    NURTURE = "nurture"
    TRIAGE = "triage"


class FallbackKind(StrEnum):
    POOL = "pool"
    MANAGER = "manager"
    TRIAGE = "triage"


@dataclass(frozen=True)
class Territory:
    """A region. Every criterion it sets must match, and so must its ancestors'.

    ``states`` are the codes as the lead stores them ("CA"), read within the territory's
    (or an ancestor's) countries. ``postal_ranges`` are inclusive; see territories.py for
    how postal codes compare.
    """

    id: int
    name: str
    parent_id: int | None = None
    pool_id: int | None = None
    countries: frozenset[str] = frozenset()
    states: frozenset[str] = frozenset()
    postal_prefixes: tuple[str, ...] = ()
    postal_ranges: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PoolSettings:
    """A pool's method settings; each method reads the ones it needs (see methods.py)."""

    # rep id → weight in this pool, replacing the rep's own weight (ramp-up still applies).
    weights: Mapping[int, float] = field(default_factory=dict)
    # load_balanced: "open" (fewest open leads) or "ratio" (lowest open ÷ max_open).
    load_metric: str = "open"
    # Catch-up turns a member can be owed for leads it missed while unavailable; 0 = none.
    catch_up_limit: int = 1
    check_hours: bool = True
    allow_away: bool = False
    required_skills: frozenset[str] = frozenset()
    # skills_match: the lead field naming the skill the lead wants, e.g. "product_interest".
    skill_field: str = ""
    preferred_skills: frozenset[str] = frozenset()
    # The rep must speak the lead's language (when the lead has one).
    language_required: bool = False
    # score_tiers: (min_score, min_tier); the highest min_score ≤ the lead's score applies.
    tiers: tuple[tuple[int, int], ...] = ()
    # performance_weighted: the lowest conversion rate a member is weighted with.
    performance_floor: float = 0.05
    # claim_queue: how many claimed leads a member may hold not yet accepted (0: no limit),
    # and how long a lead may wait unclaimed before the SLA sweep escalates it.
    claim_limit: int = 0
    claim_minutes: int = 30


@dataclass(frozen=True)
class Pool:
    id: int
    name: str
    method: str = Method.ROUND_ROBIN
    # In rotation order.
    member_ids: tuple[int, ...] = ()
    settings: PoolSettings = PoolSettings()
    # Whose manager takes the pool's leads when a rule falls back to "manager".
    team_id: int | None = None


@dataclass(frozen=True)
class Action:
    kind: str
    target_id: int | None = None  # the pool (pool) or the rep (rep); unused otherwise


@dataclass(frozen=True)
class Fallback:
    kind: str = FallbackKind.TRIAGE
    target_id: int | None = None  # the pool, for kind "pool"


@dataclass(frozen=True)
class Rule:
    """One routing rule; ``condition`` is the JSON-like tree as stored (see conditions.py)."""

    id: int
    position: int
    name: str
    condition: Mapping[str, Any]
    action: Action
    fallback: Fallback = Fallback()
    enabled: bool = True


@dataclass(frozen=True)
class RuleSet:
    version: int | None  # None: the draft
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class PoolState:
    """A pool's rotation state, as the assignment layer persists it.

    ``assigned`` counts only rotation-counted assignments (never owner-routed or manager
    leads; refunds take junk and duplicates back out). ``credits`` are catch-up turns owed.
    """

    pool_id: int
    last_rep_id: int | None = None
    assigned: Mapping[int, int] = field(default_factory=dict)
    credits: Mapping[int, int] = field(default_factory=dict)
    last_assigned_at: Mapping[int, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class StateUpdate:
    """What an assignment must write to the pool's state: new absolute values for the
    entries that change. It is computed from the state the engine was given, so the
    assignment layer runs the engine under the pool-state row lock."""

    pool_id: int
    last_rep_id: int | None
    assigned: Mapping[int, int]
    credits: Mapping[int, int]
    last_assigned_at: Mapping[int, datetime]

    def to_dict(self) -> dict[str, Any]:
        return {
            "pool_id": self.pool_id,
            "last_rep_id": self.last_rep_id,
            "assigned": {str(k): v for k, v in self.assigned.items()},
            "credits": {str(k): v for k, v in self.credits.items()},
            "last_assigned_at": {str(k): v.isoformat() for k, v in self.last_assigned_at.items()},
        }


def apply_update(state: PoolState, update: StateUpdate) -> PoolState:
    """The pool state after an assignment has written ``update``."""
    return replace(
        state,
        last_rep_id=update.last_rep_id,
        assigned={**state.assigned, **update.assigned},
        credits={k: v for k, v in {**state.credits, **update.credits}.items() if v > 0},
        last_assigned_at={**state.last_assigned_at, **update.last_assigned_at},
    )


@dataclass(frozen=True)
class World:
    """Everything besides the lead and the rules that a decision reads."""

    reps: Mapping[int, RepSnapshot] = field(default_factory=dict)
    pools: Mapping[int, Pool] = field(default_factory=dict)
    states: Mapping[int, PoolState] = field(default_factory=dict)
    territories: tuple[Territory, ...] = ()
    # team id → the manager's rep id
    managers: Mapping[int, int] = field(default_factory=dict)
    # rep id → recent conversion rate, 0..1
    performance: Mapping[int, float] = field(default_factory=dict)
    # The company's business hours, for the derived fact business_hours_now.
    business_hours: tuple[WorkInterval, ...] = ()
    business_timezone: str = "UTC"
    # Reps this decision must not choose: those who declined the lead, or held it before
    # (an SLA reassignment never goes back to a previous owner).
    excluded: frozenset[int] = frozenset()

    def state_of(self, pool_id: int) -> PoolState:
        return self.states.get(pool_id) or PoolState(pool_id)

    @cached_property
    def schedule(self) -> ScheduleMemo:
        """The reps' hours, time off and holidays, remembered between the decisions made
        with this world (``reps.availability.ScheduleMemo``)."""
        return ScheduleMemo()

    @cached_property
    def territory_index(self) -> "TerritoryIndex":
        """The territories prepared for matching, once per world."""
        from routing.engine.territories import TerritoryIndex

        return TerritoryIndex(self.territories)
