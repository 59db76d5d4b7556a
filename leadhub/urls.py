from django.contrib import admin
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from leadhub.api_docs import api_docs_view, api_schema_view
from leadhub.api_tokens import TokenLogoutAllView, TokenLogoutView, TokenObtainView
from leadhub.audit.api import AuditLogView
from leadhub.leads.api import LeadViewSet
from leadhub.ops.views import health_view
from leadhub.web.api_metrics import (
    AcceptanceMetricsView,
    ConversionMetricsView,
    FairnessMetricsView,
    SlaMetricsView,
    SpeedMetricsView,
    WorkloadMetricsView,
)
from reps.api import RepViewSet, TeamViewSet
from routing.api import (
    LeadBulkMoveView,
    LeadDecisionView,
    LeadReassignView,
    LeadRerouteView,
    PoolViewSet,
    RepHandoverView,
    RuleSetViewSet,
    RuleViewSet,
    TerritoryViewSet,
)
from routing.api_ledger import FairnessLedgerView, PoolLedgerView
from routing.experiments.api import ExperimentViewSet
from routing.replay.api import ReplayDetailView, ReplayListView, ReplayRunView
from sla.api import (
    LeadAcceptView,
    LeadClaimView,
    LeadDeclineView,
    LeadReleaseView,
    LeadStatusView,
    LeadTouchView,
    NotificationViewSet,
    QueueListView,
    WebhookSubscriptionViewSet,
)

router = DefaultRouter()
router.register("leads", LeadViewSet, basename="lead")
router.register("teams", TeamViewSet, basename="team")
router.register("reps", RepViewSet, basename="rep")
router.register("territories", TerritoryViewSet, basename="territory")
router.register("pools", PoolViewSet, basename="pool")
router.register("rules", RuleViewSet, basename="rule")
router.register("rulesets", RuleSetViewSet, basename="ruleset")
router.register("experiments", ExperimentViewSet, basename="experiment")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook-subscription")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", health_view, name="health"),
    path("api/auth/token/", TokenObtainView.as_view(), name="api-token"),
    path("api/auth/logout/", TokenLogoutView.as_view(), name="api-logout"),
    path("api/auth/logout-all/", TokenLogoutAllView.as_view(), name="api-logout-all"),
    path("api/schema/", api_schema_view, name="api-schema"),
    path("api/docs/", api_docs_view, name="api-docs"),
    path("api/leads/<int:pk>/decision/", LeadDecisionView.as_view(), name="lead-decision"),
    path("api/leads/<int:pk>/reassign/", LeadReassignView.as_view(), name="lead-reassign"),
    path("api/leads/<int:pk>/reroute/", LeadRerouteView.as_view(), name="lead-reroute"),
    path("api/leads/bulk/", LeadBulkMoveView.as_view(), name="lead-bulk-move"),
    path("api/rulesets/<str:ref>/replay/", ReplayRunView.as_view(), name="ruleset-replay"),
    path("api/replays/", ReplayListView.as_view(), name="replay-list"),
    path("api/replays/<int:pk>/", ReplayDetailView.as_view(), name="replay-detail"),
    path("api/reps/<int:pk>/handover/", RepHandoverView.as_view(), name="rep-handover"),
    path("api/leads/<int:pk>/accept/", LeadAcceptView.as_view(), name="lead-accept"),
    path("api/leads/<int:pk>/decline/", LeadDeclineView.as_view(), name="lead-decline"),
    path("api/leads/<int:pk>/touch/", LeadTouchView.as_view(), name="lead-touch"),
    path("api/leads/<int:pk>/status/", LeadStatusView.as_view(), name="lead-status"),
    path("api/leads/<int:pk>/claim/", LeadClaimView.as_view(), name="lead-claim"),
    path("api/leads/<int:pk>/release/", LeadReleaseView.as_view(), name="lead-release"),
    path("api/queues/", QueueListView.as_view(), name="queue-list"),
    path("api/audit/", AuditLogView.as_view(), name="audit-log"),
    path("api/metrics/speed/", SpeedMetricsView.as_view(), name="metrics-speed"),
    path("api/metrics/sla/", SlaMetricsView.as_view(), name="metrics-sla"),
    path("api/metrics/acceptance/", AcceptanceMetricsView.as_view(), name="metrics-acceptance"),
    path("api/metrics/conversion/", ConversionMetricsView.as_view(), name="metrics-conversion"),
    path("api/metrics/fairness/", FairnessMetricsView.as_view(), name="metrics-fairness"),
    path("api/metrics/workload/", WorkloadMetricsView.as_view(), name="metrics-workload"),
    path("api/pools/<int:pk>/ledger/", PoolLedgerView.as_view(), name="pool-ledger"),
    path("api/fairness/ledger/", FairnessLedgerView.as_view(), name="fairness-ledger"),
    path("api/", include(router.urls)),
    path("", include("leadhub.web.urls")),
    path("", include("leadhub.leads.urls")),
]

# An /api/ URL that matches no route is a JSON 404 too (with DEBUG on, the debug page).
handler404 = "leadhub.errors.page_not_found"
