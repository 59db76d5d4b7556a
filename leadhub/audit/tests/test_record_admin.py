"""Each kind of change saved in the admin is one audit entry with the admin user as the
actor and ``admin`` as the source; each object's History page shows its entries."""

import json

import pytest
from auditlog.models import LogEntry
from django import forms
from django.contrib.admin import site
from django.contrib.admin.helpers import AdminForm
from django.forms.widgets import ChoiceWidget
from django.test import RequestFactory
from django.urls import reverse

from leadhub.leads.models import IntakeKey, PipelineSettings

pytestmark = pytest.mark.django_db

UPDATE = LogEntry.Action.UPDATE


def _field_data(bound_field) -> dict:
    """What a browser posts for this field as it is shown."""
    widget = bound_field.field.widget
    widget = getattr(widget, "widget", widget)  # the admin's related-object wrapper
    name, value = bound_field.html_name, bound_field.value()
    if isinstance(widget, forms.MultiWidget):
        parts = value if isinstance(value, list) else widget.decompress(value)
        return {
            f"{name}{suffix}": sub.format_value(part) or ""
            for suffix, sub, part in zip(widget.widgets_names, widget.widgets, parts, strict=True)
        }
    if isinstance(widget, forms.CheckboxInput):
        return {name: "on"} if value else {}
    if getattr(widget, "allow_multiple_selected", False):
        return {name: [str(v) for v in value or []]}
    if isinstance(widget, ChoiceWidget):
        return {name: "" if value is None else str(value)}
    if isinstance(value, list | dict):
        return {name: json.dumps(value)}
    shown = widget.format_value(value)
    return {name: "" if shown is None else str(shown)}


def change_form_data(obj, user) -> dict:
    """The admin change form of ``obj`` as a browser would post it unchanged, inlines
    included."""
    model_admin = site._registry[type(obj)]
    request = RequestFactory().get("/")
    request.user = user
    form = model_admin.get_form(request, obj, change=True)(instance=obj)
    data = {}
    for bound_field in form:
        data.update(_field_data(bound_field))
    for formset, _inline in model_admin.get_formsets_with_inlines(request, obj):
        formset = formset(instance=obj, prefix=formset.get_default_prefix())
        management = formset.management_form
        for bound_field in management:
            data[bound_field.html_name] = bound_field.value()
        for inline_form in formset.forms:
            for bound_field in inline_form:
                data.update(_field_data(bound_field))
    return data


# (id, object in the world (or a callable), form changes, model, field, before, after)
CASES = [
    ("team", "team", {"region": "APAC"}, "reps.team", "region", "EMEA", "APAC"),
    ("rep", "anna", {"weight": "3"}, "reps.rep", "weight", 1, 3),
    (
        "rep working hours",
        "anna",
        {"working_hours-0-end": "18:00:00"},
        "reps.workinghours",
        "end",
        "17:00:00",
        "18:00:00",
    ),
    (
        "holiday",
        "holidays",
        {"holidays-0-name": "Xmas"},
        "reps.holiday",
        "name",
        "Christmas",
        "Xmas",
    ),
    (
        "territory",
        "territory",
        {"countries": '["DE"]'},
        "routing.territory",
        "countries",
        ["DE", "FR"],
        ["DE"],
    ),
    ("pool", "pool", {"active": ""}, "routing.pool", "active", True, False),
    ("pool member", "pool", {"members-1-weight": "5"}, "routing.poolmember", "weight", 2, 5),
    ("sla policy", "policy", {"accept_minutes": "45"}, "sla.slapolicy", "accept_minutes", 30, 45),
    ("sla step", "policy", {"steps-0-minutes": "10"}, "sla.slastep", "minutes", 5, 10),
    (
        "business calendar",
        "calendar",
        {"timezone": "Europe/Paris"},
        "sla.businesscalendar",
        "timezone",
        "Europe/Berlin",
        "Europe/Paris",
    ),
    (
        "business hours",
        "calendar",
        {"hours-0-start": "08:00:00"},
        "sla.businesshours",
        "start",
        "09:00:00",
        "08:00:00",
    ),
    (
        "webhook",
        "webhook",
        {"url": "https://crm.example.com/v2"},
        "sla.webhooksubscription",
        "url",
        "https://crm.example.com/hook",
        "https://crm.example.com/v2",
    ),
    ("scoring rule", "scoring", {"points": "35"}, "leads.scoringrule", "points", 20, 35),
    (
        "web form",
        "form",
        {"success_message": "Merci"},
        "leads.webform",
        "success_message",
        None,
        "Merci",
    ),
    (
        "pipeline",
        lambda world: PipelineSettings.load(),
        {"sales_ready_score": "77"},
        "leads.pipelinesettings",
        "sales_ready_score",
        None,
        77,
    ),
    (
        "intake key",
        lambda world: _intake_key(),
        {"name": "Partner site"},
        "leads.intakekey",
        "name",
        "Website",
        "Partner site",
    ),
]


def _intake_key() -> IntakeKey:
    key = IntakeKey(name="Website")
    key.set_new_key()
    key.save()
    return key


@pytest.mark.parametrize(
    ("target", "changes", "model", "field", "before", "after"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_an_admin_change_is_one_entry_with_before_after_actor_and_source(
    world, client, revops, target, changes, model, field, before, after
):
    obj = target(world) if callable(target) else world[target]
    LogEntry.objects.all().delete()
    data = change_form_data(obj, revops)
    old = data.get(field) if before is None else before
    data.update({k: v for k, v in changes.items() if v != ""})
    for name in [k for k, v in changes.items() if v == ""]:
        data.pop(name, None)
    client.force_login(revops)
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])

    response = client.post(url, data)
    assert response.status_code == 302, _errors(response)

    [entry] = LogEntry.objects.all()
    assert f"{entry.content_type.app_label}.{entry.content_type.model}" == model
    assert entry.action == UPDATE
    assert entry.changes_dict[field] == [_json(old), after]
    assert entry.actor == revops
    assert entry.additional_data == {"source": "admin"}


def _json(value):
    return int(value) if isinstance(value, str) and value.isdigit() else value


def _errors(response) -> str:
    context = response.context or {}
    adminform = context.get("adminform")
    errors = [adminform.form.errors] if isinstance(adminform, AdminForm) else []
    errors += [fs.formset.errors for fs in context.get("inline_admin_formsets", [])]
    return f"{response.status_code}: {errors}"


def test_an_objects_history_page_lists_its_changes_from_every_source(
    world, client, token_api, revops
):
    pool = world["pool"]
    token_api.patch(f"/api/pools/{pool.pk}/", {"method": "load_balanced"}, format="json")
    client.force_login(revops)

    response = client.get(reverse("admin:routing_pool_history", args=[pool.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="audit-history"' in page
    assert "load_balanced" in page and "round_robin" in page
    assert ">api<" in page and "rita" in page


def test_the_audit_list_filters_by_source(world, client, token_api, revops):
    token_api.patch(f"/api/teams/{world['team'].pk}/", {"region": "APAC"}, format="json")
    client.force_login(revops)
    url = reverse("admin:auditlog_logentry_changelist")

    assert client.get(url, {"source": "api"}).context["cl"].result_count == 1
    assert client.get(url, {"source": "admin"}).context["cl"].result_count == 0
