from dataclasses import replace

import pytest
from django.core.exceptions import PermissionDenied

from leadhub.web import metrics
from leadhub.web.tests import dataset
from leadhub.web.tests.dataset import JANUARY

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return dataset.build()


def test_speed_percentiles_interpolate_like_percentile_cont(world):
    data = metrics.speed(JANUARY, world.revops)

    overall = data["overall"]
    assert overall["assign"] == {"p50": 30.0, "p90": 46.0, "p95": 48.0, "n": 5}
    assert overall["accept"] == {"p50": 150.0, "p90": 222.0, "p95": 231.0, "n": 4}
    assert overall["notify"] == {"p50": 2.0, "p90": 2.0, "p95": 2.0, "n": 5}
    assert overall["touch"]["p50"] == 1800.0 and overall["touch"]["n"] == 3
    assert [d["day"] for d in data["daily"]] == ["2026-01-10"]
    assert data["daily"][0]["assign"] == overall["assign"]


def test_speed_filters_narrow_the_leads(world):
    by_source = metrics.speed(replace(JANUARY, source="partner"), world.revops)["overall"]
    assert by_source["assign"] == {"p50": 45.0, "p90": 49.0, "p95": 49.5, "n": 2}
    by_rep = metrics.speed(replace(JANUARY, rep_id=world.ann.pk), world.revops)["overall"]
    assert by_rep["assign"]["n"] == 1 and by_rep["assign"]["p50"] == 10.0
    by_rule = metrics.speed(replace(JANUARY, rule_name="Partners"), world.revops)["overall"]
    assert by_rule["assign"]["n"] == 1 and by_rule["assign"]["p50"] == 50.0
    south = metrics.speed(replace(JANUARY, team_id=world.south.pk), world.revops)["overall"]
    assert south["assign"]["n"] == 0 and south["assign"]["p50"] is None


def test_sla_compliance_counts_a_clock_stopped_by_an_sla_reassignment_as_breached(world):
    data = metrics.sla(JANUARY, world.revops)

    assert data["total"] == {"met": 3, "breached": 2, "compliance": 0.6}
    assert data["by_policy"] == [{"policy": "Hot", "met": 3, "breached": 2, "compliance": 0.6}]
    assert [(r["team"], r["compliance"]) for r in data["by_team"]] == [("North", 0.6)]
    by_rep = {r["rep"]: (r["met"], r["breached"]) for r in data["by_rep"]}
    assert by_rep == {"Ann A": (1, 0), "Bob B": (2, 2)}
    assert data["breaches"] == {
        "total": 2, "reassigned": 1, "escalated": 1, "triaged": 0, "recorded": 0
    }  # fmt: skip
    assert [e["action"] for e in data["events"]] == ["escalated", "reassigned"]
    assert data["events"][1]["lead_id"] == world.breached_lead.pk


def test_acceptance_rate_and_decline_reasons(world):
    data = metrics.acceptance(JANUARY, world.revops)

    assert data["total"] == {
        "assigned": 5, "accepted": 4, "pending": 1, "declined": 4, "rate": 0.5
    }  # fmt: skip
    rates = {r["rep"]: r["rate"] for r in data["by_rep"]}
    assert rates == {"Ann A": 0.5, "Bob B": 0.6, "Cat C": 0.0}
    assert data["decline_reasons"] == [
        {"reason": "Too busy", "count": 2},
        {"reason": "Not my area", "count": 1},
        {"reason": "Wrong language", "count": 1},
    ]


def test_conversion_by_rep_rule_and_source(world):
    data = metrics.conversion(JANUARY, world.revops)

    assert data["total"]["rate"] == pytest.approx(2 / 3)
    by_rep = {r["rep"]: (r["leads"], r["closed"], r["converted"]) for r in data["by_rep"]}
    assert by_rep == {"Ann A": (1, 1, 1), "Bob B": (4, 2, 1), "(unassigned)": (1, 0, 0)}
    by_rule = {r["rule"]: (r["leads"], r["rate"]) for r in data["by_rule"]}
    assert by_rule == {"Inbound": (4, pytest.approx(2 / 3)), "Partners": (1, None),
                       "(no rule)": (1, None)}  # fmt: skip
    by_source = {r["source"]: (r["leads"], r["converted"]) for r in data["by_source"]}
    assert by_source == {"web_form": (3, 2), "partner": (2, 0), "(none)": (1, 0)}


def test_gini_of_known_shares():
    assert metrics.gini([1, 1, 1]) == 0
    assert metrics.gini([1, 1, 2]) == pytest.approx(1 / 6)
    assert metrics.gini([0, 0, 1]) == pytest.approx(2 / 3)
    assert metrics.gini([]) is None


def test_fairness_against_weighted_targets_leaves_out_refunded_and_owner_routed(world):
    (pool,) = metrics.fairness(JANUARY, world.revops)

    members = {m["rep"]: m for m in pool["members"]}
    assert pool["decisions"] == 5 and pool["score"] == 150
    assert members["Ann A"]["count"] == 1 and members["Bob B"]["count"] == 4
    assert members["Ann A"]["target"] == 0.25 and members["Bob B"]["target"] == 0.75
    assert members["Ann A"]["deviation"] == pytest.approx(-0.05)
    assert pool["max_deviation"] == pytest.approx(0.05)
    assert pool["gini"] == pytest.approx(0.0714285, abs=1e-6)
    assert members["Bob B"]["score_share"] == pytest.approx(140 / 150)
    assert pool["max_score_deviation"] == pytest.approx(140 / 150 - 0.75)


def test_workload_and_queues(world):
    data = metrics.workload(JANUARY, world.revops)

    reps = {r["rep"]: r for r in data["reps"]}
    assert reps["Bob B"]["open"] == 3 and reps["Bob B"]["utilisation"] == 1.5
    assert reps["Bob B"]["over"] is True and reps["Ann A"]["max_open"] is None
    (triage,) = data["queues"]
    assert triage["queue"] == "Triage" and triage["leads"] == 1 and triage["oldest_age"] > 0


def test_a_manager_sees_only_their_team_and_a_rep_nothing(world):
    assert metrics.acceptance(JANUARY, world.mia.user)["total"]["declined"] == 3
    assert metrics.sla(JANUARY, world.sam.user)["total"]["met"] == 0
    assert metrics.fairness(JANUARY, world.sam.user) == []
    assert {r["rep"] for r in metrics.workload(JANUARY, world.mia.user)["reps"]} == {
        "Ann A", "Bob B", world.mia.display_name
    }  # fmt: skip
    with pytest.raises(PermissionDenied):
        metrics.speed(JANUARY, world.ann.user)
