"""Reads of experiments: the compiled running set for routing, and each arm's figures.

An arm's leads are the leads whose *first* decision in the experiment placed them there
(a lead routed again lands in the same arm by the hash; if the split was different then,
its first placement still counts). Per arm, over those leads:

- ``acceptance_rate`` = leads accepted ÷ leads assigned to a rep (``accepted_at`` and
  ``assigned_at`` set);
- speed to first touch = ``first_touch_at - captured_at`` (capture, not assignment: an arm
  that is slower to assign is slower for the buyer), p50 / p90 linear-interpolated, over
  the touched leads;
- ``conversion_rate`` = converted ÷ all the arm's leads (open leads count as not converted
  yet, so both arms are measured over the same leads whatever their pace);

and the two-sided two-proportion z-test of the difference in conversion (stats.py), with a
verdict that calls no winner below ``LEADHUB_EXPERIMENT_MIN_LEADS`` leads per arm.

The decisions are found through ``Decision.experiment`` (a column with an index, not a
payload key), one query for the counts and one for the touch times.
"""

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Min, Q, QuerySet
from django.utils import timezone

from routing import engine
from routing.engine.experiments import ARM_A, ARM_B, Arm, compile_experiment
from routing.engine.experiments import Experiment as CompiledExperiment
from routing.experiments import stats
from routing.models import Decision, Experiment
from routing.selectors import compiled_ruleset

logger = logging.getLogger(__name__)


def experiments_all() -> QuerySet[Experiment]:
    return Experiment.objects.select_related(
        "arm_a_ruleset", "arm_a_pool", "arm_b_ruleset", "arm_b_pool", "created_by"
    )


def arm_name(experiment: Experiment, label: str) -> str:
    """The arm in words: "rule set version 4" or "pool 'Inbound EU'"."""
    ruleset = getattr(experiment, f"arm_{label}_ruleset")
    if ruleset is not None:
        return f"rule set version {ruleset.version}"
    pool = getattr(experiment, f"arm_{label}_pool")
    return f"pool '{pool.name}'" if pool is not None else "(no strategy)"


def experiment_state(experiment: Experiment, now: datetime | None = None) -> str:
    now = now or timezone.now()
    if now < experiment.starts_at:
        return "scheduled"
    return "running" if now < experiment.ends_at else "ended"


def _arm(experiment: Experiment, label: str) -> Arm:
    ruleset = getattr(experiment, f"arm_{label}_ruleset")
    rules = compiled_ruleset(ruleset) if ruleset is not None else None
    pool_id = getattr(experiment, f"arm_{label}_pool_id")
    return Arm(label, arm_name(experiment, label), rules=rules, pool_id=pool_id)


def experiments_compiled() -> tuple[CompiledExperiment, ...]:
    """Every experiment not yet ended, compiled, earliest start first (the first whose
    segment a lead is in takes it). Loaded by ``routing.world.running_experiments`` once
    per change of the set-up. One that no longer compiles (its pool or version was
    removed around the services) is left out and logged, so that routing goes on."""
    compiled = []
    rows = experiments_all().filter(ends_at__gt=timezone.now()).order_by("starts_at", "pk")
    for row in rows:
        try:
            compiled.append(
                compile_experiment(
                    id=row.pk,
                    name=row.name,
                    segment=row.segment,
                    split=row.split,
                    starts_at=row.starts_at,
                    ends_at=row.ends_at,
                    a=_arm(row, ARM_A),
                    b=_arm(row, ARM_B),
                )
            )
        except (ValueError, RecursionError):
            logger.exception("Experiment %s (%s) left out of routing", row.pk, row.name)
    return tuple(compiled)


def _first_placements(experiment: Experiment) -> QuerySet[Decision]:
    firsts = (
        Decision.objects.filter(experiment=experiment)
        .values("lead_id")
        .annotate(first=Min("pk"))
        .values("first")
    )
    return Decision.objects.filter(pk__in=firsts)


def experiment_results(experiment: Experiment, *, min_leads: int | None = None) -> dict[str, Any]:
    """The figures per arm, the test of the difference in conversion, and the verdict."""
    if min_leads is None:
        min_leads = settings.LEADHUB_EXPERIMENT_MIN_LEADS
    placed = _first_placements(experiment)
    counts = {
        row["arm"]: row
        for row in placed.values("arm").annotate(
            leads=Count("pk"),
            assigned=Count("pk", filter=Q(lead__assigned_at__isnull=False)),
            accepted=Count(
                "pk", filter=Q(lead__assigned_at__isnull=False, lead__accepted_at__isnull=False)
            ),
            touched=Count("pk", filter=Q(lead__first_touch_at__isnull=False)),
            closed=Count("pk", filter=Q(lead__status__in=("converted", "disqualified", "junk"))),
            converted=Count("pk", filter=Q(lead__status="converted")),
        )
    }
    touches: dict[str, list[float]] = {ARM_A: [], ARM_B: []}
    for arm, delta in placed.filter(lead__first_touch_at__isnull=False).values_list(
        "arm", F("lead__first_touch_at") - F("lead__captured_at")
    ):
        if arm in touches:
            touches[arm].append(max(0.0, delta.total_seconds()))
    arms = []
    for label in (ARM_A, ARM_B):
        c = counts.get(label, {})
        leads, converted = c.get("leads", 0), c.get("converted", 0)
        assigned, accepted = c.get("assigned", 0), c.get("accepted", 0)
        speed = sorted(touches[label])
        arms.append(
            {
                "arm": label,
                "name": arm_name(experiment, label),
                "leads": leads,
                "assigned": assigned,
                "accepted": accepted,
                "acceptance_rate": accepted / assigned if assigned else None,
                "touched": len(speed),
                "first_touch_p50_seconds": stats.percentile(speed, 0.5),
                "first_touch_p90_seconds": stats.percentile(speed, 0.9),
                "closed": c.get("closed", 0),
                "converted": converted,
                "conversion_rate": converted / leads if leads else None,
            }
        )
    a, b = arms
    test = stats.two_proportion_ztest(a["converted"], a["leads"], b["converted"], b["leads"])
    code, words = stats.verdict(
        n_a=a["leads"],
        x_a=a["converted"],
        n_b=b["leads"],
        x_b=b["converted"],
        test=test,
        min_leads=min_leads,
    )
    return {
        "arms": arms,
        "test": None
        if test is None
        else {
            "difference": test.difference,
            "z": test.z,
            "p_value": test.p_value,
            "confidence": test.confidence,
            "ci_low": test.ci_low,
            "ci_high": test.ci_high,
        },
        "min_leads_per_arm": min_leads,
        "verdict": code,
        "verdict_text": words,
    }


def segment_in_words(experiment: Experiment) -> str:
    try:
        return engine.parse_condition(experiment.segment, "segment").describe()
    except (engine.RuleError, RecursionError):
        return "(a segment that no longer compiles)"
