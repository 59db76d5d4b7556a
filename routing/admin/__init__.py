"""RevOps configure routing here: territories, pools, the rule set's draft and versions,
and read the decisions. Every write goes through the routing services
(``routing.config_services``, ``routing.services``); the forms run the services' checks
first, so that a refusal is an error on the field it names.

One module per area; importing the package registers them all. The lead page's routing
parts (``RoutingLeadAdminMixin``, ``DecisionInline``) are composed into the one LeadAdmin
by the composition root, ``leadhub.admin``.
"""

from routing.admin import experiments, handovers, pools, rulesets, territories
from routing.admin.decisions import DecisionAdmin, decision_context, render_decision
from routing.admin.leads import DecisionInline, RoutingLeadAdminMixin
from routing.replay import admin as replay_admin  # noqa: F401 (registers the replays)

__all__ = [
    "DecisionAdmin",
    "DecisionInline",
    "RoutingLeadAdminMixin",
    "decision_context",
    "experiments",
    "handovers",
    "pools",
    "render_decision",
    "rulesets",
    "territories",
]
