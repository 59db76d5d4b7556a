"""A/B experiments in the engine: placement by a stable hash, the split, the segment and the
dates, and the decision each arm makes. Pure: no database."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from reps.availability import RepSnapshot
from routing.engine import (
    Action,
    Fallback,
    Pool,
    Rule,
    RuleError,
    RuleSet,
    World,
    compile_ruleset,
)
from routing.engine.experiments import (
    ARM_A,
    ARM_B,
    Arm,
    ArmDecision,
    arm_of,
    compile_experiment,
    decide_with_experiments,
    place,
    placement_key,
)

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
REPS = {
    1: RepSnapshot(id=1, name="Ana", team_id=1),
    2: RepSnapshot(id=2, name="Ben", team_id=1),
    3: RepSnapshot(id=3, name="Cy", team_id=1, presence="offline"),
}
POOLS = {
    10: Pool(10, "Control", "round_robin", (1,), team_id=1),
    20: Pool(20, "Challenger", "round_robin", (2,), team_id=1),
    30: Pool(30, "Offline", "round_robin", (3,), team_id=1),
}
WORLD = World(reps=REPS, pools=POOLS)


def rules_to(pool_id: int, version: int) -> object:
    rule = Rule(1, 0, "Everyone", {}, Action("pool", pool_id), Fallback("triage", None))
    return compile_ruleset(RuleSet(version, (rule,)))


IN_FORCE = rules_to(10, 1)


def experiment(eid=1, *, segment=None, split=50, a=None, b=None, start=None, end=None):
    return compile_experiment(
        id=eid,
        name=f"Test {eid}",
        segment=segment if segment is not None else {},
        split=split,
        starts_at=start or NOW - timedelta(days=1),
        ends_at=end or NOW + timedelta(days=1),
        a=a or Arm(ARM_A, "rule set version 2", rules=rules_to(10, 2)),
        b=b or Arm(ARM_B, "pool 'Challenger'", pool_id=20),
    )


def lead(i: int, **kw) -> dict:
    return {"id": i, "email": f"person{i}@example.com", "country": "DE", **kw}


def test_placement_is_stable_across_calls_and_compilations():
    first = [arm_of(7, placement_key(lead(i)), 50) for i in range(500)]
    again = [arm_of(7, placement_key(lead(i)), 50) for i in range(500)]
    assert first == again
    exp = experiment(7)
    placed = [place(lead(i), (exp,), WORLD, NOW)[1].label for i in range(500)]
    assert placed == first


def test_a_resubmission_with_the_same_email_lands_in_the_same_arm_whatever_its_id_or_case():
    for i in range(200):
        original = lead(i)
        again = {**lead(10_000 + i), "email": original["email"].upper() + " "}
        assert placement_key(original) == placement_key(again)
        assert arm_of(3, placement_key(original), 50) == arm_of(3, placement_key(again), 50)


def test_a_lead_without_email_is_placed_by_its_id():
    assert placement_key({"id": 42, "email": ""}) == "lead:42"
    assert placement_key({"id": 42}) == "lead:42"


@pytest.mark.parametrize("split", [1, 10, 30, 50, 90, 99])
def test_the_split_is_accurate(split):
    n = 40_000
    in_a = sum(arm_of(11, placement_key(lead(i)), split) == ARM_A for i in range(n))
    # Binomial: 4 standard deviations around the expected share.
    p = split / 100
    assert abs(in_a / n - p) <= 4 * (p * (1 - p) / n) ** 0.5


def test_two_experiments_place_independently():
    pairs = [
        (arm_of(1, placement_key(lead(i)), 50), arm_of(2, placement_key(lead(i)), 50))
        for i in range(20_000)
    ]
    same = sum(a == b for a, b in pairs) / len(pairs)
    assert 0.48 < same < 0.52  # not correlated: half agree by chance


def test_a_lead_outside_the_segment_is_not_placed_and_the_rules_in_force_decide():
    exp = experiment(segment={"field": "country", "op": "in", "value": "US,CA"})
    decision = decide_with_experiments(lead(1, country="DE"), IN_FORCE, WORLD, NOW, (exp,))
    assert not isinstance(decision, ArmDecision)
    assert (decision.ruleset_version, decision.pool_id, decision.rep_id) == (1, 10, 1)
    assert "experiment" not in decision.to_dict()


@pytest.mark.parametrize(
    "start, end",
    [
        (NOW + timedelta(seconds=1), NOW + timedelta(days=1)),  # not started
        (NOW - timedelta(days=2), NOW),  # ended (the end is exclusive)
    ],
)
def test_a_lead_outside_the_dates_is_not_placed(start, end):
    exp = experiment(start=start, end=end)
    decision = decide_with_experiments(lead(1), IN_FORCE, WORLD, NOW, (exp,))
    assert not isinstance(decision, ArmDecision)
    assert decision.ruleset_version == 1


def _lead_in(label: str, exp) -> dict:
    return next(
        lead(i) for i in range(1000) if place(lead(i), (exp,), WORLD, NOW)[1].label == label
    )


def test_an_arm_that_is_a_version_decides_with_that_versions_rules():
    exp = experiment(a=Arm(ARM_A, "rule set version 2", rules=rules_to(20, 2)))
    decision = decide_with_experiments(_lead_in(ARM_A, exp), IN_FORCE, WORLD, NOW, (exp,))
    assert isinstance(decision, ArmDecision)
    assert (decision.placement.arm, decision.ruleset_version, decision.pool_id) == ("a", 2, 20)
    assert decision.explanation[0].startswith("Experiment 'Test 1': the lead is in arm A")
    assert decision.to_dict()["experiment"] == {
        "id": 1,
        "name": "Test 1",
        "arm": "a",
        "arm_name": "rule set version 2",
    }


def test_an_arm_that_is_a_pool_chooses_in_the_pool():
    exp = experiment()
    decision = decide_with_experiments(_lead_in(ARM_B, exp), IN_FORCE, WORLD, NOW, (exp,))
    assert decision.placement.arm == "b"
    assert (decision.outcome, decision.pool_id, decision.rep_id) == ("assigned", 20, 2)
    assert decision.state_update is not None and decision.state_update.pool_id == 20


def test_a_pool_arm_with_nobody_eligible_falls_back_to_the_rules_and_still_records_the_arm():
    exp = experiment(b=Arm(ARM_B, "pool 'Offline'", pool_id=30))
    decision = decide_with_experiments(_lead_in(ARM_B, exp), IN_FORCE, WORLD, NOW, (exp,))
    assert decision.placement.arm == "b"
    assert (decision.outcome, decision.pool_id, decision.rep_id) == ("assigned", 10, 1)
    assert any("the rules in force decide" in line for line in decision.explanation)
    # The arm's members are candidates too (the move locks their counters).
    assert {c.rep_id for c in decision.candidates} == {1, 3}


def test_the_earliest_started_experiment_whose_segment_matches_takes_the_lead():
    first = experiment(1, segment={"field": "country", "op": "eq", "value": "US"})
    second = experiment(2)
    found = place(lead(1, country="DE"), (first, second), WORLD, NOW)
    assert found[0].id == 2
    found = place(lead(1, country="US"), (first, second), WORLD, NOW)
    assert found[0].id == 1


def test_a_bad_segment_is_refused_naming_the_node():
    with pytest.raises(RuleError, match=r"segment\.all\[1\]: Unknown operator"):
        experiment(
            segment={"all": [{"field": "country", "op": "eq", "value": "DE"},
                             {"field": "country", "op": "like", "value": "x"}]}
        )  # fmt: skip


@pytest.mark.parametrize("split", [0, 100, -5, 50.5, True, "50"])
def test_a_bad_split_is_refused(split):
    with pytest.raises(ValueError, match="split"):
        experiment(split=split)


def test_an_arm_needs_exactly_one_strategy_and_the_end_follows_the_start():
    with pytest.raises(ValueError, match="Arm B"):
        experiment(b=Arm(ARM_B, "nothing"))
    with pytest.raises(ValueError, match="end"):
        experiment(start=NOW, end=NOW)


def test_an_arm_decision_survives_replace_as_the_move_uses_it():
    exp = experiment()
    decision = decide_with_experiments(_lead_in(ARM_B, exp), IN_FORCE, WORLD, NOW, (exp,))
    again = replace(decision, state_update=None)
    assert isinstance(again, ArmDecision) and again.placement == decision.placement
    assert again.state_update is None and again.rep_id == decision.rep_id
