from django.contrib.auth import views as auth_views
from django.urls import path

from leadhub.web import (
    views,
    views_dashboard,
    views_experiments,
    views_leads,
    views_ledger,
    views_queue,
)

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The manager's pages (views_dashboard).
    path("dashboard/", views_dashboard.dashboard, name="dashboard"),
    path("dashboard/teams/<int:team_id>/", views_dashboard.dashboard, name="dashboard-team"),
    path("dashboard/reps/<int:rep_id>/", views_dashboard.dashboard, name="dashboard-rep"),
    path("dashboard/sections/<slug:name>/", views_dashboard.section, name="dashboard-section"),
    path("dashboard/export/<slug:table>.csv", views_dashboard.export, name="dashboard-export"),
    path(
        "dashboard/leads/<int:lead_id>/reassign/",
        views_dashboard.reassign,
        name="dashboard-reassign",
    ),
    path("dashboard/leads/", views_leads.open_leads, name="dashboard-leads"),
    path("dashboard/leads/move/", views_leads.move_leads, name="dashboard-leads-move"),
    path("dashboard/ledger/", views_ledger.ledger, name="dashboard-ledger"),
    path("dashboard/experiments/", views_experiments.experiments, name="experiments"),
    path("dashboard/experiments/<int:pk>/", views_experiments.experiment, name="experiment"),
    # The rep's pages (views_queue).
    path("queue/", views_queue.queue, name="queue"),
    path("queue/poll/", views_queue.queue_poll, name="queue-poll"),
    path("presence/", views_queue.presence, name="presence"),
    path("leads/<int:pk>/", views_queue.lead_page, name="lead"),
    path("leads/<int:pk>/actions/", views_queue.lead_more_actions, name="lead-more-actions"),
    path("leads/<int:pk>/<slug:action>/", views_queue.lead_act, name="lead-act"),
    path("notifications/", views_queue.notifications, name="notifications"),
    path(
        "notifications/<int:pk>/read/",
        views_queue.notification_read,
        name="notification-read",
    ),
]
