"""The one LeadAdmin, composed by the composition root from the parts each layer gives."""

import ast
from pathlib import Path

import pytest
from django.contrib import admin
from django.urls import reverse

from leadhub import admin as root_admin
from leadhub.leads.admin import LeadEventInline
from leadhub.leads.models import Lead
from leadhub.leads.tests.factories import LeadFactory
from routing.admin import DecisionInline, RoutingLeadAdminMixin
from sla.admin import SlaClockInline, SlaLeadAdminMixin

ROOT = Path(__file__).resolve().parents[2]
LOWER_ADMINS = [
    ROOT / "leadhub" / "leads" / "admin.py",
    *sorted((ROOT / "routing" / "admin").glob("*.py")),
    ROOT / "sla" / "admin.py",
]


def test_the_composition_root_registers_the_one_lead_admin():
    model_admin = admin.site._registry[Lead]
    assert type(model_admin) is root_admin.LeadAdmin
    assert isinstance(model_admin, RoutingLeadAdminMixin)
    assert isinstance(model_admin, SlaLeadAdminMixin)


@pytest.mark.parametrize("path", LOWER_ADMINS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_lower_app_registers_or_unregisters_the_lead_admin(path):
    tree = ast.parse(path.read_text())
    calls = [
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"register", "unregister"}
        and any(isinstance(a, ast.Name) and a.id == "Lead" for a in node.args)
    ]
    assert calls == []


@pytest.mark.django_db
def test_the_lead_page_has_every_layers_inlines_actions_and_pages(admin_client):
    lead = LeadFactory()
    model_admin = admin.site._registry[Lead]
    request = admin_client.get(reverse("admin:leads_lead_changelist")).wsgi_request

    assert model_admin.get_inlines(request, lead) == [
        LeadEventInline,
        DecisionInline,
        SlaClockInline,
    ]
    assert model_admin.get_inlines(request, None) == []
    assert {"mark_junk", "disqualify", "export_csv"} <= set(model_admin.get_actions(request))
    response = admin_client.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    assert response.status_code == 200
    assert "Why this owner" in response.content.decode()
    for name in ("admin:leads_lead_reassign", "admin:leads_lead_import"):
        url = reverse(name, args=[lead.pk]) if name.endswith("reassign") else reverse(name)
        assert admin_client.get(url).status_code == 200
