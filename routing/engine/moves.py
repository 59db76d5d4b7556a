"""Decisions after routing: where a lead goes when a step moves it, not the rules.

Every move of a lead between owners and queues is a decision of the engine, explained in
the same form as a routed one (``Decision``), so the services store them all with one
function and one payload. The steps:

- ``decide_escalation``: an SLA escalation to the manager of a team, held back by exactly
  what holds back the rules' manager fallback (``MANAGER_BLOCKERS``); a manager who cannot
  take it sends the lead to triage, as the fallback does;
- ``decide_for_rep``: a rep taking a lead (a claim) or given one by hand (a manual
  reassignment, a handover to a named successor). ``blocking`` says whether the rep's
  eligibility refuses it (a claim) or is only written down as a warning (a manager's
  choice);
- ``decide_queue``: back to a claim queue (a release);
- ``decide_triage``: to the triage queue (the SLA ladder's last rung).

Pure, like ``decide``: the lead snapshot, the world and the clock in, a decision out.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reps.availability import LeadNeeds, rep_eligibility
from routing.engine.decide import (
    ASSIGNED,
    MANAGER_BLOCKERS,
    NOBODY,
    QUEUED,
    REASON_WORDS,
    TRIAGE,
    Decision,
    _finish,
    _reason_text,
    _Run,
)
from routing.engine.inputs import World
from routing.engine.methods import UNKNOWN_REP, Candidate

# The method of a decision that escalated a lead to a manager: "manager" (the rules'
# fallback) or this (an SLA escalation); both count toward the manager's ceiling.
ESCALATION = "escalation"
ESCALATION_METHODS = ("manager", ESCALATION)


def _start(lead: Mapping[str, Any], world: World, now: datetime, why: str) -> tuple[_Run, dict]:
    run = _Run(lead, world, now)
    if why:
        run.trace.append(why)
    return run, {"ruleset_version": None, "territory_id": None, "decided_at": now}


def decide_escalation(
    lead: Mapping[str, Any], team_id: int | None, world: World, now: datetime, *, why: str
) -> Decision:
    """Escalate to the team's manager (``world.managers``). ``assigned`` to them; ``triage``
    when they are switched off, offline, on time off, on a holiday or at their ceiling of
    open escalated leads; ``nobody`` when the team has no manager or the manager already
    owns the lead (the caller moves on)."""
    run, base = _start(lead, world, now, why)
    manager_id = world.managers.get(team_id) if team_id is not None else None
    if manager_id is None:
        run.trace.append("No team manager to escalate to.")
        return _finish(run, base, rule=None, action="escalate", outcome=NOBODY)
    if manager_id == lead.get("owner_id"):
        run.trace.append("The team manager already holds the lead.")
        return _finish(run, base, rule=None, action="escalate", outcome=NOBODY)
    why_not = run.rep(manager_id, "team manager", MANAGER_BLOCKERS)
    if why_not:
        manager = world.reps.get(manager_id)
        if manager is not None and manager.max_escalated is not None:
            run.trace.append(
                f"{manager.name} holds {manager.escalated_count} open escalated leads "
                f"(ceiling {manager.max_escalated})."
            )
        run.trace.append(f"Moved to triage: {why_not}.")
        return _finish(run, base, rule=None, action="escalate", outcome=TRIAGE)
    run.trace.append(f"Escalated to the team manager, {world.reps[manager_id].name}.")
    return _finish(
        run,
        base,
        rule=None,
        action="escalate",
        outcome=ASSIGNED,
        rep_id=manager_id,
        method=ESCALATION,
    )


def decide_for_rep(
    lead: Mapping[str, Any],
    rep_id: int,
    world: World,
    now: datetime,
    *,
    why: str,
    method: str,
    needs: LeadNeeds,
    blocking: bool,
    pool_id: int | None = None,
) -> Decision:
    """Give the lead to one rep. Their eligibility (``needs``) is checked and written down
    either way; when ``blocking``, a rep who is not eligible gets ``nobody`` (the caller
    refuses, naming the candidate's reasons), otherwise ``assigned`` with the reasons as a
    warning."""
    run, base = _start(lead, world, now, why)
    rep = world.reps.get(rep_id)
    if rep is None:
        run.candidates.append(Candidate(rep_id, f"#{rep_id}", False, (UNKNOWN_REP,), {}))
        run.trace.append(f"#{rep_id} is not a known rep.")
        return _finish(run, base, rule=None, action=method, outcome=NOBODY, pool_id=pool_id)
    reasons = tuple(rep_eligibility(rep, needs, now, world.schedule))
    refused = blocking and bool(reasons)
    candidate = Candidate(
        rep.id, rep.name, not reasons, reasons, {}, not refused, rep.timezone, pool_id
    )
    run.candidates.append(candidate)
    if reasons:
        words = ", ".join(_reason_text(r, candidate, now) for r in reasons)
        run.trace.append(
            f"{rep.name} cannot take it: {words}."
            if refused
            else f"{rep.name} was not eligible ({words}) and got it anyway."
        )
    if refused:
        return _finish(run, base, rule=None, action=method, outcome=NOBODY, pool_id=pool_id)
    return _finish(
        run,
        base,
        rule=None,
        action=method,
        outcome=ASSIGNED,
        rep_id=rep.id,
        method=method,
        pool_id=pool_id,
    )


def decide_queue(
    lead: Mapping[str, Any], pool_id: int, world: World, now: datetime, *, why: str, method: str
) -> Decision:
    """Back to a claim queue, to wait for a member to claim it."""
    run, base = _start(lead, world, now, why)
    return _finish(
        run, base, rule=None, action="queue", outcome=QUEUED, method=method, pool_id=pool_id
    )


def decide_triage(lead: Mapping[str, Any], world: World, now: datetime, *, why: str) -> Decision:
    """To the triage queue, for a person to decide."""
    run, base = _start(lead, world, now, why)
    return _finish(run, base, rule=None, action="triage", outcome=TRIAGE, method="triage")


def reasons_in_words(decision: Decision) -> list[str]:
    """The reasons of the decision's last candidate, in words (a refused claim's)."""
    if not decision.candidates:
        return []
    c = decision.candidates[-1]
    return [REASON_WORDS.get(r, str(r)) for r in c.reasons]
