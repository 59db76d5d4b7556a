"""How the notification layer reacts to routing. Connected in SlaConfig.ready()."""

from sla.services import notification_for_decision


def notify_routed(sender, lead, decision, **kwargs) -> None:
    # Runs inside the assignment's transaction (routing sends the signal there): the in-app
    # record is one insert, committed with the assignment or not at all.
    notification_for_decision(decision=decision, lead=lead)
