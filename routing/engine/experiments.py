"""A/B routing experiments: which arm a lead is in, and the decision that arm makes. Pure,
like the rest of the engine: plain data in, a decision out, no ORM.

An experiment splits the leads of a *segment* (a condition tree, as rules have) between
two *arms* while it runs (``starts_at <= now < ends_at``). An arm is a published rule-set
version (the lead is decided by that version's rules instead of the rules in force) or a
pool (the lead goes to a member of the pool by its method; when nobody in it is eligible,
the rules in force decide, and the decision still records the arm: leads are compared by
the arm they were placed in, whatever then happened to them).

Placement is a stable hash: blake2b of the experiment's id and the lead's e-mail address
(lower-cased; the lead id when it has none), so a lead routed again, or the same person
submitting again, lands in the same arm. ``split`` is arm A's share in percent.

    experiments = compile_experiments([...])          # once per change of the set-up
    decision = decide_with_experiments(lead, rules, world, now, experiments)
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from hashlib import blake2b
from typing import Any

from routing.engine.conditions import Facts, Interner, Node, parse_condition
from routing.engine.decide import NOBODY, CompiledRuleSet, Decision, decide, decide_in_pool
from routing.engine.inputs import World

ARM_A, ARM_B = "a", "b"
# Hash buckets: the split is exact to 1 / BUCKETS of the leads.
BUCKETS = 10_000


@dataclass(frozen=True)
class Arm:
    """One strategy: exactly one of ``rules`` (a compiled published version) or
    ``pool_id``."""

    label: str  # "a" or "b"
    name: str  # in words, e.g. "rule set version 4" or "pool 'Inbound EU'"
    rules: CompiledRuleSet | None = None
    pool_id: int | None = None


@dataclass(frozen=True)
class Experiment:
    """An experiment compiled once: its segment parsed, its arms' rules compiled."""

    id: int
    name: str
    segment: Node
    comparisons: int  # distinct comparisons of the segment, for the memo
    split: int  # percent of the segment's leads in arm A, 1..99
    starts_at: datetime
    ends_at: datetime
    a: Arm
    b: Arm

    def running(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


@dataclass(frozen=True)
class Placement:
    experiment_id: int
    experiment: str
    arm: str  # "a" or "b"
    arm_name: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.experiment_id,
            "name": self.experiment,
            "arm": self.arm,
            "arm_name": self.arm_name,
        }


@dataclass(frozen=True)
class ArmDecision(Decision):
    """A decision made in an experiment's arm: the engine's decision plus the placement,
    which storage records (``routing.services.core.store``) and ``to_dict`` carries."""

    placement: Placement | None = None

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["experiment"] = self.placement.to_dict() if self.placement else None
        return data


def compile_experiment(
    *,
    id: int,
    name: str,
    segment: Any,
    split: int,
    starts_at: datetime,
    ends_at: datetime,
    a: Arm,
    b: Arm,
) -> Experiment:
    """Check and compile one experiment; ``RuleError`` names a bad segment node
    (``segment.all[1]: ...``), ``ValueError`` a bad split, dates or arm."""
    interner = Interner()
    node = parse_condition(segment, "segment", interner)
    if isinstance(split, bool) or not isinstance(split, int) or not 1 <= split <= 99:
        raise ValueError(f"The split must be a whole percentage from 1 to 99, not {split!r}.")
    if ends_at <= starts_at:
        raise ValueError("The end must come after the start.")
    for arm in (a, b):
        if (arm.rules is None) == (arm.pool_id is None):
            raise ValueError(f"Arm {arm.label.upper()} needs a rule set version or a pool.")
    return Experiment(id, name, node, len(interner.seen), split, starts_at, ends_at, a, b)


def placement_key(lead: Mapping[str, Any]) -> str:
    """What the hash reads: the e-mail address when there is one, else the lead id."""
    email = (lead.get("email") or "").strip().lower()
    return f"email:{email}" if email else f"lead:{lead.get('id')}"


def bucket(experiment_id: int, key: str) -> int:
    """The lead's bucket in 0..BUCKETS-1, the same on every machine and every run."""
    digest = blake2b(f"{experiment_id}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def arm_of(experiment_id: int, key: str, split: int) -> str:
    """Arm A for the first ``split`` percent of the buckets, arm B for the rest."""
    return ARM_A if bucket(experiment_id, key) < split * BUCKETS // 100 else ARM_B


def place(
    lead: Mapping[str, Any], experiments: Iterable[Experiment], world: World, now: datetime
) -> tuple[Experiment, Arm] | None:
    """The first running experiment (in the given order: by start) whose segment the lead
    is in, and its arm; None when the lead is in none."""
    for experiment in experiments:
        if not experiment.running(now):
            continue
        facts = Facts(lead, world, now, world.territory_index, experiment.comparisons)
        if experiment.segment.matches(facts):
            label = arm_of(experiment.id, placement_key(lead), experiment.split)
            return experiment, experiment.a if label == ARM_A else experiment.b
    return None


def decide_with_experiments(
    lead: Mapping[str, Any],
    rules: CompiledRuleSet,
    world: World,
    now: datetime,
    experiments: tuple[Experiment, ...],
) -> Decision:
    """``decide`` by the rules in force, unless the lead is placed in an experiment's arm:
    then by that arm (an ``ArmDecision``). Without a running experiment this costs one
    loop over an empty tuple, or a date comparison per loaded experiment."""
    placed = place(lead, experiments, world, now) if experiments else None
    if placed is None:
        return decide(lead, rules, world, now)
    experiment, arm = placed
    line = (
        f"Experiment '{experiment.name}': the lead is in arm {arm.label.upper()} "
        f"({arm.name}; {experiment.split} % of the segment go to arm A)."
    )
    placement = Placement(experiment.id, experiment.name, arm.label, arm.name)
    if arm.pool_id is None:
        assert arm.rules is not None
        decision = decide(lead, arm.rules, world, now)
        return _in_arm(decision, placement, trace=(line, *decision.trace))
    decision = decide_in_pool(lead, arm.pool_id, world, now, why=line)
    if decision.outcome != NOBODY:
        return _in_arm(decision, placement, trace=decision.trace)
    # The arm's members stay among the candidates: the move locks their load rows too, so
    # the decision under lock sees the arm's pool as it really is.
    fallback = decide(lead, rules, world, now)
    trace = (
        *decision.trace,
        "Nobody in the arm's pool can take it: the rules in force decide.",
        *fallback.trace,
    )
    return _in_arm(
        fallback, placement, trace=trace, considered=decision.considered + fallback.considered
    )


def _in_arm(decision: Decision, placement: Placement, **changes: Any) -> ArmDecision:
    """``decision`` as an ``ArmDecision``, with ``changes``. Copied field by field rather
    than through the dataclass's ``__init__`` (or ``replace``), which costs ~8 us a time
    on a frozen class of 16 fields: this runs for every lead of a running experiment."""
    arm_decision = object.__new__(ArmDecision)
    arm_decision.__dict__.update(decision.__dict__, placement=placement, **changes)
    # The candidates are read from ``considered``, perhaps changed: not a copy made before.
    arm_decision.__dict__.pop("candidates", None)
    return arm_decision
