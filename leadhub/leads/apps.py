from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leadhub.leads"
    label = "leads"
    verbose_name = "Leads"
