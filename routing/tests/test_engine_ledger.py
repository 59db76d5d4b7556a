"""The fairness ledger's arithmetic (routing.engine.ledger), and the catch-up rules the
distribution methods share with it. No database."""

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from reps.availability import RepSnapshot, WorkInterval
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
)
from routing.engine.ledger import (
    DUPLICATE,
    JUNK,
    LedgerLead,
    availability_pieces,
    fair_targets,
    member_weight,
    pool_ledger,
    rotation_catch_up,
    schedule_reasons,
    weighted_catch_up,
)

# Monday 2 November 2026, 00:00 UTC; the period is that week.
MON = datetime(2026, 11, 2, tzinfo=UTC)
WEEK = (MON, MON + timedelta(days=7))
NINE_TO_FIVE = tuple(WorkInterval(d, time(9), time(17)) for d in range(5))


def rep(rid: int, **kw) -> RepSnapshot:
    return RepSnapshot(id=rid, name=f"Rep {rid}", team_id=1, **kw)


def pool(method: str = "round_robin", members=(1, 2), **settings_kw) -> Pool:
    return Pool(1, "Pool", method, tuple(members), PoolSettings(**settings_kw))


def leads(at: datetime, n: int, rep_id: int, value: float = 10, **kw) -> list[LedgerLead]:
    return [LedgerLead(at + timedelta(minutes=i), rep_id, value, **kw) for i in range(n)]


def by_rep(ledger):
    return {m.rep_id: m for m in ledger.members}


def test_equal_members_always_available_expect_equal_shares_and_balances_sum_to_zero():
    reps = {1: rep(1), 2: rep(2), 3: rep(3)}
    got = leads(MON + timedelta(hours=10), 4, 1) + leads(MON + timedelta(hours=11), 2, 2)
    ledger = by_rep(pool_ledger(pool(members=(1, 2, 3)), reps, got, *WEEK))
    assert [ledger[r].expected_count for r in (1, 2, 3)] == pytest.approx([2, 2, 2])
    assert [ledger[r].balance_count for r in (1, 2, 3)] == pytest.approx([2, 0, -2])
    assert [ledger[r].expected_value for r in (1, 2, 3)] == pytest.approx([20, 20, 20])
    assert sum(m.balance_value for m in ledger.values()) == pytest.approx(0)
    assert all(m.availability == 1 for m in ledger.values())


def test_weighted_pool_expects_shares_by_the_pools_weights_and_a_ramping_rep_gets_its_share():
    # Rep 2 ramps at a quarter of its weight until Thursday (local day), then full weight.
    reps = {1: rep(1, weight=1), 2: rep(2, weight=5, ramp_until=date(2026, 11, 5), ramp_share=0.25)}
    p = pool("weighted_round_robin", weights={2: 3.0})  # the pool's weight 3 replaces 5
    early = leads(MON + timedelta(hours=10), 7, 1)  # weights 1 : 0.75
    late = leads(MON + timedelta(days=4, hours=10), 8, 2)  # weights 1 : 3
    ledger = by_rep(pool_ledger(p, reps, early + late, *WEEK))
    assert ledger[1].expected_count == pytest.approx(7 * 1 / 1.75 + 8 * 1 / 4)
    assert ledger[2].expected_count == pytest.approx(7 * 0.75 / 1.75 + 8 * 3 / 4)
    assert ledger[2].weight == 3.0  # at the end of the period


def test_a_round_robin_pool_ignores_weights_like_the_method_does():
    reps = {1: rep(1, weight=1), 2: rep(2, weight=4)}
    ledger = by_rep(pool_ledger(pool(), reps, leads(MON, 10, 1), *WEEK))
    assert ledger[1].expected_count == ledger[2].expected_count == pytest.approx(5)


def test_availability_counts_working_hours_holidays_and_time_off_in_the_reps_own_zone():
    zone = "America/New_York"  # UTC-5 in November
    off = (datetime(2026, 11, 5, 17, tzinfo=UTC), datetime(2026, 11, 5, 19, tzinfo=UTC))
    r = rep(1, timezone=zone, working_hours=NINE_TO_FIVE)
    ledger = by_rep(pool_ledger(pool(members=(1,)), {1: r}, [], *WEEK))
    # The week in UTC starts Sunday 19:00 in New York: five full days of 8 hours.
    assert ledger[1].available_hours == pytest.approx(40)
    assert ledger[1].availability == pytest.approx(40 / 168)
    r = replace(r, holidays=frozenset({date(2026, 11, 4)}), time_off=(off,))
    ledger = by_rep(pool_ledger(pool(members=(1,)), {1: r}, [], *WEEK))
    assert ledger[1].available_hours == pytest.approx(40 - 8 - 2)


def test_a_pool_that_does_not_check_hours_counts_every_hour_but_time_off():
    off = (MON + timedelta(days=1), MON + timedelta(days=2))
    r = rep(1, working_hours=NINE_TO_FIVE, time_off=(off,))
    ledger = by_rep(pool_ledger(pool(members=(1,), check_hours=False), {1: r}, [], *WEEK))
    assert ledger[1].available_hours == pytest.approx(6 * 24)


def test_leads_during_time_off_go_to_the_others_and_are_credited_to_the_one_away():
    off = (MON + timedelta(days=1), MON + timedelta(days=2))
    reps = {1: rep(1), 2: rep(2, time_off=(off,)), 3: rep(3)}
    away = leads(MON + timedelta(days=1, hours=9), 6, 1)
    back = leads(MON + timedelta(days=3), 3, 2)
    p = pool(members=(1, 2, 3), catch_up_limit=1)
    ledger = by_rep(pool_ledger(p, reps, away + back, *WEEK))
    assert ledger[2].expected_count == pytest.approx(1)  # a third of the 3 after
    assert ledger[1].expected_count == pytest.approx(3 + 1)
    assert ledger[2].credits_count == pytest.approx(6 / 3)  # its third of the 6, had it been in
    assert ledger[2].credits_value == pytest.approx(60 / 3)
    assert ledger[2].catch_up == 1  # what the round robin gives back: catch_up_limit
    assert ledger[1].credits_count == 0
    weighted = by_rep(pool_ledger(replace(p, method="weighted_round_robin"), reps, away, *WEEK))
    assert weighted[2].catch_up == pytest.approx(weighted_catch_up(2.0, 1)) == 1


def test_outside_working_hours_is_not_time_off_and_earns_no_ledger_credit():
    reps = {1: rep(1), 2: rep(2, working_hours=NINE_TO_FIVE)}
    ledger = by_rep(pool_ledger(pool(), reps, leads(MON + timedelta(hours=20), 4, 1), *WEEK))
    assert (ledger[1].expected_count, ledger[2].expected_count) == (4, 0)
    assert ledger[2].credits_count == 0


def test_refunded_leads_count_as_received_then_come_back_out_of_every_expectation():
    reps = {1: rep(1), 2: rep(2)}
    got = [
        *leads(MON + timedelta(hours=1), 3, 1, value=10),
        LedgerLead(MON + timedelta(hours=2), 1, 50, refund=JUNK),
        LedgerLead(MON + timedelta(hours=3), 2, 30, refund=DUPLICATE),
        LedgerLead(MON + timedelta(hours=4), 2, 5),
    ]
    ledger = by_rep(pool_ledger(pool(), reps, got, *WEEK))
    one, two = ledger[1], ledger[2]
    assert (one.received_count, one.refunded_count, one.net_count) == (4, 1, 3)
    assert (one.received_value, one.refunded_value) == (80, 50)
    assert (two.refunds, one.refunds) == ({DUPLICATE: 1}, {JUNK: 1})
    assert one.expected_count == two.expected_count == pytest.approx(2)  # 4 stand
    assert one.expected_value == pytest.approx(17.5)
    assert (one.balance_count, two.balance_count) == pytest.approx((1, -1))
    assert (one.balance_value, two.balance_value) == pytest.approx((12.5, -12.5))


def test_leads_nobody_was_scheduled_for_are_shared_by_weight_and_counted():
    reps = {1: rep(1, working_hours=NINE_TO_FIVE), 2: rep(2, working_hours=NINE_TO_FIVE)}
    ledger = pool_ledger(pool(), reps, leads(MON + timedelta(hours=3), 2, 1), *WEEK)
    assert ledger.unstaffed_count == 2
    assert [m.expected_count for m in ledger.members] == pytest.approx([1, 1])


def test_a_rep_that_left_the_pool_keeps_its_row_with_nothing_expected():
    ledger = by_rep(pool_ledger(pool(members=(1,)), {1: rep(1)}, leads(MON, 2, 9), *WEEK))
    assert (ledger[9].member, ledger[9].expected_count, ledger[9].balance_count) == (False, 0, 2)
    assert ledger[1].balance_count == -2


def test_an_empty_period_is_refused():
    with pytest.raises(ValueError, match="end after"):
        pool_ledger(pool(), {}, [], MON, MON)


def test_catch_up_rules():
    assert [rotation_catch_up(m, 2) for m in (-1, 0, 1, 2, 5)] == [0, 0, 1, 2, 2]
    assert rotation_catch_up(3, 0) == 0
    assert weighted_catch_up(0.6, 0) == 0.6  # rounding, repaid by the quota method itself
    assert weighted_catch_up(1.5, 2) == 1.5
    assert weighted_catch_up(7.5, 2) == 2
    assert fair_targets({1: 1.0, 2: 3.0}, 8) == {1: 2.0, 2: 6.0}
    assert fair_targets({1: 0.0}, 8) == {1: 0.0}


# The ledger and the engine read the same rules.

RULES = compile_ruleset(RuleSet(1, (Rule(1, 1, "All", {}, Action("pool", 1)),)))


def _route(w: World, n: int, start: datetime) -> tuple[World, list[LedgerLead]]:
    got = []
    for i in range(n):
        now = start + timedelta(minutes=i)
        decision = decide({}, RULES, w, now)
        w = replace(w, states={1: apply_update(w.state_of(1), decision.state_update)})
        got.append(LedgerLead(now, decision.rep_id, 1))
    return w, got


@pytest.mark.parametrize("limit", [0, 1, 2, 3])
def test_after_a_long_time_off_the_engines_credits_are_the_ledgers_catch_up(limit):
    off = (MON, MON + timedelta(days=1))
    reps = {1: rep(1), 2: rep(2, time_off=(off,)), 3: rep(3)}
    p = pool(members=(1, 2, 3), catch_up_limit=limit)
    w, got = _route(World(reps=reps, pools={1: p}, states={1: PoolState(1)}), 12, MON)
    row = by_rep(pool_ledger(p, reps, got, *WEEK))[2]
    assert row.credits_count == pytest.approx(4)
    assert w.state_of(1).credits.get(2, 0) == row.catch_up


def test_the_engines_weighted_target_is_the_ledgers_expected_count():
    reps = {1: rep(1, weight=1), 2: rep(2, weight=3, ramp_until=date(2027, 1, 1), ramp_share=0.5)}
    p = pool("weighted_round_robin")
    w = World(reps=reps, pools={1: p}, states={1: PoolState(1)})
    w, got = _route(w, 10, MON)
    decision = decide({}, RULES, w, MON + timedelta(hours=1))
    targets = {c.rep_id: c.metrics["target"] for c in decision.candidates}
    ledger = by_rep(pool_ledger(p, reps, got, *WEEK))
    assert targets == pytest.approx({r: ledger[r].expected_count for r in (1, 2)})
    assert targets == pytest.approx({1: 4.0, 2: 6.0})


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
# Sunday 02:30-04:00 and Monday 00:30-02:45: the edges fall in the hour the clocks repeat.
DST_EDGES = (WorkInterval(6, time(2, 30), time(4)), WorkInterval(0, time(0, 30), time(2, 45)))
NIGHT = (WorkInterval(1, time(22), time(23, 59, 59)), WorkInterval(2, time(0), time(6)))


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("check_hours", [True, False])
@pytest.mark.parametrize("hours", [NINE_TO_FIVE + DST_EDGES, NIGHT], ids=["day", "night"])
def test_the_ledgers_availability_is_the_engines_eligibility_at_every_instant(
    zone, check_hours, hours
):
    # Two weeks over the end of daylight saving time in Europe (25 October) and North
    # America (1 November), checked every five minutes.
    start = datetime(2026, 10, 20, tzinfo=UTC)
    end = start + timedelta(days=13)
    r = rep(
        1,
        timezone=zone,
        working_hours=hours,
        time_off=((start + timedelta(days=2, hours=5), start + timedelta(days=3, hours=1)),),
        holidays=frozenset({date(2026, 10, 27)}),
        ramp_until=date(2026, 10, 29),
        ramp_share=0.5,
        presence="away",  # not kept over time: the ledger sets presence aside
    )
    settings_ = PoolSettings(check_hours=check_hours)
    pieces = availability_pieces(r, settings_, "weighted_round_robin", start, end)
    assert pieces[0].start == start and pieces[-1].end == end
    at, i = start + timedelta(minutes=2, seconds=30), 0
    while at < end:
        while pieces[i].end <= at:
            i += 1
        expected = schedule_reasons(r, settings_, "weighted_round_robin", at)
        assert pieces[i].reasons == expected, at
        assert pieces[i].weight == member_weight(settings_, r, at), at
        at += timedelta(minutes=5)
