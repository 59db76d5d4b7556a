from django.contrib.auth import views as auth_views
from django.urls import path

from leadhub.web import views, views_dashboard

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
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
]
