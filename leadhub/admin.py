"""The composition root's admin: the one LeadAdmin, built from the lead app's own admin and
the parts the apps above it provide, registered once.

Each layer adds to the lead page without knowing the layers above it: ``leadhub.leads``
has the lead's fields, timeline, actions and CSV import; ``routing`` the decision that
chose the owner, every decision, and the reassign page; ``sla`` the lead's clocks. Django
imports this module with every app's ``admin`` (the ``leadhub`` app in INSTALLED_APPS).
"""

from django.contrib import admin

from leadhub.leads.admin import LeadAdmin as LeadPagesAdmin
from leadhub.leads.models import Lead
from routing.admin import RoutingLeadAdminMixin
from sla.admin import SlaLeadAdminMixin


@admin.register(Lead)
class LeadAdmin(SlaLeadAdminMixin, RoutingLeadAdminMixin, LeadPagesAdmin):
    """Inlines in layer order: the timeline, the routing decisions, the SLA clocks."""
