from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = "SLA and notifications"

    def ready(self) -> None:
        from leadhub.leads.signals import (
            lead_accepted,
            lead_changed,
            lead_status_changed,
            leads_captured,
        )
        from reps.models import Holiday, HolidayCalendar
        from routing.lint import register_lint_check
        from routing.signals import escalation_ceiling_reached, lead_routed
        from routing.world import connect_models
        from sla import receivers
        from sla.lint import sla_lint
        from sla.models import (
            BusinessCalendar,
            BusinessHours,
            SlackWebhook,
            SlaPolicy,
            SlaStep,
            WebhookSubscription,
        )
        from sla.playbook import register_sections

        lead_routed.connect(receivers.notify_routed, dispatch_uid="sla.notify_routed")
        lead_accepted.connect(receivers.notify_accepted, dispatch_uid="sla.notify_accepted")
        escalation_ceiling_reached.connect(
            receivers.notify_escalation_ceiling, dispatch_uid="sla.notify_escalation_ceiling"
        )
        leads_captured.connect(receivers.notify_captured, dispatch_uid="sla.notify_captured")
        lead_status_changed.connect(
            receivers.notify_status_changed, dispatch_uid="sla.notify_status_changed"
        )
        # Subscriptions and Slack webhooks are read per process (sla.selectors).
        connect_models([WebhookSubscription, SlackWebhook], "sla.selectors")
        # So are the SLA policies, with their steps and calendars (sla.clocks).
        connect_models(
            [SlaPolicy, SlaStep, BusinessCalendar, BusinessHours, Holiday, HolidayCalendar],
            "sla.clocks",
        )
        lead_changed.connect(receivers.lead_changed, dispatch_uid="sla.lead_changed")
        # The playbook is routing's; these sections are ours (see sla.playbook).
        register_sections()
        # So is rule lint; these checks are ours (see sla.lint).
        register_lint_check("sla", sla_lint)
