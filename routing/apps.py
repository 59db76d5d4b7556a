from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        from leadhub.leads.signals import lead_status_changed, leads_captured
        from reps.signals import rep_deactivated
        from routing import receivers, world

        leads_captured.connect(receivers.route_captured, dispatch_uid="routing.route_captured")
        lead_status_changed.connect(receivers.refund_junk, dispatch_uid="routing.refund_junk")
        rep_deactivated.connect(
            receivers.hand_over_deactivated, dispatch_uid="routing.hand_over_deactivated"
        )
        world.connect()
