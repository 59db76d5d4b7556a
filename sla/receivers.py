"""How the notification layer reacts to routing. Connected in SlaConfig.ready()."""

from sla.services import notification_for_decision


def notify_routed(sender, lead_id: int, decision_id: int, **kwargs) -> None:
    # Runs after the assignment committed (routing sends the signal on commit); the
    # in-app record is one insert, so it is written here rather than queued.
    notification_for_decision(decision_id=decision_id)
