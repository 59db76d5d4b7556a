from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running LeadHub: the lanes' workers and the ticker, their heartbeats, the health
    check, and the purge of old rows. Sits with the composition root: it may call every
    app's services, and none of them imports it."""

    name = "leadhub.ops"
    label = "ops"
    verbose_name = "Operations"
