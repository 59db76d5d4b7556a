"""Routing engine: each distribution method's choice and its fairness rule. No database."""

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from reps.availability import RepSnapshot
from routing.engine import (
    Action,
    Pool,
    PoolSettings,
    PoolState,
    Rule,
    RuleSet,
    World,
    apply_update,
    compile_ruleset,
    decide,
    refund,
)

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
RULES = compile_ruleset(RuleSet(1, (Rule(1, 1, "All", {}, Action("pool", 1)),)))


def reps(n: int, **kw) -> dict[int, RepSnapshot]:
    return {i: RepSnapshot(id=i, name=f"Rep {i}", team_id=1, **kw) for i in range(1, n + 1)}


def world(members: dict[int, RepSnapshot], method: str, state=None, **settings_kw) -> World:
    pool = Pool(1, "Pool", method, tuple(members), PoolSettings(**settings_kw))
    return World(reps=members, pools={1: pool}, states={1: state or PoolState(1)})


def route(w: World, lead: dict | None = None, now: datetime = NOW):
    """Decide one lead and return the decision and the world with the update applied."""
    decision = decide(lead or {}, RULES, w, now)
    if decision.state_update is not None:
        w = replace(w, states={1: apply_update(w.state_of(1), decision.state_update)})
    return decision, w


def route_many(w: World, n: int, **kw) -> tuple[list[int | None], World]:
    chosen = []
    for _ in range(n):
        decision, w = route(w, **kw)
        chosen.append(decision.rep_id)
    return chosen, w


def with_rep(w: World, rid: int, **changes) -> World:
    return replace(w, reps={**w.reps, rid: replace(w.reps[rid], **changes)})


# Round robin


def test_round_robin_takes_the_next_member_after_the_pointer_and_wraps():
    w = world(reps(3), "round_robin", PoolState(1, last_rep_id=2))
    chosen, _ = route_many(w, 4)
    assert chosen == [3, 1, 2, 3]


def test_round_robin_counts_differ_by_at_most_one_with_everyone_eligible():
    chosen, w = route_many(world(reps(4), "round_robin"), 50)
    counts = Counter(chosen)
    assert max(counts.values()) - min(counts.values()) <= 1
    assert dict(w.state_of(1).assigned) == dict(counts)


def test_a_member_skipped_while_away_keeps_its_place_and_is_served_first_on_return():
    w = world(reps(3), "round_robin", PoolState(1, last_rep_id=3))
    w = with_rep(w, 2, presence="away")
    first, w = route_many(w, 2)
    assert first == [1, 3]  # 2 skipped once: one credit
    assert w.state_of(1).credits == {2: 1}
    w = with_rep(w, 2, presence="available")
    decision, w = route(w)
    assert decision.rep_id == 2
    assert decision.explanation[-2] == "Rep 2 chosen: catch-up turn (owed 1 missed lead)."
    assert w.state_of(1).last_rep_id == 3  # a catch-up turn does not move the pointer
    after, _ = route_many(w, 3)
    assert after == [1, 2, 3]


def test_catch_up_is_bounded_by_the_pools_limit():
    w = world(reps(3), "round_robin", catch_up_limit=2)
    w = with_rep(w, 2, presence="offline")
    _, w = route_many(w, 10)
    assert w.state_of(1).credits == {2: 2}
    w = with_rep(w, 2, presence="available")
    chosen, _ = route_many(w, 3)
    assert chosen[:2] == [2, 2] and chosen[2] != 2


def test_catch_up_limit_zero_means_a_missed_turn_is_lost():
    w = with_rep(world(reps(3), "round_robin", catch_up_limit=0), 2, presence="away")
    _, w = route_many(w, 2)
    assert w.state_of(1).credits == {}
    chosen, _ = route_many(with_rep(w, 2, presence="available"), 3)
    assert chosen == [1, 2, 3]


def test_a_member_passed_over_for_a_missing_skill_earns_no_credit():
    members = reps(3, skills=frozenset({"payroll"}))
    members[2] = replace(members[2], skills=frozenset())
    w = world(members, "round_robin", required_skills=frozenset({"payroll"}))
    _, w = route_many(w, 3)
    assert w.state_of(1).credits == {}


def test_a_capped_member_is_never_chosen():
    members = reps(3)
    members[2] = replace(members[2], max_open=5, open_count=5)
    for method in ("round_robin", "weighted_round_robin", "load_balanced", "skills_match"):
        chosen, _ = route_many(world(members, method), 12)
        assert 2 not in chosen, method


def test_a_pool_with_nobody_eligible_changes_no_state_and_gives_no_credits():
    w = world(reps(2, presence="offline"), "round_robin")
    decision = decide({}, RULES, w, NOW)
    assert (decision.outcome, decision.state_update) == ("triage", None)
    assert [c.reasons for c in decision.candidates] == [("offline",), ("offline",)]


# Weighted round robin and performance weighted


@settings(max_examples=60, deadline=None)
@given(
    weights=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=7),
    n=st.integers(min_value=1, max_value=120),
)
def test_weighted_shares_stay_within_one_lead_of_the_target(weights, n):
    members = {i: RepSnapshot(i, f"Rep {i}", 1, weight=w) for i, w in enumerate(weights, 1)}
    w = world(members, "weighted_round_robin")
    total = sum(weights)
    counts: Counter[int] = Counter()
    for step in range(1, n + 1):
        decision, w = route(w)
        counts[decision.rep_id] += 1
        for rid, weight in zip(members, weights, strict=True):
            assert abs(counts[rid] - step * weight / total) < 1


def test_weighted_round_robin_is_deterministic_and_proportional():
    members = {1: RepSnapshot(1, "A", 1, weight=3), 2: RepSnapshot(2, "B", 1, weight=1)}
    chosen, _ = route_many(world(members, "weighted_round_robin"), 8)
    assert chosen == [1, 1, 2, 1, 1, 1, 2, 1]


def test_pool_weight_overrides_and_ramp_up_shape_the_shares():
    members = {
        1: RepSnapshot(1, "Senior", 1, weight=1),
        2: RepSnapshot(2, "New", 1, weight=4, ramp_until=date(2026, 12, 1), ramp_share=0.5),
    }
    chosen, _ = route_many(world(members, "weighted_round_robin", weights={1: 2}), 40)
    assert Counter(chosen) == {1: 20, 2: 20}  # 2 vs 4 x 0.5


def test_weighted_catch_up_after_an_absence_is_bounded():
    w = with_rep(world(reps(2), "weighted_round_robin", catch_up_limit=1), 2, presence="away")
    _, w = route_many(w, 20)
    w = with_rep(w, 2, presence="available")
    decision, w = route(w)
    # Rep 2 is 20 leads behind rep 1: its count is raised to 18 (stored) so that it is one
    # lead behind its share of 38; it gets one lead more than rep 1, not twenty.
    assert decision.rep_id == 2
    by_rep = {c.rep_id: c.metrics for c in decision.candidates}
    assert by_rep[2]["forgiven"] == 18
    assert decision.state_update.assigned == {2: 19}
    chosen, _ = route_many(w, 5)
    assert chosen == [2, 1, 2, 1, 2]


def test_performance_weighted_favours_converters_with_a_floor_so_nobody_starves():
    members = reps(3)
    w = replace(
        world(members, "performance_weighted", performance_floor=0.1),
        performance={1: 0.4, 2: 0.0},  # 3 has no rate: the pool's mean, 0.2
    )
    chosen, _ = route_many(w, 70)
    assert Counter(chosen) == {1: 40, 3: 20, 2: 10}
    metrics = decide({}, RULES, w, NOW).candidates[2].metrics
    assert metrics["conversion"] == 0.2


# Load balanced


def test_load_balanced_picks_the_fewest_open_leads():
    members = {i: RepSnapshot(i, f"R{i}", 1, open_count=o) for i, o in [(1, 5), (2, 2), (3, 4)]}
    assert decide({}, RULES, world(members, "load_balanced"), NOW).rep_id == 2


def test_load_balanced_by_ratio_uses_open_over_capacity_and_uncapped_has_room():
    members = {
        1: RepSnapshot(1, "A", 1, open_count=5, max_open=10),
        2: RepSnapshot(2, "B", 1, open_count=4, max_open=5),
    }
    assert decide({}, RULES, world(members, "load_balanced", load_metric="ratio"), NOW).rep_id == 1
    members[3] = RepSnapshot(3, "C", 1, open_count=30)
    assert decide({}, RULES, world(members, "load_balanced", load_metric="ratio"), NOW).rep_id == 3


def test_load_balanced_ties_go_round_the_rotation():
    w = world(reps(3, open_count=1), "load_balanced", PoolState(1, last_rep_id=1))
    chosen, _ = route_many(w, 3)  # snapshots do not change, so every lead is a tie
    assert chosen == [2, 3, 1]


# Availability first


def test_availability_first_excludes_away_and_out_of_hours_even_if_the_pool_allows_them():
    members = reps(3)
    members[1] = replace(members[1], presence="away")
    members[2] = replace(members[2], working_hours=(), time_off=((NOW, NOW + timedelta(1)),))
    w = world(members, "availability_first", allow_away=True, check_hours=False)
    decision = decide({}, RULES, w, NOW)
    assert decision.rep_id == 3
    assert [c.reasons for c in decision.candidates] == [("away",), ("time_off",), ()]


def test_availability_first_picks_the_member_idle_longest_never_assigned_first():
    state = PoolState(
        1, last_assigned_at={1: NOW - timedelta(hours=1), 2: NOW - timedelta(hours=3)}
    )
    assert decide({}, RULES, world(reps(2), "availability_first", state), NOW).rep_id == 2
    chosen, _ = route_many(world(reps(3), "availability_first", state), 3)
    assert chosen == [3, 2, 1]


# Skills match


def test_skills_match_filters_required_skills_and_prefers_the_best_match():
    members = {
        1: RepSnapshot(1, "A", 1, skills=frozenset({"payroll"}), languages=frozenset({"en"})),
        2: RepSnapshot(
            2, "B", 1, skills=frozenset({"payroll", "fintech"}), languages=frozenset({"de"})
        ),
        3: RepSnapshot(3, "C", 1, skills=frozenset({"fintech", "hr"}), languages=frozenset({"de"})),
    }
    w = world(
        members,
        "skills_match",
        required_skills=frozenset({"payroll"}),
        skill_field="product_interest",
    )
    decision = decide({"product_interest": "Fintech", "language": "de"}, RULES, w, NOW)
    assert decision.rep_id == 2
    assert [(c.rep_id, c.reasons, c.metrics["score"]) for c in decision.candidates] == [
        (1, (), 0),
        (2, (), 2),
        (3, ("missing_skill",), 2),
    ]


def test_skills_match_rotates_among_equal_matches_and_can_require_the_language():
    members = reps(3, skills=frozenset({"hr"}), languages=frozenset({"fr"}))
    members[3] = replace(members[3], languages=frozenset({"en"}))
    w = world(members, "skills_match", skill_field="product_interest", language_required=True)
    chosen, _ = route_many(w, 4, lead={"product_interest": "hr", "language": "fr"})
    assert chosen == [1, 2, 1, 2]


# Score tiers


def test_score_tiers_send_high_scores_to_senior_members_only():
    members = {i: RepSnapshot(i, f"R{i}", 1, tier=t) for i, t in [(1, 1), (2, 3), (3, 2)]}
    w = world(members, "score_tiers", tiers=((0, 1), (60, 2), (90, 3)))
    hot = decide({"score": 95}, RULES, w, NOW)
    assert hot.rep_id == 2
    assert [c.reasons for c in hot.candidates] == [("tier",), (), ("tier",)]
    chosen, _ = route_many(w, 3, lead={"score": 70})
    assert chosen == [2, 3, 2]
    chosen, _ = route_many(w, 3, lead={"score": 10})
    assert chosen == [1, 2, 3]


# Refunds


def test_refund_takes_a_lead_back_out_of_the_counts_never_below_zero():
    pool = Pool(1, "P", "weighted_round_robin", (1, 2))
    state = PoolState(1, assigned={1: 2})
    assert refund(state, 1, pool).assigned[1] == 1
    assert refund(PoolState(1), 2, pool).assigned[2] == 0


def test_refund_in_a_round_robin_pool_gives_back_a_bounded_catch_up_turn():
    pool = Pool(1, "P", "round_robin", (1, 2), PoolSettings(catch_up_limit=1))
    once = refund(PoolState(1, assigned={1: 3}), 1, pool)
    assert (once.assigned[1], once.credits) == (2, {1: 1})
    assert refund(once, 1, pool).credits == {1: 1}


def test_refunded_weighted_member_gets_the_next_lead():
    members = reps(2)
    _, w = route_many(world(members, "weighted_round_robin"), 4)
    pool = w.pools[1]
    w = replace(w, states={1: refund(refund(w.state_of(1), 1, pool), 1, pool)})
    chosen, _ = route_many(w, 2)
    assert chosen == [1, 1]
