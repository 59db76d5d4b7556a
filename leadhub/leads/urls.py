"""Public pages of the leads app, included at the site root: the web forms."""

from django.urls import path

from leadhub.leads import views

app_name = "leads"

urlpatterns = [
    path("f/<slug:slug>/", views.form_page, name="form"),
    path("f/<slug:slug>/submit", views.form_submit, name="form-submit"),
    path("f/<slug:slug>/partial", views.form_partial, name="form-partial"),
]
