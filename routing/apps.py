from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        from leadhub.leads.signals import lead_status_changed, leads_captured
        from routing import receivers, world

        leads_captured.connect(receivers.route_captured, dispatch_uid="routing.route_captured")
        lead_status_changed.connect(receivers.refund_junk, dispatch_uid="routing.refund_junk")
        world.connect()
