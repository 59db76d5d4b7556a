import pytest

from leadhub.leads.models import PipelineSettings
from leadhub.leads.services import lead_capture
from leadhub.leads.tests.factories import ScoringRuleFactory

pytestmark = pytest.mark.django_db


def capture(**data):
    return lead_capture(data={"company": "Initech", "country": "US", **data}, channel="api")


def test_a_resubmission_that_fills_a_rewarded_title_rescores_the_lead_and_records_it():
    settings = PipelineSettings.load()
    settings.sales_ready_score, settings.nurture_below_score = 50, 10
    settings.save()
    ScoringRuleFactory(field="employees", operator="gte", value="1000", points=20)
    ScoringRuleFactory(field="title", operator="contains", value="VP", points=40)
    lead = capture(email="ana@initech.com", employees=5000).lead
    assert (lead.score, lead.score_band) == (20, "standard")

    again = capture(email="ana@initech.com", title="VP Sales")

    assert again.outcome == "duplicate"
    lead.refresh_from_db()
    assert (lead.title, lead.score, lead.score_band) == ("VP Sales", 60, "sales_ready")
    event = lead.events.get(kind="resubmitted")
    assert event.data["filled"] == ["title"]
    assert event.data["changes"] == {
        "score": ["20", "60"],
        "score_band": ["standard", "sales_ready"],
    }
    assert [r["points"] for r in event.data["score"]["rules"]] == [20, 40]


def test_a_resubmission_that_fills_nothing_leaves_the_score_alone():
    ScoringRuleFactory(field="employees", operator="gte", value="1000", points=20)
    lead = capture(email="ana@initech.com", employees=5000).lead
    capture(email="ana@initech.com")
    event = lead.events.get(kind="resubmitted")
    assert event.data["filled"] == []
    assert "score" not in event.data
    lead.refresh_from_db()
    assert lead.score == 20
