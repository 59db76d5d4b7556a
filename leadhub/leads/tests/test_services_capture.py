from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from leadhub.leads.intake import LeadDataError
from leadhub.leads.models import IdempotencyRecord, Lead, LeadEvent, PipelineSettings
from leadhub.leads.services import (
    LeadTransitionError,
    account_save,
    lead_capture,
    lead_capture_partial,
    lead_transition,
    lead_update,
)
from leadhub.leads.tests.factories import (
    AccountFactory,
    EnrichmentRecordFactory,
    ScoringRuleFactory,
    WebFormFactory,
)

pytestmark = pytest.mark.django_db

FULL = {"company": "Initech", "country": "US"}


def capture(**data):
    return lead_capture(data={**FULL, **data}, channel="api")


def test_capture_stores_a_normalised_lead_with_a_captured_event():
    result = capture(
        email=" Ana@Initech.COM ",
        phone="(415) 555-2671",
        country="usa",
        employees="51-200",
        intent_signals=["Demo Request"],
    )
    lead = result.lead
    assert result.outcome == "created"
    assert (lead.email, lead.email_domain, lead.phone, lead.country) == (
        "ana@initech.com",
        "initech.com",
        "+14155552671",
        "US",
    )
    assert (lead.employees, lead.employee_band, lead.intent_signals) == (
        51,
        "51-200",
        ["demo_request"],
    )
    event = lead.events.get()
    assert event.kind == "captured"
    assert event.data["channel"] == "api"
    assert event.data["status"] == lead.status == "new"


def test_invalid_data_is_refused_with_every_reason_and_nothing_is_written():
    with pytest.raises(LeadDataError) as exc:
        lead_capture(
            data={"email": "nope", "country": "Atlantis", "employees": "many"},
            channel="api",
            idempotency=("user:1", "k"),
        )
    assert set(exc.value.errors) == {"email", "country", "employees"}
    assert not Lead.objects.exists()
    assert not LeadEvent.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_a_lead_needs_an_email_or_a_phone():
    with pytest.raises(LeadDataError) as exc:
        lead_capture(data={"first_name": "Ana"}, channel="api")
    assert exc.value.errors == {"email": ["Give an email address or a phone number."]}


def test_same_email_in_any_case_resubmits_the_open_lead_and_fills_only_blanks():
    first = capture(email="ana@initech.com", title="CTO").lead
    again = capture(
        email="ANA@initech.com", title="Intern", phone="+1 415 555 2671", source="Webinar"
    )
    assert again.outcome == "duplicate"
    assert again.lead.pk == first.pk
    first.refresh_from_db()
    assert first.title == "CTO"  # known values are never overwritten
    assert first.phone == "+14155552671"  # blanks are filled
    event = first.events.get(kind="resubmitted")
    assert event.data["source"] == "webinar"
    assert "phone" in event.data["filled"]
    assert Lead.objects.count() == 1


def test_same_phone_written_differently_is_the_same_open_lead():
    first = capture(phone="(415) 555-2671").lead
    again = capture(phone="+1 415 555 2671")
    assert (again.outcome, again.lead.pk) == ("duplicate", first.pk)


def test_a_closed_lead_does_not_swallow_a_new_submission():
    old = capture(email="ana@initech.com").lead
    lead_transition(lead_id=old.pk, status="junk")
    new = capture(email="ana@initech.com")
    assert new.outcome == "created"
    assert new.lead.pk != old.pk


def test_idempotency_key_replays_the_same_lead_and_writes_nothing():
    first = lead_capture(
        data={**FULL, "email": "a@initech.com"}, channel="api", idempotency=("user:1", "abc")
    )
    events = LeadEvent.objects.count()
    retry = lead_capture(
        data={**FULL, "email": "other@initech.com"}, channel="api", idempotency=("user:1", "abc")
    )
    assert (retry.outcome, retry.lead.pk) == ("replayed", first.lead.pk)
    assert LeadEvent.objects.count() == events
    assert Lead.objects.count() == 1


def test_idempotency_keys_are_per_caller_and_expire():
    lead_capture(
        data={**FULL, "email": "a@initech.com"}, channel="api", idempotency=("user:1", "abc")
    )
    other_caller = lead_capture(
        data={**FULL, "email": "b@initech.com"}, channel="api", idempotency=("key:9", "abc")
    )
    assert other_caller.outcome == "created"
    with time_machine.travel(timezone.now() + timedelta(hours=49)):
        later = lead_capture(
            data={**FULL, "email": "c@initech.com"}, channel="api", idempotency=("user:1", "abc")
        )
    assert later.outcome == "created"
    assert IdempotencyRecord.objects.get(scope="user:1", key="abc").lead == later.lead


def test_enrichment_fills_blanks_from_the_domain_table_and_says_so():
    EnrichmentRecordFactory(
        domain="globex.com",
        company="Globex Corporation",
        industry="Energy",
        employees=12000,
        country="DE",
    )
    lead = lead_capture(data={"email": "hank@globex.com", "country": "FR"}, channel="api").lead
    assert (lead.company, lead.industry, lead.employees, lead.employee_band) == (
        "Globex Corporation",
        "Energy",
        12000,
        "10001+",
    )
    assert lead.country == "FR"  # what the sender said wins
    enriched = lead.events.get().data["enriched"]
    assert enriched["provider"] == "local_table"
    assert "country" not in enriched["fields"]


def test_free_mail_domains_never_enrich_or_match_an_account():
    EnrichmentRecordFactory(domain="gmail.com", company="Google")
    account = account_save(
        account=AccountFactory.build(name="Gmail Account"), domains=["gmail.com"]
    )
    lead = capture(email="someone@gmail.com", company="").lead
    assert lead.company == ""
    assert lead.account is None
    assert account.domains.count() == 1


def test_account_is_matched_by_email_domain_including_subdomains_then_by_company_name():
    acme = account_save(
        account=AccountFactory.build(name="Acme, Inc."), domains=["https://acme.com"]
    )
    umbrella = account_save(account=AccountFactory.build(name="Umbrella Corp"), domains=[])
    by_domain = capture(email="x@eu.acme.com", company="Whatever").lead
    by_name = capture(email="y@gmail.com", company="UMBRELLA").lead
    assert by_domain.account == acme
    assert by_domain.events.get().data["account"]["matched_by"] == "domain:acme.com"
    assert by_name.account == umbrella
    assert by_name.events.get().data["account"]["matched_by"] == "name:umbrella"


def test_account_domains_cannot_belong_to_two_accounts():
    account_save(account=AccountFactory.build(name="Acme"), domains=["acme.com"])
    with pytest.raises(LeadDataError) as exc:
        account_save(account=AccountFactory.build(name="Acme Two"), domains=["www.acme.com"])
    assert "acme.com belongs to Acme" in exc.value.errors["domains"][0]


def test_scoring_rules_set_score_and_band_and_low_scores_go_to_nurture():
    settings = PipelineSettings.load()
    settings.sales_ready_score, settings.nurture_below_score = 50, 10
    settings.save()
    ScoringRuleFactory(field="intent_signals", operator="contains", value="demo_request", points=40)
    ScoringRuleFactory(field="employees", operator="gte", value="1000", points=20)
    hot = capture(email="a@x.com", intent_signals="demo_request", employees=5000).lead
    cold = capture(email="b@x.com").lead
    assert (hot.score, hot.score_band, hot.status) == (60, "sales_ready", "new")
    assert (cold.score, cold.score_band, cold.status) == (0, "nurture", "nurture")
    assert [r["points"] for r in hot.events.get().data["score"]["rules"]] == [40, 20]


def test_leads_missing_fields_required_for_routing_go_to_triage_with_the_reason():
    lead = lead_capture(data={"email": "a@x.com", "company": "X"}, channel="api").lead
    assert lead.status == "triage"
    assert lead.events.get().data["missing"] == ["country"]


def test_lifecycle_allows_forward_moves_and_refuses_illegal_ones_clearly():
    lead = capture(email="a@x.com").lead
    with pytest.raises(LeadTransitionError, match="A new lead cannot become converted"):
        lead_transition(lead_id=lead.pk, status="converted")
    for status in ("assigned", "accepted", "contacted", "qualified", "converted"):
        lead = lead_transition(lead_id=lead.pk, status=status, reason="test")
    assert lead.assigned_at and lead.accepted_at and lead.first_touch_at and lead.closed_at
    assert list(lead.events.filter(kind="status_changed").values_list("data__to", flat=True)) == [
        "assigned",
        "accepted",
        "contacted",
        "qualified",
        "converted",
    ]
    with pytest.raises(LeadTransitionError, match="none: it is closed"):
        lead_transition(lead_id=lead.pk, status="junk")


def test_update_validates_like_intake_rescores_and_records_each_change():
    ScoringRuleFactory(field="employees", operator="gte", value="1000", points=20)
    lead = capture(email="a@x.com", employees=10).lead
    lead = lead_update(lead_id=lead.pk, data={"employees": "2,000", "title": "VP"})
    assert (lead.employees, lead.employee_band, lead.score) == (2000, "1001-5000", 20)
    assert lead.events.get(kind="updated").data["changes"]["employees"] == ["10", "2000"]
    with pytest.raises(LeadDataError):
        lead_update(lead_id=lead.pk, data={"country": "Atlantis"})


def test_partial_submissions_build_one_lead_which_the_final_submit_completes():
    form = WebFormFactory()
    first, _ = lead_capture_partial(form=form, form_session="s1", data={"email": "ana@x.com"})
    same, errors = lead_capture_partial(
        form=form, form_session="s1", data={"company": "X Corp", "country": "nowhere"}
    )
    assert first.pk == same.pk and first.is_partial
    assert "country" in errors and same.company == "X Corp"
    done = lead_capture(
        data={"email": "ana@x.com", "country": "DE", "company": "X Corp"},
        channel="form",
        form=form,
        form_session="s1",
    )
    assert (done.outcome, done.lead.pk, done.lead.is_partial) == ("completed", first.pk, False)
    assert Lead.objects.count() == 1
    assert list(done.lead.events.values_list("kind", flat=True)) == [
        "partial_captured",
        "partial_updated",
        "completed",
    ]


def test_a_partial_that_turns_out_to_be_a_known_lead_is_merged_into_it():
    form = WebFormFactory()
    known = capture(email="ana@x.com").lead
    partial, _ = lead_capture_partial(form=form, form_session="s2", data={"phone": "+4930901820"})
    done = lead_capture(
        data={"email": "ana@x.com", "phone": "+4930901820"},
        channel="form",
        form=form,
        form_session="s2",
    )
    assert (done.outcome, done.lead.pk) == ("duplicate", known.pk)
    partial.refresh_from_db()
    assert partial.status == "junk"
    assert partial.events.get(kind="merged").data == {"into": known.pk}


def test_capture_runs_a_fixed_number_of_queries(django_assert_max_num_queries):
    account_save(account=AccountFactory.build(name="Acme"), domains=["acme.com"])
    EnrichmentRecordFactory(domain="acme.com")
    ScoringRuleFactory()
    PipelineSettings.load()
    # 9 statements (key look-up, dedupe, settings, rules, enrichment, account, lead, event,
    # key claim) and 4 savepoint markers; none of them grows with the data stored.
    with django_assert_max_num_queries(13):
        lead_capture(
            data={**FULL, "email": "a@acme.com"}, channel="api", idempotency=("user:1", "q")
        )


def test_a_resubmission_never_takes_a_contact_detail_another_open_lead_has():
    ana = capture(email="ana@x.com").lead
    bo = capture(phone="+4930901820").lead
    again = capture(email="ana@x.com", phone="+4930901820", title="CTO")
    assert (again.outcome, again.lead.pk) == ("duplicate", ana.pk)
    ana.refresh_from_db()
    assert (ana.phone, ana.title) == ("", "CTO")
    assert ana.events.get(kind="resubmitted").data["filled"] == ["title"]
    assert Lead.objects.get(phone="+4930901820") == bo
