"""Issue 13: a lead from a subdomain of an account's domain (jo@eu.cobalthealth.com) matches
the account, takes its company and is not triaged for a missing company; enrichment falls
back to the registrable domain; free mail never identifies a company, subdomain or not."""

import pytest

from leadhub.leads.enrichment import enrichment_for
from leadhub.leads.models import PipelineSettings
from leadhub.leads.normalize import domain_candidates
from leadhub.leads.services import account_save, lead_capture
from leadhub.leads.tests.factories import AccountFactory, EnrichmentRecordFactory


@pytest.mark.parametrize(
    ("domain", "candidates"),
    [
        ("eu.cobalthealth.com", ["eu.cobalthealth.com", "cobalthealth.com"]),
        ("cobalthealth.com", ["cobalthealth.com"]),
        ("sub.example.co.uk", ["sub.example.co.uk", "example.co.uk"]),
        ("a.b.example.com.au", ["a.b.example.com.au", "b.example.com.au", "example.com.au"]),
        ("localhost", ["localhost"]),
    ],
)
def test_domain_candidates_walk_up_to_the_registrable_domain_and_stop(domain, candidates):
    assert domain_candidates(domain) == candidates


@pytest.mark.django_db
def test_subdomain_lead_matches_the_account_takes_its_company_and_is_not_triaged():
    settings = PipelineSettings.load()
    assert "company" in settings.routing_required_fields
    cobalt = account_save(
        account=AccountFactory.build(name="Cobalt Health Systems", industry="Healthcare"),
        domains=["cobalthealth.com"],
    )
    lead = lead_capture(
        data={"email": "jo@eu.cobalthealth.com", "country": "US"}, channel="api"
    ).lead
    event = lead.events.get().data
    assert lead.account == cobalt
    assert event["account"]["matched_by"] == "domain:cobalthealth.com"
    assert lead.company == "Cobalt Health Systems"
    assert lead.status == "new"
    assert "missing" not in event


@pytest.mark.django_db
def test_a_company_the_sender_gave_is_kept_when_the_account_matches():
    account_save(
        account=AccountFactory.build(name="Cobalt Health Systems"), domains=["cobalthealth.com"]
    )
    lead = lead_capture(
        data={"email": "jo@eu.cobalthealth.com", "company": "Cobalt EU", "country": "US"},
        channel="api",
    ).lead
    assert lead.company == "Cobalt EU"


@pytest.mark.django_db
def test_enrichment_falls_back_to_the_registrable_domain():
    EnrichmentRecordFactory(domain="example.co.uk", company="Example UK", industry="Retail")
    EnrichmentRecordFactory(domain="co.uk", company="Not a company")
    EnrichmentRecordFactory(domain="acme.com", company="Acme")
    EnrichmentRecordFactory(domain="eu.acme.com", company="Acme Europe")
    found = enrichment_for({"sub.example.co.uk", "eu.acme.com", "unknown.example"})
    assert found == {
        "sub.example.co.uk": (
            "local_table",
            {
                "company": "Example UK",
                "industry": "Retail",
                "employees": 800,
                "country": "DE",
            },
        ),
        "eu.acme.com": (
            "local_table",
            {"company": "Acme Europe", "industry": "Software", "employees": 800, "country": "DE"},
        ),
    }


@pytest.mark.django_db
def test_subdomain_lead_is_enriched_from_the_registrable_domain():
    EnrichmentRecordFactory(domain="cobalthealth.com", company="Cobalt Health Systems")
    lead = lead_capture(data={"email": "jo@eu.cobalthealth.com"}, channel="api").lead
    assert (lead.company, lead.country) == ("Cobalt Health Systems", "DE")
    assert lead.events.get().data["enriched"]["provider"] == "local_table"
    assert lead.status == "new"


@pytest.mark.django_db
def test_a_free_mail_subdomain_never_matches_an_account_or_enriches():
    EnrichmentRecordFactory(domain="yahoo.co.uk", company="Yahoo")
    account_save(account=AccountFactory.build(name="Yahoo UK"), domains=["yahoo.co.uk"])
    lead = lead_capture(data={"email": "jo@mail.yahoo.co.uk", "country": "GB"}, channel="api").lead
    assert lead.account is None
    assert lead.company == ""
    assert lead.status == "triage"
    assert lead.events.get().data["missing"] == ["company"]
