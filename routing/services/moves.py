"""Moves after routing: a decline, the SLA ladder's steps, claims and releases, a
manager's reassignment. Each is a ``Move`` through ``core.route_with``: the engine decides
(``routing.engine.moves``), ``core.store`` writes it."""

from django.db import transaction

from leadhub.leads.models import OPEN_STATUSES, Lead, LeadEvent
from leadhub.leads.services import a_lead, lead_record
from reps.availability import LeadNeeds, Reason, RepSnapshot
from reps.models import Rep
from routing import engine
from routing.engine.decide import REASON_WORDS
from routing.models import Decision, Pool
from routing.selectors import claim_queue_of, pool_settings_from, queue_members
from routing.services.core import Move, RoutingError, route_with


def previous_owners(lead_id: int) -> set[int]:
    """Every rep this lead was ever given to (by any decision)."""
    return set(
        Decision.objects.filter(lead_id=lead_id, rep__isnull=False).values_list("rep_id", flat=True)
    )


def decliners(lead_id: int) -> set[int]:
    return {
        data["rep"]
        for data in LeadEvent.objects.filter(
            lead_id=lead_id, kind=LeadEvent.Kind.DECLINED
        ).values_list("data", flat=True)
        if isinstance(data, dict) and data.get("rep")
    }


def _open_owned(lead: Lead) -> bool:
    return lead.owner_id is not None and lead.status in OPEN_STATUSES and lead.status != "queued"


def _open(lead: Lead) -> bool:
    return lead.status in OPEN_STATUSES


def lead_decline(*, lead_id: int, rep_id: int, reason: str, actor=None) -> Decision:
    """The owner says no: the decline is an event, and the lead is routed again by the rules
    without any rep who declined it (to triage when nobody is left). Only the owner may
    decline, before working it (assigned or accepted)."""
    reason = reason.strip()
    if not reason:
        raise RoutingError("Give a reason for declining.")
    with transaction.atomic():
        lead = Lead.objects.select_for_update(of=("self",)).get(pk=lead_id)
        if lead.owner_id != rep_id:
            raise RoutingError("Only the lead's owner can decline it.")
        if lead.status not in {"assigned", "accepted"}:
            raise RoutingError(f"{a_lead(lead.status)} cannot be declined.")
        lead_record(
            lead_id=lead.pk,
            kind=LeadEvent.Kind.DECLINED,
            actor=actor,
            data={"rep": rep_id, "reason": reason},
        )
        move = Move(
            takes=lambda lead: lead.owner_id == rep_id,
            excluded=frozenset(decliners(lead_id)),
            kind=Decision.Kind.DECLINE,
            actor=actor,
            reason=reason,
        )
        decision = route_with(lead_id, move)
        if decision is None:  # pragma: no cover - the lead is locked and checked above
            raise RoutingError("The lead could not be routed again.")
        return decision


def lead_sla_reassign(*, lead_id: int, reason: str) -> Decision | None:
    """An SLA breach: hand the lead to the next eligible rep of the pool it was routed to,
    never back to a previous owner. None when it has no pool or nobody is eligible (the
    ladder moves on to escalation)."""
    pool_id = (
        Decision.objects.filter(lead_id=lead_id, rep__isnull=False, pool__isnull=False)
        .order_by("-created_at", "-pk")
        .values_list("pool_id", flat=True)
        .first()
    )
    if pool_id is None:
        return None

    def decide(snapshot, rules, world, now):
        return engine.decide_in_pool(snapshot, pool_id, world, now, why=reason)

    move = Move(
        decide=decide,
        takes=_open_owned,
        excluded=frozenset(previous_owners(lead_id)),
        kind=Decision.Kind.SLA,
        reason=reason,
    )
    return route_with(lead_id, move)


def _escalation_team(lead_id: int) -> int | None:
    """The team a lead escalates in: the team of the pool it was last routed through, or
    its owner's team."""
    team_id = (
        Decision.objects.filter(lead_id=lead_id, pool__isnull=False)
        .order_by("-created_at", "-pk")
        .values_list("pool__team_id", flat=True)
        .first()
    )
    if team_id is None:
        team_id = Lead.objects.filter(pk=lead_id).values_list("owner__team_id", flat=True).first()
    return team_id


def lead_escalate(*, lead_id: int, reason: str) -> Decision | None:
    """An SLA breach past the reassignments: the lead goes to the manager of the team it
    was routed in (the owner's team otherwise), unless the manager is held back by what
    holds back the rules' manager fallback (switched off, offline, time off, a holiday, the
    ceiling of open escalated leads): then to triage. None when there is no manager or the
    manager holds it already (the ladder moves on)."""
    team_id = _escalation_team(lead_id)

    def decide(snapshot, rules, world, now):
        return engine.decide_escalation(snapshot, team_id, world, now, why=reason)

    move = Move(
        decide=decide, takes=_open, kind=Decision.Kind.SLA, reason=reason, restate_triage=False
    )
    return route_with(lead_id, move)


def lead_sla_triage(*, lead_id: int, reason: str) -> Decision | None:
    """The last SLA step: the lead leaves its owner for the triage queue."""

    def decide(snapshot, rules, world, now):
        return engine.decide_triage(snapshot, world, now, why=f"Moved to triage: {reason}")

    move = Move(
        decide=decide,
        takes=lambda lead: _open(lead) and lead.status != "triage",
        kind=Decision.Kind.SLA,
        reason=reason,
    )
    return route_with(lead_id, move)


# A manager's choice: presence "away" and working hours are written down, not refused.
MANUAL_NEEDS = LeadNeeds(allow_away=True)


def lead_reassign(
    *, lead_id: int, rep_id: int, actor, reason: str, kind: str = Decision.Kind.MANUAL
) -> Decision:
    """A manager hands a lead to another rep by hand. It is a decision too (kind manual, or
    handover), kept out of rotation counts; the reason is required. A rep who is not
    eligible (offline, at a cap) still gets it, and the decision says so."""
    reason = reason.strip()
    if not reason:
        raise RoutingError("Give a reason for the reassignment.")
    rep = Rep.objects.select_related("user").filter(pk=rep_id).first()
    if rep is None or not rep.active:
        raise RoutingError("Choose an active rep.")

    def takes(lead: Lead) -> bool:
        if lead.status not in OPEN_STATUSES:
            raise RoutingError(f"{a_lead(lead.status)} cannot be reassigned.")
        if lead.owner_id == rep_id:
            raise RoutingError(f"The lead is already {rep}'s.")
        return True

    def decide(snapshot, rules, world, now):
        why = f"Reassigned by hand by {actor} to {rep}: {reason}"
        return engine.decide_for_rep(
            snapshot,
            rep_id,
            world,
            now,
            why=why,
            method=str(kind),
            needs=MANUAL_NEEDS,
            blocking=False,
        )

    def refuse(decision, world):
        raise RoutingError(f"{rep} cannot be given leads now.")

    move = Move(decide=decide, takes=takes, kind=kind, actor=actor, reason=reason, refuse=refuse)
    decision = route_with(lead_id, move)
    assert decision is not None  # takes() refuses or accepts; refuse() raises
    return decision


# A claim is the rep taking the lead themselves, so presence "away" (as for a manager's
# reassignment) and working hours do not hold it back; absence and the caps do.
CLAIM_NEEDS = LeadNeeds(check_hours=False, allow_away=True)


def _claim_refusal(rep: RepSnapshot, reasons: list[str]) -> str:
    caps = {
        Reason.CAP_OPEN: f"at your cap of {rep.max_open} open leads",
        Reason.CAP_DAY: f"at your cap of {rep.max_per_day} leads a day",
        Reason.CAP_WEEK: f"at your cap of {rep.max_per_week} leads a week",
    }
    said = [caps.get(r) or REASON_WORDS.get(r, str(r)) for r in reasons]
    return f"You cannot claim a lead now: you are {', '.join(said)}."


def _claim_queue(lead_id: int) -> Pool:
    pool = claim_queue_of(lead_id)
    if pool is None:
        raise RoutingError("This lead is not in a claim queue.")
    return pool


def lead_claim(*, lead_id: int, rep: Rep, actor=None) -> Decision:
    """A member takes a lead waiting in their claim queue. Two claiming at once: the lead's
    row lock lets one in; the other is told who has it. A member holding ``claim_limit``
    claimed leads not yet accepted must accept one first. A member who is absent or at a
    cap (``CLAIM_NEEDS``) is refused; the caps are read from their load row under its
    lock, so two claims by one rep cannot both pass the last place."""

    def takes(lead: Lead) -> bool:
        if lead.status != "queued":
            owner = Rep.objects.select_related("user").filter(pk=lead.owner_id).first()
            who = f" by {owner}" if owner else ""
            raise RoutingError(f"This lead was already claimed{who} ({lead.status}).")
        pool = _claim_queue(lead.pk)
        if rep.pk not in queue_members(pool) or not rep.active:
            raise RoutingError(f"Only members of {pool.name} can claim its leads.")
        limit = pool_settings_from(pool.settings, {}).claim_limit
        if limit:
            held = Decision.objects.filter(
                kind=Decision.Kind.CLAIM,
                effective=True,
                rep=rep,
                pool=pool,
                lead__status="assigned",
            ).count()
            if held >= limit:
                raise RoutingError(
                    f"You hold {held} claimed leads not yet accepted (the limit of {pool.name} "
                    f"is {limit}): accept one first."
                )
        return True

    pool = claim_queue_of(lead_id)

    def decide(snapshot, rules, world, now):
        return engine.decide_for_rep(
            snapshot,
            rep.pk,
            world,
            now,
            why=f"Claimed from the queue {pool.name} by {rep}.",
            method="claim",
            needs=CLAIM_NEEDS,
            blocking=True,
            pool_id=pool.pk,
        )

    def refuse(decision, world):
        counted = world.reps.get(rep.pk)
        reasons = list(decision.candidates[-1].reasons) if decision.candidates else []
        if counted is None:
            raise RoutingError(f"Only members of {pool.name} can claim its leads.")
        raise RoutingError(_claim_refusal(counted, reasons))

    # With no queue, takes() refuses before the engine is asked.
    move = Move(
        decide=decide,
        takes=takes,
        kind=Decision.Kind.CLAIM,
        actor=actor,
        refuse=refuse,
    )
    decision = route_with(lead_id, move)
    assert decision is not None
    return decision


def lead_release(*, lead_id: int, rep: Rep, actor=None) -> Decision:
    """The rep who claimed a lead gives it back to its queue, before working it."""

    def takes(lead: Lead) -> bool:
        if lead.owner_id != rep.pk:
            raise RoutingError("Only the rep holding the lead can release it.")
        if lead.status != "assigned":
            raise RoutingError(
                f"{a_lead(lead.status)} cannot be released: only a claimed lead not yet "
                "accepted goes back to its queue."
            )
        _claim_queue(lead.pk)
        return True

    pool = claim_queue_of(lead_id)

    def decide(snapshot, rules, world, now):
        why = f"Released back to the queue {pool.name} by {rep}."
        return engine.decide_queue(snapshot, pool.pk, world, now, why=why, method="release")

    # With no queue, takes() refuses before the engine is asked.
    move = Move(
        decide=decide,
        takes=takes,
        kind=Decision.Kind.RELEASE,
        actor=actor,
    )
    decision = route_with(lead_id, move)
    assert decision is not None
    return decision
