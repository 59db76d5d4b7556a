"""What a rep does with a lead, as the API and the queue page ask for it: accept, decline,
log a touch, change its status, claim it from a queue, release it back.

Each is one transaction over the services of the layers below (the lead's lifecycle in
``leadhub.leads``, re-routing in ``routing``); the lead's SLA clocks move inside it (their
receivers run on the lead's change), and the announcing event is written to the outbox in
it. Who may do what is checked by the caller (``sla.api``)."""

from typing import Any

from django.db import transaction

from leadhub.leads.intake import LeadDataError
from leadhub.leads.models import Lead
from leadhub.leads.services import LeadTransitionError, a_lead, lead_touch, lead_transition
from reps.models import Rep
from routing import services as routing
from routing.models import Decision
from sla.models import Event
from sla.services import lead_data, lead_name, notify, rep_data


class WorkError(ValueError):
    """The action is refused; the message says why, for the person who asked."""


def _announce(event: str, lead: Lead, rep: Rep | None, title: str, **extra: Any) -> None:
    payload = {"lead": lead_data(lead), **extra}
    if rep is not None:
        payload["rep"] = rep_data(rep)
    # The acting rep does not need telling; subscribers and the team's channels do.
    notify(event=event, lead=lead, team_id=rep.team_id if rep else None, payload=payload,
           title=title)  # fmt: skip


def lead_accept(*, lead_id: int, rep: Rep, actor=None) -> Lead:
    """The owner takes the lead on: ``accepted``; its accept clock is met."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        if lead.owner_id != rep.pk:
            raise WorkError("Only the lead's owner can accept it.")
        if lead.status != "assigned":
            raise WorkError(f"{a_lead(lead.status)} cannot be accepted.")
        lead = lead_transition(lead_id=lead_id, status="accepted", actor=actor, reason="Accepted")
        _announce(Event.LEAD_ACCEPTED, lead, rep, f"{rep} accepted {lead_name(lead)}")
        return lead


def lead_decline(*, lead_id: int, rep: Rep, reason: str, actor=None) -> Decision:
    """The owner says no, with a reason: the lead is routed again without them."""
    with transaction.atomic():
        try:
            decision = routing.lead_decline(
                lead_id=lead_id, rep_id=rep.pk, reason=reason, actor=actor
            )
        except routing.RoutingError as exc:
            raise WorkError(str(exc)) from None
        lead = Lead.objects.get(pk=lead_id)
        _announce(
            Event.LEAD_DECLINED,
            lead,
            rep,
            f"{rep} declined {lead_name(lead)}: {reason.strip()}",
            reason=reason.strip(),
            next_decision={"id": decision.pk, "outcome": decision.outcome, "rep": decision.rep_id},
        )
        return decision


def lead_log_touch(*, lead_id: int, rep: Rep, kind: str, note: str = "", actor=None) -> Lead:
    """The owner logs a call, an email or a meeting; the first stops the touch clock."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        if lead.owner_id != rep.pk:
            raise WorkError("Only the lead's owner can log a touch.")
        try:
            return lead_touch(lead_id=lead_id, kind=kind, note=note, actor=actor)
        except LeadTransitionError as exc:
            raise WorkError(str(exc)) from None
        except LeadDataError as exc:
            raise WorkError(str(exc)) from None


def lead_set_status(*, lead_id: int, status: str, reason: str = "", actor=None) -> Lead:
    """Move the lead along its lifecycle (contacted, qualified, converted, disqualified,
    nurture...). Statuses routing owns (new, queued, assigned, triage: they move the owner,
    the queue and the clocks with them) are refused here, and so is ``accepted``, which is
    the owner's own step (``lead_accept``)."""
    if status in {"assigned", "queued", "new", "triage"}:
        raise WorkError(f"{status!r} is set by routing, not by hand.")
    if status == "accepted":
        raise WorkError("Only the owner accepts a lead (accept it instead).")
    try:
        return lead_transition(lead_id=lead_id, status=status, actor=actor, reason=reason.strip())
    except LeadTransitionError as exc:
        raise WorkError(str(exc)) from None


def lead_claim(*, lead_id: int, rep: Rep, actor=None) -> Decision:
    try:
        return routing.lead_claim(lead_id=lead_id, rep=rep, actor=actor)
    except routing.RoutingError as exc:
        raise WorkError(str(exc)) from None


def lead_release(*, lead_id: int, rep: Rep, actor=None) -> Decision:
    try:
        return routing.lead_release(lead_id=lead_id, rep=rep, actor=actor)
    except routing.RoutingError as exc:
        raise WorkError(str(exc)) from None
