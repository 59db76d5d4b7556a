import pytest

from leadhub.leads.conditions import ConditionError, check_comparison, compare, lead_value
from leadhub.leads.scoring import ScoringRuleData, Thresholds, score_band, score_lead


@pytest.mark.parametrize(
    ("actual", "op", "expected", "result"),
    [
        ("Germany", "eq", "germany", True),
        ("DE", "in", "de, at, ch", True),
        ("FR", "not_in", "DE,AT", True),
        ("VP of Sales", "contains", "sales", True),
        ("VP of Sales", "starts_with", "vp", True),
        ("Head of IT", "regex", r"\b(head|vp)\b", True),
        (1500, "gte", "1000", True),
        (999, "gte", "1000", False),
        ("1500", "gt", "1000", True),
        (50, "between", "10,100", True),
        (None, "gt", "0", False),
        (None, "neq", "x", True),
        ("", "is_empty", "", True),
        ([], "is_set", "", False),
        (["demo_request", "pricing_page"], "contains", "demo_request", True),
        (["https://x.com/pricing"], "contains", "/pricing", True),
        (["webinar"], "eq", "demo_request", False),
        (100, "eq", "100.0", True),
    ],
)
def test_compare(actual, op, expected, result):
    assert compare(actual, op, expected) is result


def test_custom_fields_are_reached_by_dotted_path():
    snap = {"custom": {"plan": {"tier": "gold"}}}
    assert lead_value(snap, "custom.plan.tier") == "gold"
    assert lead_value(snap, "custom.missing.deeper") is None


@pytest.mark.parametrize(
    ("field", "op", "value", "bad"),
    [
        ("nope", "eq", "x", "field"),
        ("country", "like", "x", "operator"),
        ("employees", "gt", "many", "value"),
        ("title", "regex", "(", "value"),
        ("score", "between", "1", "value"),
        ("country", "eq", " ", "value"),
    ],
)
def test_check_comparison_names_the_bad_part(field, op, value, bad):
    with pytest.raises(ConditionError) as exc:
        check_comparison(field, op, value)
    assert exc.value.field == bad


def test_score_adds_points_of_matching_rules_and_reports_them():
    rules = [
        ScoringRuleData(1, "Demo", "intent_signals", "contains", "demo_request", 40),
        ScoringRuleData(2, "Big", "employees", "gte", "1000", 20),
        ScoringRuleData(3, "Student", "custom.student", "eq", "true", -30),
    ]
    total, matched = score_lead({"intent_signals": ["demo_request"], "employees": 5000}, rules)
    assert total == 60
    assert [m["rule"] for m in matched] == [1, 2]


def test_score_band_thresholds():
    t = Thresholds(sales_ready=50, nurture_below=10)
    assert score_band(50, t) == "sales_ready"
    assert score_band(49, t) == "standard"
    assert score_band(9, t) == "nurture"
