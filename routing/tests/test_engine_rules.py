"""Routing engine: territories, conditions, rules, actions, fallbacks and the decision.

Pure: no database, no request (plain dataclasses in, a decision out)."""

import json
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from reps.availability import RepSnapshot, WorkInterval
from routing.engine import (
    Action,
    Fallback,
    Pool,
    PoolState,
    Rule,
    RuleError,
    RuleSet,
    Territory,
    World,
    compile_ruleset,
    decide,
)

# Wednesday 2026-11-18 10:00 UTC: 11:00 in Berlin, 05:00 in New York.
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
NINE_TO_FIVE = tuple(WorkInterval(d, time(9), time(17)) for d in range(5))


def rep(rid: int, name: str, team: int = 1, **kw) -> RepSnapshot:
    return RepSnapshot(id=rid, name=name, team_id=team, **kw)


def rule(rid, condition=None, action=("pool", 10), fallback=("triage", None), **kw) -> Rule:
    return Rule(
        id=rid,
        position=kw.pop("position", rid),
        name=kw.pop("name", f"Rule {rid}"),
        condition=condition or {},
        action=Action(*action),
        fallback=Fallback(*fallback),
        **kw,
    )


def ruleset(*rules: Rule, version: int | None = 1):
    return compile_ruleset(RuleSet(version, rules))


REPS = {
    1: rep(1, "Ana", timezone="Europe/Berlin", working_hours=NINE_TO_FIVE),
    2: rep(2, "Ben", timezone="America/New_York", working_hours=NINE_TO_FIVE),
    3: rep(3, "Cy", max_open=2, open_count=2),
    4: rep(4, "Dee", team=2),
    9: rep(9, "Mia (manager)"),
    8: rep(8, "Max (manager)", team=2, presence="offline"),
}
POOLS = {
    10: Pool(10, "EMEA AEs", "round_robin", (1, 2, 3), team_id=1),
    11: Pool(11, "Overflow", "round_robin", (4,), team_id=2),
    12: Pool(12, "Night shift", "round_robin", (2, 3), team_id=1),
    13: Pool(13, "Team 2 night", "round_robin", (2,), team_id=2),
}
TERRITORIES = (
    Territory(1, "World"),
    Territory(2, "United States", parent_id=1, pool_id=11, countries=frozenset({"US"})),
    Territory(3, "California", parent_id=2, states=frozenset({"CA"})),
    Territory(4, "Bay Area", parent_id=3, pool_id=10, postal_ranges=(("94000", "94999"),)),
    Territory(5, "DACH", parent_id=1, pool_id=10, countries=frozenset({"DE", "AT", "CH"})),
    Territory(6, "Berlin", parent_id=5, postal_prefixes=("10", "12")),
)
WORLD = World(
    reps=REPS,
    pools=POOLS,
    territories=TERRITORIES,
    managers={1: 9, 2: 8},
    business_hours=NINE_TO_FIVE,
    business_timezone="Europe/Berlin",
)


def territory_of(lead: dict, territories=TERRITORIES) -> str | None:
    found = World(territories=territories).territory_index.match(lead)
    return found.name if found else None


# Territories


def test_postal_range_beats_state_beats_country():
    assert territory_of({"country": "US", "state": "CA", "postal_code": "94105"}) == "Bay Area"
    assert territory_of({"country": "US", "state": "CA", "postal_code": "90001"}) == "California"
    assert territory_of({"country": "US", "state": "NY"}) == "United States"
    assert territory_of({"country": "FR"}) == "World"


def test_child_matches_only_when_its_parent_matches():
    # A Bay Area postal code outside California's state does not reach the Bay Area.
    assert territory_of({"country": "US", "state": "NV", "postal_code": "94105"}) == (
        "United States"
    )


def test_postal_prefixes_ignore_case_and_spaces_and_child_beats_parent():
    assert territory_of({"country": "de", "postal_code": "10 115"}) == "Berlin"
    assert territory_of({"country": "DE", "postal_code": "80331"}) == "DACH"


def test_numeric_postal_range_reads_zip_plus_four_by_its_first_digits():
    assert territory_of({"country": "US", "state": "CA", "postal_code": "94105-1234"}) == (
        "Bay Area"
    )
    assert territory_of({"country": "US", "state": "CA", "postal_code": "9410"}) == "California"


def test_non_numeric_postal_range_compares_lexicographically():
    london = (Territory(1, "London EC", postal_ranges=(("EC1A", "EC4Z"),)),)
    assert territory_of({"postal_code": "ec2a 4ne"}, london) == "London EC"
    assert territory_of({"postal_code": "W1A 1AA"}, london) is None


def test_equally_specific_territories_go_to_the_lowest_id():
    twins = (
        Territory(7, "B", countries=frozenset({"FR"})),
        Territory(3, "A", countries=frozenset({"FR"})),
    )
    assert territory_of({"country": "FR"}, twins) == "A"


def test_a_territory_whose_parents_loop_never_matches():
    loop = (
        Territory(1, "A", parent_id=2, countries=frozenset({"FR"})),
        Territory(2, "B", parent_id=1, countries=frozenset({"FR"})),
    )
    assert territory_of({"country": "FR"}, loop) is None


# Conditions


def decide_with(condition, lead, world=WORLD, now=NOW):
    return decide(lead, ruleset(rule(1, condition, action=("nurture", None))), world, now)


def matches(condition, lead, **kw) -> bool:
    return decide_with(condition, lead, **kw).outcome == "nurture"


def test_all_any_and_not_combine_comparisons():
    condition = {
        "all": [
            {"field": "employees", "op": "gte", "value": 1000},
            {"any": [{"field": "country", "op": "in", "value": ["DE", "FR"]}]},
            {"not": {"field": "title", "op": "regex", "value": "^intern"}},
        ]
    }
    assert matches(condition, {"employees": 5000, "country": "fr", "title": "CFO"})
    assert not matches(condition, {"employees": 5000, "country": "fr", "title": "Intern"})
    assert not matches(condition, {"employees": 999, "country": "fr", "title": "CFO"})
    assert not matches(condition, {"employees": 5000, "country": "US", "title": "CFO"})


def test_empty_condition_and_empty_all_match_every_lead_but_empty_any_matches_none():
    assert matches({}, {})
    assert matches({"all": []}, {})
    assert not matches({"any": []}, {})


def test_between_and_custom_fields_and_booleans():
    assert matches({"field": "score", "op": "between", "value": [40, 60]}, {"score": 60})
    assert not matches({"field": "score", "op": "between", "value": [40, 60]}, {"score": 61})
    plan = {"field": "custom.billing.plan", "op": "eq", "value": "Enterprise"}
    assert matches(plan, {"custom": {"billing": {"plan": "enterprise"}}})
    assert matches({"field": "partial", "op": "eq", "value": True}, {"is_partial": True})
    assert not matches({"field": "partial", "op": "eq", "value": True}, {"is_partial": False})


@pytest.mark.parametrize(
    ("condition", "lead"),
    [
        (
            {"field": "territory", "op": "eq", "value": "Bay Area"},
            {"country": "US", "state": "CA", "postal_code": "94043"},
        ),
        ({"field": "territory_id", "op": "eq", "value": 5}, {"country": "AT"}),
        ({"field": "account_matched", "op": "eq", "value": True}, {"account_id": 7}),
        ({"field": "account_matched", "op": "eq", "value": False}, {}),
        (
            {"field": "account_owner", "op": "eq", "value": 4},
            {"account_id": 7, "account_owner_id": 4},
        ),
        ({"field": "account_owner", "op": "is_empty"}, {"account_id": 7}),
        (
            {"field": "score_band", "op": "eq", "value": "sales_ready"},
            {"score_band": "sales_ready"},
        ),
        ({"field": "business_hours_now", "op": "eq", "value": True}, {}),
    ],
)
def test_derived_facts_can_be_compared(condition, lead):
    assert matches(condition, lead)


def test_business_hours_now_follows_the_business_time_zone():
    fact = {"field": "business_hours_now", "op": "eq", "value": True}
    assert matches(fact, {}, now=NOW)  # 11:00 in Berlin
    assert not matches(fact, {}, now=NOW + timedelta(hours=7))  # 18:00 in Berlin


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            {"all": [{}, {"field": "country", "op": "like", "value": "x"}]},
            "rules[1].condition.all[1]: Unknown operator 'like'.",
        ),
        (
            {"any": [{"not": {"field": "shoe_size", "op": "eq", "value": 1}}]},
            "rules[1].condition.any[0].not: Unknown field 'shoe_size'.",
        ),
        (
            {"field": "title", "op": "regex", "value": "("},
            "rules[1].condition: Not a valid regular expression",
        ),
        (
            {"field": "score", "op": "between", "value": [1]},
            "rules[1].condition: between needs two numbers",
        ),
        (
            {"field": "score", "op": "gt", "value": [1, 2]},
            "rules[1].condition: gt takes one value, not a list.",
        ),
        (
            {"field": "country", "op": "in", "value": ["DE,AT"]},
            "rules[1].condition: List items cannot contain commas.",
        ),
        ({"all": {"field": "country"}}, "rules[1].condition.all: Must be a list of conditions."),
        ({"all": [], "any": []}, "rules[1].condition: 'all' cannot be combined with other keys."),
        ({"field": "country", "value": "DE"}, "rules[1].condition: Expected all, any, not"),
        ({"all": ["country = DE"]}, "rules[1].condition.all[0]: A condition must be an object."),
    ],
)
def test_parse_errors_name_the_path_of_the_bad_node(condition, message):
    with pytest.raises(RuleError) as exc:
        compile_ruleset(RuleSet(None, (rule(1), rule(2, condition))))
    assert str(exc.value).startswith(message)


def test_actions_and_fallbacks_that_need_a_target_are_rejected():
    with pytest.raises(RuleError, match=r"rules\[0\].action: Action 'pool' needs a target"):
        compile_ruleset(RuleSet(None, (rule(1, action=("pool", None)),)))
    with pytest.raises(RuleError, match=r"rules\[0\].fallback: Fallback 'pool' needs a pool"):
        compile_ruleset(RuleSet(None, (rule(1, fallback=("pool", None)),)))
    with pytest.raises(RuleError, match=r"rules\[0\].action: Unknown action 'teleport'"):
        compile_ruleset(RuleSet(None, (rule(1, action=("teleport", None)),)))


# Rules: first match wins


def test_the_first_matching_rule_by_position_wins_whatever_the_input_order():
    rules = ruleset(
        rule(1, {"field": "country", "op": "eq", "value": "DE"}, ("triage", None), position=3),
        rule(2, {"field": "employees", "op": "gte", "value": 10}, ("nurture", None), position=1),
        rule(3, {}, ("pool", 10), position=2),
    )
    assert decide({"country": "DE", "employees": 50}, rules, WORLD, NOW).rule_id == 2
    assert decide({"country": "DE", "employees": 5}, rules, WORLD, NOW).rule_id == 3


def test_disabled_rules_are_skipped():
    rules = ruleset(
        rule(1, action=("nurture", None), enabled=False), rule(2, action=("triage", None))
    )
    assert decide({}, rules, WORLD, NOW).rule_id == 2


def test_no_matching_rule_sends_the_lead_to_triage_with_an_explanation():
    decision = decide(
        {"country": "FR"},
        ruleset(rule(1, {"field": "country", "op": "eq", "value": "DE"})),
        WORLD,
        NOW,
    )
    assert (decision.outcome, decision.rule_id, decision.rep_id) == ("triage", None, None)
    assert decision.explanation == ("No rule matched: the lead goes to triage.",)
    assert decision.ruleset_version == 1


# Actions


def test_pool_action_assigns_by_the_pools_method_and_moves_its_rotation():
    decision = decide({}, ruleset(rule(1, action=("pool", 10))), WORLD, NOW)
    assert (decision.outcome, decision.rep_id, decision.pool_id, decision.method) == (
        "assigned",
        1,
        10,
        "round_robin",
    )
    assert decision.state_update.last_rep_id == 1
    assert decision.rotation


def test_named_rep_action_assigns_without_moving_any_rotation():
    decision = decide({}, ruleset(rule(1, action=("rep", 4))), WORLD, NOW)
    assert (decision.outcome, decision.rep_id, decision.method) == ("assigned", 4, "named_rep")
    assert decision.state_update is None and decision.pool_id is None


def test_named_rep_who_is_ineligible_falls_back():
    decision = decide({}, ruleset(rule(1, action=("rep", 3), fallback=("pool", 11))), WORLD, NOW)
    assert (decision.rep_id, decision.pool_id, decision.fallback_used) == (4, 11, True)
    assert decision.fallback_reason == "the named rep Cy is not available"


def test_account_owner_gets_the_lead_and_owner_routed_leads_do_not_move_the_rotation():
    lead = {"account_id": 7, "account_owner_id": 4}
    decision = decide(lead, ruleset(rule(1, action=("account_owner", None))), WORLD, NOW)
    assert (decision.outcome, decision.rep_id, decision.method) == ("assigned", 4, "account_owner")
    assert decision.state_update is None
    assert not decision.rotation


@pytest.mark.parametrize(
    ("lead", "why"),
    [
        ({}, "no account matched"),
        ({"account_id": 7}, "the account has no owner"),
        ({"account_id": 7, "account_owner_id": 3}, "the account owner Cy is not available"),
        ({"account_id": 7, "account_owner_id": 99}, "the account owner (#99) is not a known rep"),
    ],
)
def test_account_owner_action_falls_back_when_there_is_no_eligible_owner(lead, why):
    decision = decide(
        lead, ruleset(rule(1, action=("account_owner", None), fallback=("pool", 11))), WORLD, NOW
    )
    assert (decision.rep_id, decision.fallback_used, decision.fallback_reason) == (4, True, why)


def test_territory_pool_action_uses_the_nearest_pool_up_the_tree():
    rules = ruleset(rule(1, action=("territory_pool", None)))
    california = decide({"country": "US", "state": "CA", "postal_code": "90001"}, rules, WORLD, NOW)
    assert (california.territory_id, california.pool_id) == (3, 11)  # California → US's pool
    bay = decide({"country": "US", "state": "CA", "postal_code": "94043"}, rules, WORLD, NOW)
    assert (bay.territory_id, bay.pool_id) == (4, 10)


def test_territory_pool_action_without_a_pool_falls_back():
    decision = decide(
        {"country": "FR"}, ruleset(rule(1, action=("territory_pool", None))), WORLD, NOW
    )
    assert (decision.outcome, decision.fallback_reason) == (
        "triage",
        "territory 'World' has no pool",
    )


@pytest.mark.parametrize("kind", ["nurture", "triage"])
def test_nurture_and_triage_actions_send_the_lead_to_that_queue(kind):
    decision = decide({}, ruleset(rule(1, action=(kind, None))), WORLD, NOW)
    assert (decision.outcome, decision.rep_id, decision.candidates) == (kind, None, ())


# Fallbacks


def test_pool_with_no_eligible_member_falls_back_to_another_pool():
    decision = decide({}, ruleset(rule(1, action=("pool", 12), fallback=("pool", 11))), WORLD, NOW)
    assert (decision.rep_id, decision.pool_id, decision.fallback_used) == (4, 11, True)
    assert decision.fallback_reason == "no eligible member in pool 'Night shift'"
    assert [c.pool_id for c in decision.candidates] == [12, 12, 11]


def test_fallback_to_the_same_pool_is_not_tried_twice():
    decision = decide({}, ruleset(rule(1, action=("pool", 12), fallback=("pool", 12))), WORLD, NOW)
    assert decision.outcome == "triage"
    assert len(decision.candidates) == 2  # the pool ran once
    assert "already tried" in decision.explanation[-1]


def test_fallback_pool_with_nobody_eligible_ends_in_triage():
    decision = decide({}, ruleset(rule(1, action=("pool", 12), fallback=("pool", 13))), WORLD, NOW)
    assert decision.outcome == "triage" and decision.fallback_used


def test_manager_fallback_goes_to_the_pools_team_manager_even_outside_hours():
    world = World(
        reps={**REPS, 9: rep(9, "Mia", working_hours=NINE_TO_FIVE, timezone="Asia/Tokyo")},
        pools=POOLS,
        managers={1: 9},
    )
    decision = decide(
        {}, ruleset(rule(1, action=("pool", 12), fallback=("manager", None))), world, NOW
    )
    assert (decision.outcome, decision.rep_id, decision.method) == ("assigned", 9, "manager")
    assert decision.state_update is None


def test_manager_fallback_after_a_named_rep_uses_that_reps_team():
    decision = decide(
        {}, ruleset(rule(1, action=("rep", 3), fallback=("manager", None))), WORLD, NOW
    )
    assert decision.rep_id == 9


def test_manager_fallback_ignores_routine_caps_but_not_the_ceiling_of_escalated_leads():
    rules = ruleset(rule(1, action=("pool", 12), fallback=("manager", None)))
    busy = rep(9, "Mia (manager)", max_open=1, open_count=40, max_escalated=3, escalated_count=2)
    below = decide({}, rules, replace(WORLD, reps={**REPS, 9: busy}), NOW)
    assert (below.outcome, below.rep_id, below.method) == ("assigned", 9, "manager")
    full = replace(busy, escalated_count=3)
    at_ceiling = decide({}, rules, replace(WORLD, reps={**REPS, 9: full}), NOW)
    assert (at_ceiling.outcome, at_ceiling.rep_id) == ("triage", None)
    assert (
        "Mia (manager) (team manager) cannot take it: at the ceiling of open escalated leads."
        in at_ceiling.explanation
    )


def test_offline_or_missing_manager_sends_the_lead_to_triage():
    offline = decide(
        {}, ruleset(rule(1, action=("pool", 13), fallback=("manager", None))), WORLD, NOW
    )
    assert offline.outcome == "triage"
    assert "Max (manager) (team manager) cannot take it: offline." in offline.explanation
    no_manager = World(reps=REPS, pools=POOLS)
    decision = decide(
        {}, ruleset(rule(1, action=("pool", 12), fallback=("manager", None))), no_manager, NOW
    )
    assert decision.outcome == "triage"


def test_unknown_pool_falls_back():
    decision = decide({}, ruleset(rule(1, action=("pool", 77), fallback=("pool", 11))), WORLD, NOW)
    assert (decision.rep_id, decision.fallback_reason) == (4, "pool #77 does not exist")


# The decision


def test_every_member_is_listed_with_its_reasons_and_figures():
    decision = decide({}, ruleset(rule(1, action=("pool", 10))), WORLD, NOW)
    rows = [(c.rep_id, c.eligible, tuple(c.reasons), c.chosen) for c in decision.candidates]
    assert rows == [
        (1, True, (), True),
        (2, False, ("outside_hours",), False),
        (3, False, ("cap_open",), False),
    ]
    assert decision.candidates[0].metrics == {"credit": 0}


def test_explanation_reads_as_plain_english():
    rules = ruleset(
        rule(
            4,
            {
                "all": [
                    {"field": "employees", "op": "gte", "value": 1000},
                    {"field": "country", "op": "in", "value": ["DE", "FR"]},
                ]
            },
            name="Enterprise EMEA",
        )
    )
    later = NOW + timedelta(hours=8, minutes=12)  # 19:12 in Berlin, 13:12 in New York
    decision = decide({"employees": 5000, "country": "DE"}, rules, WORLD, later)
    assert decision.explanation == (
        "Rule 'Enterprise EMEA' (#4) matched: employees ≥ 1000 and country in DE, FR.",
        "Pool 'EMEA AEs' (round robin): 1 of 3 members eligible.",
        "Ana skipped: outside working hours (Europe/Berlin 19:12).",
        "Cy skipped: at the maximum of open leads.",
        "Ben chosen: next in rotation.",
    )


def test_to_dict_is_json_serialisable():
    state = PoolState(10, last_rep_id=1, last_assigned_at={1: NOW - timedelta(hours=1)})
    world = World(
        reps=REPS,
        pools={**POOLS, 10: Pool(10, "EMEA", "availability_first", (1, 4))},
        states={10: state},
    )
    decision = decide({"country": "DE"}, ruleset(rule(1, action=("pool", 10))), world, NOW)
    payload = json.loads(json.dumps(decision.to_dict()))
    assert payload["rep_id"] == 4 and payload["outcome"] == "assigned"
    assert payload["candidates"][1]["metrics"] == {"last_assigned_at": "2026-11-18T09:00:00+00:00"}
    assert payload["state_update"]["last_assigned_at"] == {"4": "2026-11-18T10:00:00+00:00"}
    assert payload["explanation"][-1] == "Also eligible: Ana."


def test_same_inputs_give_the_same_decision():
    rules = ruleset(
        rule(
            1,
            {"field": "country", "op": "in", "value": ["DE", "US"]},
            ("territory_pool", None),
            ("manager", None),
        )
    )
    lead = {"country": "US", "state": "CA", "postal_code": "94043"}
    first = decide(lead, rules, WORLD, NOW)
    again = decide(dict(lead), rules, WORLD, NOW)
    assert first == again
    assert first.to_dict() == again.to_dict()
