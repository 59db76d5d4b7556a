"""The fairness ledger read from the database (routing.ledger) over a period seeded through
the real services, and its API (routing.api_ledger)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group

from leadhub.leads.services import lead_transition
from leadhub.leads.tests.factories import LeadFactory
from reps.models import Rep
from reps.services import time_off_add
from reps.tests.factories import RepFactory, TeamFactory, UserFactory
from routing.ledger import pool_ledger_read
from routing.models import Decision, PoolState, Rule
from routing.services import decision_refund, lead_route, ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory

pytestmark = pytest.mark.django_db

# Monday 2 to Wednesday 4 November 2026 (UTC days).
DAY1 = datetime(2026, 11, 2, tzinfo=UTC)
PERIOD = (DAY1, DAY1 + timedelta(days=3))
QUERY = "?start=2026-11-02&end=2026-11-04"


class Seeded:
    """Ann, Bob and Cyd share a round robin pool (catch-up limit 1). Day 1: six leads, one
    of Ann's marked junk; day 2: Cyd on time off, four leads; day 3: three leads."""

    def __init__(self) -> None:
        self.team = TeamFactory(name="Ledger team")
        self.ann, self.bob, self.cyd = (
            RepFactory(team=self.team, user__username=name) for name in ("ann", "bob", "cyd")
        )
        self.manager = RepFactory(team=self.team, role=Rep.Role.MANAGER)
        self.pool = PoolFactory(name="Ledger pool", team=self.team)
        for position, rep in enumerate((self.ann, self.bob, self.cyd)):
            PoolMemberFactory(pool=self.pool, rep=rep, position=position)
        with time_machine.travel(DAY1 - timedelta(hours=1), tick=False):
            draft = ruleset_draft()
            Rule.objects.create(
                ruleset=draft, position=0, name="All", condition={}, action="pool",
                action_pool=self.pool,
            )  # fmt: skip
            ruleset_publish()
            time_off_add(
                rep=self.cyd,
                start=DAY1 + timedelta(days=1),
                end=DAY1 + timedelta(days=2),
                reason="Holiday trip",
                actor=None,
            )
        self.owners = {}
        for day, n in ((0, 6), (1, 4), (2, 3)):
            for i in range(n):
                at = DAY1 + timedelta(days=day, hours=10, minutes=i)
                with time_machine.travel(at, tick=False):
                    score = 40 if (day, i) == (0, 0) else 10
                    lead = LeadFactory(score=score, custom={"deal_value": str(100 * (i + 1))})
                    decision = lead_route(lead_id=lead.pk)
                    self.owners.setdefault(decision.rep_id, []).append(lead)
        self.junk = self.owners[self.ann.pk][0]
        with time_machine.travel(DAY1 + timedelta(days=2, hours=12), tick=False):
            lead_transition(lead_id=self.junk.pk, status="junk")
            assert decision_refund(lead_id=self.junk.pk)


@pytest.fixture
def seeded() -> Seeded:
    return Seeded()


def rows(data) -> dict[str, dict]:
    return {m["rep"]: m for m in data["members"]}


def test_the_seeded_period_routes_as_the_round_robin_with_a_catch_up_turn(seeded):
    names = {seeded.ann.pk: "ann", seeded.bob.pk: "bob", seeded.cyd.pk: "cyd"}
    order = [
        names[rep_id]
        for rep_id in Decision.objects.order_by("created_at", "pk").values_list("rep_id", flat=True)
    ]
    assert order == ["ann", "bob", "cyd"] * 2 + ["ann", "bob", "ann", "bob", "cyd", "cyd", "ann"]
    # The junk refund gave Ann a catch-up turn (round robin); Cyd spent hers on day 3.
    assert PoolState.objects.get(pool=seeded.pool).credits == {str(seeded.ann.pk): 1}


def test_ledger_balances_of_the_seeded_period(seeded, django_assert_num_queries):
    with django_assert_num_queries(6):
        view = pool_ledger_read(pool=seeded.pool, start=PERIOD[0], end=PERIOD[1])
    data = view.as_data()
    m = {r["rep_id"]: r for r in data["members"]}
    ann, bob, cyd = m[seeded.ann.pk], m[seeded.bob.pk], m[seeded.cyd.pk]
    assert (data["received_count"], data["refunded_count"]) == (13, 1)
    # 12 leads stand: 5 on day 1 (a third each), 4 on day 2 (Ann and Bob), 3 on day 3.
    assert ann["expected_count"] == bob["expected_count"] == pytest.approx(5 / 3 + 2 + 1, abs=1e-4)
    assert cyd["expected_count"] == pytest.approx(5 / 3 + 1, abs=1e-4)
    assert (ann["received_count"], ann["refunded_count"], ann["refunds"]) == (5, 1, {"junk": 1})
    assert (bob["received_count"], cyd["received_count"]) == (4, 4)
    assert ann["balance_count"] == bob["balance_count"] == pytest.approx(-2 / 3, abs=1e-4)
    assert cyd["balance_count"] == pytest.approx(4 / 3, abs=1e-4)
    # Value by score: the junk lead scored 40, the others 10.
    assert (ann["received_value"], ann["refunded_value"]) == (80, 40)
    assert ann["balance_value"] == pytest.approx(40 - 10 * (5 / 3 + 3), abs=1e-3)
    # Cyd was away for a day of three: credited its third of day 2's four leads; the round
    # robin gave back one turn (catch_up_limit 1), spent on day 3, so none is owed now.
    assert (cyd["available_hours"], cyd["availability"]) == (48, pytest.approx(2 / 3, abs=1e-4))
    assert cyd["credits_count"] == pytest.approx(4 / 3, abs=1e-4)
    assert (cyd["catch_up"], cyd["credits_now"], ann["credits_now"]) == (1, 0, 1)
    assert ann["credits_count"] == 0 and ann["available_hours"] == 72
    assert sum(r["balance_count"] for r in m.values()) == pytest.approx(0, abs=1e-3)


def test_a_custom_value_field_weighs_the_leads(seeded):
    data = pool_ledger_read(
        pool=seeded.pool, start=PERIOD[0], end=PERIOD[1], value_field="custom.deal_value"
    ).as_data()
    # Day 1: 100..600, day 2: 100..400, day 3: 100..300; Bob got day 1's 2nd and 5th,
    # day 2's 2nd and 4th.
    assert rows(data)[seeded.bob.display_name]["received_value"] == 200 + 500 + 200 + 400
    assert data["received_value"] == 2100 + 1000 + 600


# --- The API ----------------------------------------------------------------------------


def revops_user():
    user = UserFactory(username="rita")
    user.groups.add(Group.objects.get(name="RevOps"))
    return user


def test_revops_and_the_pools_manager_read_the_ledger(seeded, api):
    url = f"/api/pools/{seeded.pool.pk}/ledger/{QUERY}"
    for user in (revops_user(), seeded.manager.user):
        api.force_authenticate(user)
        answer = api.get(url)
        assert answer.status_code == 200, answer.content
        assert rows(answer.json())[seeded.cyd.display_name]["credits_count"] == pytest.approx(
            4 / 3, abs=1e-4
        )
    listing = api.get(f"/api/fairness/ledger/{QUERY}&pool={seeded.pool.pk}")
    assert [p["pool"] for p in listing.json()["pools"]] == ["Ledger pool"]


class Small:
    """A team's pool with a manager and a rep, no leads: enough for who may read what."""

    def __init__(self) -> None:
        self.team = TeamFactory(name="Ledger team")
        self.ann = RepFactory(team=self.team, user__username="ann")
        self.manager = RepFactory(team=self.team, role=Rep.Role.MANAGER)
        self.pool = PoolFactory(name="Ledger pool", team=self.team)
        PoolMemberFactory(pool=self.pool, rep=self.ann, position=0)


@pytest.fixture
def small() -> Small:
    return Small()


def test_other_managers_reps_and_strangers_may_not_read_it(small, api):
    seeded = small
    url = f"/api/pools/{seeded.pool.pk}/ledger/"
    assert api.get(url).status_code in (401, 403)
    api.force_authenticate(seeded.ann.user)
    assert api.get(url).status_code == 403
    assert api.get("/api/fairness/ledger/").status_code == 403
    other = RepFactory(team=TeamFactory(name="Other"), role=Rep.Role.MANAGER)
    api.force_authenticate(other.user)
    assert api.get(url).status_code == 404
    assert api.get("/api/fairness/ledger/").json() == {"pools": []}
    answer = api.get(f"/api/fairness/ledger/?pool={seeded.pool.pk}")
    assert answer.status_code == 400 and "pool" in answer.json()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=yesterday", "start"),
        ("end=2026-13-01", "end"),
        ("start=2026-11-05&end=2026-11-01", "end"),
        ("start=2020-01-01&end=2026-11-01", "start"),
        ("end=9999-12-31", "end"),
        ("start=2026-11-01%00", "start"),
        ("value=revenue", "value"),
        ("value=custom.a-b", "value"),
        ("value=" + "x" * 500, "value"),
        ("value=score%00", "value"),
        ("pool=99999999999999999999999", "pool"),
        ("pool=abc", "pool"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(small, api, query, field):
    api.force_authenticate(revops_user())
    for url in (f"/api/pools/{small.pool.pk}/ledger/", "/api/fairness/ledger/"):
        if field == "pool" and "pools/" in url:
            continue
        answer = api.get(f"{url}?{query}")
        assert answer.status_code == 400, (url, answer.content)
        assert field in answer.json()
