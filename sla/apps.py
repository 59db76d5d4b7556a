from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = "SLA and notifications"

    def ready(self) -> None:
        from routing.signals import lead_routed
        from sla import receivers

        lead_routed.connect(receivers.notify_routed, dispatch_uid="sla.notify_routed")
