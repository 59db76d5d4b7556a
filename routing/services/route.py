"""Routing by the rules: a new lead, the sweep's work list, running the rules again for
leads already routed (one, or a manager's selection), and the junk refund."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leadhub.leads.models import OPEN_STATUSES, Lead
from leadhub.leads.services import a_lead
from routing import engine
from routing.models import Decision, Pool, PoolState
from routing.selectors import engine_states, pool_settings_from
from routing.services.core import Move, RoutingError, partial_cutoff, route_with


def lead_route(*, lead_id: int) -> Decision | None:
    """Route a lead if it still needs routing (safe to call twice: the second call finds it
    assigned and does nothing). Returns the stored decision, or None."""
    return route_with(lead_id, Move())


def leads_pending(*, older_than: timedelta, limit: int = 500) -> list[int]:
    """Leads still waiting for routing after ``older_than``, and partial ones abandoned
    (``partial_cutoff``): the sweep's work list, oldest first."""
    now = timezone.now()
    complete = Q(is_partial=False, captured_at__lte=now - older_than)
    abandoned = Q(is_partial=True, updated_at__lte=partial_cutoff(now))
    return list(
        Lead.objects.filter(complete | abandoned, status="new")
        .order_by("captured_at")
        .values_list("pk", flat=True)[:limit]
    )


def _reroutable(lead: Lead) -> bool:
    if lead.status not in OPEN_STATUSES:
        raise RoutingError(f"{a_lead(lead.status)} is closed: it is not routed again.")
    return True


def lead_reroute(*, lead_id: int, actor, reason: str) -> Decision:
    """Run the rules in force again for one open lead (from triage or nurture too, or
    owned): it goes where they send it now, its owner included when they choose them
    again (then nothing moves). A decision of kind re-route, with the reason."""
    reason = reason.strip()
    if not reason:
        raise RoutingError("Give a reason for routing the lead again.")
    move = Move(takes=_reroutable, kind=Decision.Kind.REROUTE, actor=actor, reason=reason)
    decision = route_with(lead_id, move)
    assert decision is not None  # the rules always decide; takes() refuses or accepts
    return decision


@dataclass(frozen=True)
class BulkResult:
    """One lead of a bulk move: the stored decision, or why it was refused."""

    lead_id: int
    decision: Decision | None
    error: str = ""


def leads_bulk(move_one, lead_ids: list[int]) -> list[BulkResult]:
    """Move each lead in its own transaction (one refused lead does not hold back the
    rest): ``move_one(lead_id)`` is ``lead_reroute`` or ``lead_reassign`` with its
    arguments bound."""
    results = []
    for lead_id in dict.fromkeys(lead_ids):
        try:
            results.append(BulkResult(lead_id, move_one(lead_id=lead_id)))
        except RoutingError as exc:
            results.append(BulkResult(lead_id, None, str(exc)))
        except Lead.DoesNotExist:
            results.append(BulkResult(lead_id, None, "No such lead."))
    return results


def leads_move(
    *, actor, action: str, lead_ids: list[int], reason: str, rep=None
) -> list[BulkResult]:
    """A manager's (or RevOps') selection moved at once: ``reassign`` to ``rep`` or
    ``reroute`` by the rules, each lead on its own, each checked against what ``actor`` may
    do with it (``routing.selectors``). The dashboard and ``POST /api/leads/bulk/`` call
    this."""
    from routing.selectors import user_may_reassign, user_may_reroute
    from routing.services.moves import lead_reassign

    if action not in ("reassign", "reroute"):
        raise RoutingError(f"Unknown action {action!r}: reassign or reroute.")
    if action == "reassign" and rep is None:
        raise RoutingError("Choose the rep to give the leads to.")
    leads = Lead.objects.select_related("owner").in_bulk(list(lead_ids))

    def move_one(*, lead_id: int) -> Decision:
        lead = leads.get(lead_id)
        if lead is None:
            raise Lead.DoesNotExist
        if action == "reroute":
            if not user_may_reroute(actor, lead):
                raise RoutingError("You may not route this lead again.")
            return lead_reroute(lead_id=lead_id, actor=actor, reason=reason)
        if not user_may_reassign(actor, lead, rep):
            raise RoutingError("Only the manager of the lead's team may reassign it.")
        return lead_reassign(lead_id=lead_id, rep_id=rep.pk, actor=actor, reason=reason)

    return leads_bulk(move_one, lead_ids)


def decision_refund(*, lead_id: int) -> bool:
    """Take a junk lead back out of its pool's fairness counts, once. True if refunded."""
    with transaction.atomic():
        decision = (
            Decision.objects.filter(
                lead_id=lead_id, effective=True, rotation=True, refunded_at=None
            )
            .exclude(pool=None)
            .first()
        )
        if decision is None or decision.rep_id is None:
            return False
        row = PoolState.objects.select_for_update().filter(pool_id=decision.pool_id).first()
        locked = Decision.objects.select_for_update().get(pk=decision.pk)
        if row is None or locked.refunded_at is not None:
            return False
        pool = Pool.objects.get(pk=decision.pool_id)
        before = engine_states([row])[row.pool_id]
        settings_ = pool_settings_from(pool.settings, {})
        after = engine.refund(
            before,
            decision.rep_id,
            engine.Pool(pool.pk, pool.name, pool.method, settings=settings_),
        )
        row.assigned = {str(k): v for k, v in after.assigned.items()}
        row.credits = {str(k): v for k, v in after.credits.items()}
        row.save(update_fields=["assigned", "credits", "updated_at"])
        locked.refunded_at = timezone.now()
        locked.save(update_fields=["refunded_at"])
        return True
