import csv
import io
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.forms import MultiWidget
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leadhub.leads import admin as leads_admin
from leadhub.leads.models import (
    Account,
    AccountDomain,
    EnrichmentRecord,
    IdempotencyRecord,
    IntakeKey,
    Lead,
    LeadEvent,
    PipelineSettings,
    ScoringRule,
    WebForm,
)
from leadhub.leads.services import account_save, lead_capture, lead_note, lead_transition
from leadhub.leads.tests.factories import (
    AccountFactory,
    EnrichmentRecordFactory,
    LeadFactory,
    ScoringRuleFactory,
    WebFormFactory,
)
from reps.tests.factories import RepFactory

LEADS_MODELS = sorted(
    (m for m in admin.site._registry if m._meta.app_label == "leads"),
    key=lambda m: m._meta.model_name,
)

# Registered by Django and the libraries (users, groups, tokens, django-q2's queue).
OTHER_MODELS = sorted(
    (m for m in admin.site._registry if m._meta.app_label not in {"leads", "reps"}),
    key=lambda m: m._meta.label,
)


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def form_data(response) -> dict:
    """The POST a browser would send back for the admin form in ``response``, unchanged."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data = {}
    for form in forms:
        for name, field in form.fields.items():
            value = form[name].value()
            if value is None or value is False:
                continue
            if isinstance(field.widget, MultiWidget):
                for i, part in enumerate(field.widget.decompress(value)):
                    data[f"{form.add_prefix(name)}_{i}"] = part
            else:
                data[form.add_prefix(name)] = "on" if value is True else value
    return data


def capture(**data) -> Lead:
    payload = {"email": "ana@acme.example", "company": "Acme", "country": "US", **data}
    return lead_capture(data=payload, channel="api").lead


@pytest.fixture
def one_of_each(db):
    """A row of every leads model, so each change page has something to show."""
    lead = capture()
    account_save(account=Account(name="Acme, Inc."), domains=["acme.example"])
    key = IntakeKey(name="Website")
    key.set_new_key()
    key.save()
    EnrichmentRecordFactory()
    ScoringRuleFactory()
    WebFormFactory()
    IdempotencyRecord.objects.create(scope="user:1", key="abc", lead=lead)
    PipelineSettings.load()
    return lead


def test_every_leads_model_is_in_the_admin():
    registered = set(admin.site._registry)
    missing = [m.__name__ for m in apps.get_app_config("leads").get_models() if m not in registered]
    # AccountDomain is edited inline on its account.
    assert missing == ["AccountDomain"]


@pytest.mark.parametrize("model", LEADS_MODELS, ids=lambda m: m._meta.model_name)
def test_changelist_add_and_change_pages_render_for_a_superuser(admin_client, one_of_each, model):
    model_admin = admin.site._registry[model]

    assert admin_client.get(admin_url(model, "changelist"), follow=True).status_code == 200

    add = admin_client.get(admin_url(model, "add"))
    can_add = model_admin.has_add_permission(add.wsgi_request)
    assert add.status_code == (200 if can_add else 403)

    obj = model.objects.order_by("pk").first()
    assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", OTHER_MODELS, ids=lambda m: m._meta.label)
def test_other_admin_pages_render_for_a_superuser(admin_client, model):
    model_admin = admin.site._registry[model]

    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    add = admin_client.get(admin_url(model, "add"))
    assert add.status_code == (200 if model_admin.has_add_permission(add.wsgi_request) else 403)
    if (obj := model._default_manager.first()) is not None:
        assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200


def test_lead_change_page_shows_the_event_timeline_in_time_order(admin_client, admin_user):
    lead = capture()
    captured = lead.events.get()
    note = lead_note(lead_id=lead.pk, text="Called, left a voicemail", actor=admin_user)
    # Written later but dated earlier (a back-dated note): the timeline sorts by time.
    LeadEvent.objects.filter(pk=note.pk).update(at=captured.at - timedelta(hours=1))

    response = admin_client.get(admin_url(Lead, "change", lead.pk))

    content = response.content.decode()
    timeline = content[content.index('id="events-group"') :]
    assert timeline.index("Called, left a voicemail") < timeline.index("Captured")
    assert "&quot;channel&quot;: &quot;api&quot;" in timeline  # the event's data, pretty
    assert admin_user.username in timeline


def test_illegal_status_change_is_a_form_error_and_changes_nothing(admin_client):
    lead = capture()
    page = admin_client.get(admin_url(Lead, "change", lead.pk))
    events = LeadEvent.objects.count()

    response = admin_client.post(
        admin_url(Lead, "change", lead.pk), {**form_data(page), "status": "qualified"}
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["status"] == [
        "A new lead cannot become qualified. Allowed next statuses: "
        "assigned, disqualified, junk, nurture, queued, triage."
    ]
    lead.refresh_from_db()
    assert lead.status == "new"
    assert LeadEvent.objects.count() == events


def test_closed_lead_cannot_be_reopened_in_the_admin(admin_client):
    lead = capture()
    lead_transition(lead_id=lead.pk, status="junk")
    page = admin_client.get(admin_url(Lead, "change", lead.pk))

    response = admin_client.post(
        admin_url(Lead, "change", lead.pk), {**form_data(page), "status": "new"}
    )

    assert "Allowed next statuses: none: it is closed." in str(
        response.context["adminform"].form.errors["status"]
    )
    lead.refresh_from_db()
    assert lead.status == "junk"


def test_status_cannot_be_set_to_assigned_without_an_owner(admin_client):
    lead = capture()
    page = admin_client.get(admin_url(Lead, "change", lead.pk))

    response = admin_client.post(
        admin_url(Lead, "change", lead.pk), {**form_data(page), "status": "assigned"}
    )

    assert "has no owner" in str(response.context["adminform"].form.errors["status"])
    assert Lead.objects.get(pk=lead.pk).status == "new"


def test_legal_status_change_writes_a_status_event_with_the_admin_as_actor(
    admin_client, admin_user
):
    lead = capture()
    page = admin_client.get(admin_url(Lead, "change", lead.pk))

    response = admin_client.post(
        admin_url(Lead, "change", lead.pk),
        {**form_data(page), "status": "nurture", "status_reason": "Student project"},
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == "nurture"
    event = lead.events.get(kind="status_changed")
    assert event.actor == admin_user
    assert event.data == {"from": "new", "to": "nurture", "reason": "Student project"}
    assert not lead.events.filter(kind="updated").exists()


def test_field_edits_are_normalised_and_recorded_by_lead_update(admin_client, admin_user):
    lead = capture(title="")
    page = admin_client.get(admin_url(Lead, "change", lead.pk))

    response = admin_client.post(
        admin_url(Lead, "change", lead.pk),
        {**form_data(page), "title": "VP Sales", "country": "Germany"},
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.title, lead.country, lead.status) == ("VP Sales", "DE", "new")
    event = lead.events.get(kind="updated")
    assert event.actor == admin_user
    assert event.data["changes"] == {"title": ["", "VP Sales"], "country": ["US", "DE"]}


def test_invalid_field_edit_is_a_form_error_on_that_field(admin_client):
    lead = capture()
    page = admin_client.get(admin_url(Lead, "change", lead.pk))

    response = admin_client.post(
        admin_url(Lead, "change", lead.pk), {**form_data(page), "country": "Atlantis"}
    )

    assert "Unknown country" in str(response.context["adminform"].form.errors["country"])
    assert Lead.objects.get(pk=lead.pk).country == "US"


def test_taking_another_open_leads_email_is_a_form_error(admin_client):
    capture(email="taken@acme.example")
    lead = capture(email="mine@acme.example")
    page = admin_client.get(admin_url(Lead, "change", lead.pk))

    response = admin_client.post(
        admin_url(Lead, "change", lead.pk), {**form_data(page), "email": "Taken@acme.example"}
    )

    assert "already has this email" in str(response.context["adminform"].form.errors["email"])
    assert Lead.objects.get(pk=lead.pk).email == "mine@acme.example"


def test_adding_a_lead_captures_it_on_the_admin_channel(admin_client, admin_user):
    page = admin_client.get(admin_url(Lead, "add"))

    response = admin_client.post(
        admin_url(Lead, "add"),
        {**form_data(page), "email": "Jo@Globex.example", "company": "Globex", "country": "France"},
    )

    lead = Lead.objects.get()
    assert response.status_code == 302
    assert (lead.email, lead.country, lead.channel) == ("jo@globex.example", "FR", "admin")
    captured = lead.events.get()
    assert (captured.kind, captured.actor) == ("captured", admin_user)


def test_adding_a_lead_without_email_or_phone_is_refused(admin_client):
    page = admin_client.get(admin_url(Lead, "add"))

    response = admin_client.post(admin_url(Lead, "add"), {**form_data(page), "company": "Globex"})

    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    assert not Lead.objects.exists()


def test_bulk_junk_reports_what_was_done_and_what_was_refused(admin_client, admin_user):
    open_lead = capture(email="a@acme.example")
    converted = LeadFactory(status="converted")

    response = admin_client.post(
        admin_url(Lead, "changelist"),
        {"action": "mark_junk", "_selected_action": [open_lead.pk, converted.pk]},
        follow=True,
    )

    messages = [str(m) for m in response.context["messages"]]
    assert "1 lead marked as junk." in messages
    assert f"1 refused, their status does not allow it: #{converted.pk} (converted)." in messages
    assert Lead.objects.get(pk=open_lead.pk).status == "junk"
    assert Lead.objects.get(pk=converted.pk).status == "converted"
    event = LeadEvent.objects.get(lead=open_lead, kind="status_changed")
    assert event.actor == admin_user
    assert event.data["reason"] == "Marked as junk from the admin (bulk action)"


def test_leads_are_closed_by_status_not_deleted(admin_client):
    lead = capture()

    response = admin_client.post(admin_url(Lead, "delete", lead.pk), {"post": "yes"})

    assert response.status_code == 403
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_bulk_disqualify_moves_open_leads(admin_client):
    leads = [capture(email=f"p{i}@acme.example") for i in range(3)]

    admin_client.post(
        admin_url(Lead, "changelist"),
        {"action": "disqualify", "_selected_action": [lead.pk for lead in leads]},
    )

    assert set(Lead.objects.values_list("status", flat=True)) == {"disqualified"}


def test_csv_export_streams_the_selected_leads(admin_client):
    rep = RepFactory(user__first_name="Kim", user__last_name="Lee")
    lead = LeadFactory(
        email="x@acme.example",
        company="=HYPERLINK(evil)",
        phone="+4930123456",
        intent_signals=["demo_request", "pricing_page"],
        owner=rep,
        account=AccountFactory(name="Acme"),
    )
    LeadFactory()  # not selected

    response = admin_client.post(
        admin_url(Lead, "changelist"), {"action": "export_csv", "_selected_action": [lead.pk]}
    )

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == str(lead.pk)
    assert row["company"] == "'=HYPERLINK(evil)"
    assert row["phone"] == "+4930123456"
    assert row["intent_signals"] == "demo_request,pricing_page"
    assert (row["owner"], row["account"]) == ("Kim Lee", "Acme")


def test_lead_changelist_links_to_the_csv_import(admin_client):
    response = admin_client.get(admin_url(Lead, "changelist"))

    assert reverse("admin:leads_lead_import") == "/admin/leads/lead/import/"
    assert 'href="/admin/leads/lead/import/"' in response.content.decode()


def test_lead_changelist_query_count_does_not_grow_with_the_number_of_leads(admin_client):
    def make(n: int) -> None:
        for _ in range(n):
            LeadFactory(owner=RepFactory(), account=AccountFactory())

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(admin_url(Lead, "changelist")).status_code == 200
        return len(queries)

    make(5)
    with_five = count_queries()
    make(45)

    assert count_queries() == with_five


def test_adding_an_intake_key_shows_the_raw_key_once_and_stores_only_its_hash(admin_client):
    page = admin_client.get(admin_url(IntakeKey, "add"))

    response = admin_client.post(
        admin_url(IntakeKey, "add"), {**form_data(page), "name": "Website"}, follow=True
    )

    key = IntakeKey.objects.get()
    shown = [str(m) for m in response.context["messages"] if "copy it now" in str(m)]
    assert len(shown) == 1
    raw = shown[0].split(" is ", 1)[1].split(" ")[0]
    assert raw.startswith(key.prefix)
    assert key.key_hash == IntakeKey.hash(raw)
    assert raw not in {key.name, key.prefix, key.key_hash, key.source}
    again = admin_client.get(admin_url(IntakeKey, "change", key.pk))
    assert raw not in again.content.decode()


def test_rotating_an_intake_key_replaces_its_hash_and_shows_the_new_key(admin_client):
    key = IntakeKey(name="Website")
    old_raw = key.set_new_key()
    key.save()

    response = admin_client.post(
        admin_url(IntakeKey, "changelist"),
        {"action": "rotate", "_selected_action": [key.pk]},
        follow=True,
    )

    key.refresh_from_db()
    assert key.key_hash != IntakeKey.hash(old_raw)
    [message] = [str(m) for m in response.context["messages"]]
    raw = message.split(" is ", 1)[1].split(" ")[0]
    assert key.key_hash == IntakeKey.hash(raw)


def test_account_saved_in_the_admin_gets_its_name_key_and_normalised_domains(admin_client):
    page = admin_client.get(admin_url(Account, "add"))

    response = admin_client.post(
        admin_url(Account, "add"),
        {**form_data(page), "name": "Globex, Inc.", "domains-0-domain": "https://www.Globex.com/"},
    )

    assert response.status_code == 302
    account = Account.objects.get()
    assert account.name_key == "globex"
    assert list(account.domains.values_list("domain", flat=True)) == ["globex.com"]


def test_account_domains_are_replaced_through_account_save(admin_client, monkeypatch):
    account = account_save(account=Account(name="Globex"), domains=["globex.com", "globex.io"])
    saved = []

    def spy(**kwargs):
        saved.append(kwargs.get("domains"))
        return account_save(**kwargs)

    monkeypatch.setattr(leads_admin, "account_save", spy)
    url = admin_url(Account, "change", account.pk)
    data = form_data(admin_client.get(url))
    kept, dropped = sorted(k for k in data if k.endswith("-domain"))
    data[dropped.replace("-domain", "-DELETE")] = "on"
    data[kept] = "WWW.Globex.COM"

    assert admin_client.post(url, data).status_code == 302

    assert saved == [None, ["globex.com"]]
    assert list(account.domains.values_list("domain", flat=True)) == ["globex.com"]


def test_domain_of_another_account_is_a_form_error(admin_client):
    account_save(account=Account(name="Acme"), domains=["acme.com"])
    page = admin_client.get(admin_url(Account, "add"))

    response = admin_client.post(
        admin_url(Account, "add"),
        {**form_data(page), "name": "Acme copy", "domains-0-domain": "WWW.acme.com"},
    )

    assert response.status_code == 200
    [formset] = response.context["inline_admin_formsets"]
    assert formset.formset.errors[0]["domain"] == ["acme.com belongs to Acme."]
    assert Account.objects.count() == 1
    assert AccountDomain.objects.count() == 1


def test_web_form_admin_links_to_the_public_form(admin_client):
    form = WebFormFactory(slug="contact")

    response = admin_client.get(admin_url(WebForm, "changelist"))

    assert 'href="/f/contact/"' in response.content.decode()
    assert admin_client.get(admin_url(WebForm, "change", form.pk)).status_code == 200


def test_web_form_with_an_unknown_field_is_refused(admin_client):
    page = admin_client.get(admin_url(WebForm, "add"))

    response = admin_client.post(
        admin_url(WebForm, "add"),
        {**form_data(page), "name": "Contact", "slug": "contact", "fields": '["email", "shoe"]'},
    )

    assert "Unknown lead fields: shoe." in str(response.context["adminform"].form.errors)
    assert not WebForm.objects.exists()


def test_scoring_rule_points_are_editable_in_the_list(admin_client):
    rule = ScoringRuleFactory(points=20, position=1)

    admin_client.post(
        admin_url(ScoringRule, "changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(rule.pk),
            "form-0-points": "35",
            "form-0-active": "on",
            "form-0-position": "2",
            "_save": "Save",
        },
    )

    rule.refresh_from_db()
    assert (rule.points, rule.position) == (35, 2)


def test_pipeline_settings_is_a_single_row_without_add_or_delete(admin_client):
    response = admin_client.get(admin_url(PipelineSettings, "changelist"))

    settings = PipelineSettings.objects.get()
    assert response.status_code == 302
    assert response["Location"] == admin_url(PipelineSettings, "change", settings.pk)
    assert admin_client.get(admin_url(PipelineSettings, "add")).status_code == 403
    assert admin_client.get(admin_url(PipelineSettings, "delete", settings.pk)).status_code == 403


@pytest.mark.parametrize("model", [LeadEvent, IdempotencyRecord], ids=lambda m: m.__name__)
def test_history_rows_cannot_be_changed_or_deleted(admin_client, one_of_each, model):
    obj = model.objects.first()

    change = admin_client.post(admin_url(model, "change", obj.pk), {"data": "{}"})
    delete = admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"})

    assert (change.status_code, delete.status_code) == (403, 403)
    assert model.objects.filter(pk=obj.pk).exists()


def test_enrichment_record_search_finds_by_domain(admin_client):
    EnrichmentRecordFactory(domain="initech.example")
    EnrichmentRecordFactory(domain="other.example")

    response = admin_client.get(admin_url(EnrichmentRecord, "changelist"), {"q": "initech"})

    assert [r.domain for r in response.context["cl"].result_list] == ["initech.example"]
