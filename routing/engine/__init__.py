"""The routing engine: pure Python over plain data, no ORM and no request.

    rules = compile_ruleset(ruleset)              # once per published version
    decision = decide(lead, rules, world, now)    # per lead

``lead`` is a dict of lead fields (as on the Lead model, plus ``account_id`` and
``account_owner_id`` from the account match); ``world`` holds the rep snapshots, pools,
pool states, territories, team managers, conversion rates and business hours. The same
call serves live routing (under the pool-state lock), the preview, the replay and the
benchmarks. The modules:

- inputs.py: the frozen input types, the state update and ``apply_update``;
- territories.py: hierarchical territory matching, most specific wins;
- conditions.py: rule condition trees, parsed once, and the derived facts;
- methods.py: the distribution methods and their fairness rules;
- decide.py: rules, actions, fallbacks and the explained ``Decision``;
- moves.py: the decisions of steps after routing (escalation, claim, release, manual
  reassignment, handover, triage), explained the same way;
- experiments.py: A/B experiments, a lead's arm by a stable hash;
- ledger.py: the fairness arithmetic (weights, targets, catch-up, the junk ``refund``) the
  methods and the fairness ledger share;
- lint.py: what can be proved about a rule set without a lead (unreachable rules, hours
  nobody works, overlapping territories).
"""

from routing.engine.conditions import DERIVED_FACTS, RuleError, parse_condition
from routing.engine.decide import (
    ASSIGNED,
    NOBODY,
    NURTURE,
    QUEUED,
    TRIAGE,
    CompiledRuleSet,
    Decision,
    compile_ruleset,
    decide,
    decide_in_pool,
)
from routing.engine.inputs import (
    Action,
    ActionKind,
    Fallback,
    FallbackKind,
    Method,
    Pool,
    PoolSettings,
    PoolState,
    Rule,
    RuleSet,
    StateUpdate,
    Territory,
    World,
    apply_update,
)
from routing.engine.ledger import refund
from routing.engine.methods import Candidate
from routing.engine.moves import (
    ESCALATION_METHODS,
    decide_escalation,
    decide_for_rep,
    decide_queue,
    decide_triage,
    reasons_in_words,
)
from routing.engine.territories import TerritoryIndex

__all__ = [
    "ASSIGNED",
    "DERIVED_FACTS",
    "ESCALATION_METHODS",
    "NOBODY",
    "NURTURE",
    "QUEUED",
    "TRIAGE",
    "Action",
    "ActionKind",
    "Candidate",
    "CompiledRuleSet",
    "Decision",
    "Fallback",
    "FallbackKind",
    "Method",
    "Pool",
    "PoolSettings",
    "PoolState",
    "Rule",
    "RuleError",
    "RuleSet",
    "StateUpdate",
    "Territory",
    "TerritoryIndex",
    "World",
    "apply_update",
    "compile_ruleset",
    "decide",
    "decide_escalation",
    "decide_for_rep",
    "decide_in_pool",
    "decide_queue",
    "decide_triage",
    "parse_condition",
    "reasons_in_words",
    "refund",
]
