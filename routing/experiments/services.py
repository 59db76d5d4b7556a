"""Writes to A/B experiments, shared by the API and the admin. Each raises
``ValidationError`` naming the field. Saving an experiment moves the routing token (the
model is connected in ``routing.world.connect``), so every process routes with it at once.

Once an experiment has started, what decides the placement (segment, arms, split, start)
is fixed: changing it would mix two experiments in one comparison. Its name, note and end
may still change; ``experiment_stop`` ends it now.
"""

import copy
import json
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from routing import engine
from routing.models import Experiment, Pool, RuleSet

# What an experiment is made of, in the order the admin's form shows it.
FIELDS = (
    "name",
    "segment",
    "arm_a_ruleset",
    "arm_a_pool",
    "arm_b_ruleset",
    "arm_b_pool",
    "split",
    "starts_at",
    "ends_at",
    "note",
)
# What a started experiment keeps.
FIXED_ONCE_STARTED = frozenset(
    {"segment", "arm_a_ruleset", "arm_a_pool", "arm_b_ruleset", "arm_b_pool", "split", "starts_at"}
)
MAX_SEGMENT_DEPTH = 20


def _depth(data: Any, level: int = 0) -> int:
    if level > MAX_SEGMENT_DEPTH:
        return level
    if isinstance(data, dict):
        return max([_depth(v, level + 1) for v in data.values()] or [level])
    if isinstance(data, list | tuple):
        return max([_depth(v, level + 1) for v in data] or [level])
    return level


def check_segment(segment: Any) -> None:
    if _depth(segment) > MAX_SEGMENT_DEPTH:
        raise ValidationError({"segment": f"Nested deeper than {MAX_SEGMENT_DEPTH} levels."})
    if "\\u0000" in json.dumps(segment, default=str):
        raise ValidationError({"segment": "No NUL characters."})
    try:
        engine.parse_condition(segment, "segment")
    except engine.RuleError as exc:
        raise ValidationError({"segment": str(exc)}) from None


def _check_arm(label: str, ruleset: RuleSet | None, pool: Pool | None) -> None:
    field = f"arm_{label}_ruleset"
    if (ruleset is None) == (pool is None):
        raise ValidationError(
            {field: f"Arm {label.upper()} is either a published rule set version or a pool."}
        )
    if ruleset is not None and (ruleset.is_draft or ruleset.version is None):
        raise ValidationError({field: "Choose a published version, not the draft."})
    if pool is not None:
        if not pool.active:
            raise ValidationError({f"arm_{label}_pool": f"Pool '{pool.name}' is switched off."})
        if pool.method == Pool.Method.CLAIM_QUEUE:
            raise ValidationError(
                {
                    f"arm_{label}_pool": f"Pool '{pool.name}' is a claim queue: an arm must "
                    "choose a rep (a pool with a distribution method) or be a rule set version."
                }
            )


def check_experiment(experiment: Experiment, *, now: datetime, creating: bool) -> None:
    """Everything ``experiment_save`` refuses, as a ValidationError naming the field."""
    name = (experiment.name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the experiment a name."})
    if "\x00" in name or "\x00" in (experiment.note or ""):
        raise ValidationError({"name": "No NUL characters."})
    clash = Experiment.objects.filter(name=name).exclude(pk=experiment.pk)
    if clash.exists():
        raise ValidationError({"name": f"An experiment named '{name}' exists already."})
    check_segment(experiment.segment)
    split = experiment.split
    if isinstance(split, bool) or not isinstance(split, int) or not 1 <= split <= 99:
        raise ValidationError({"split": "A whole percentage from 1 to 99 (arm A's share)."})
    _check_arm("a", experiment.arm_a_ruleset, experiment.arm_a_pool)
    _check_arm("b", experiment.arm_b_ruleset, experiment.arm_b_pool)
    if (experiment.arm_a_ruleset_id, experiment.arm_a_pool_id) == (
        experiment.arm_b_ruleset_id,
        experiment.arm_b_pool_id,
    ):
        raise ValidationError({"arm_b_ruleset": "The two arms are the same strategy."})
    if experiment.starts_at is None or experiment.ends_at is None:
        raise ValidationError({"starts_at": "Give a start and an end."})
    if experiment.ends_at <= experiment.starts_at:
        raise ValidationError({"ends_at": "The end must come after the start."})
    if creating and experiment.ends_at <= now:
        raise ValidationError({"ends_at": "The end is in the past."})


def experiment_check(*, experiment: Experiment | None = None, **fields: Any) -> Experiment:
    """``experiment`` (as stored; None for a new one) with ``fields`` applied, unsaved, or
    the ValidationError naming the field ``experiment_save`` would refuse. The admin's form
    runs it before saving."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"experiment_save() got unknown fields: {sorted(unknown)}")
    now = timezone.now()
    creating = experiment is None or experiment.pk is None
    if not creating and experiment.starts_at <= now:
        changed = sorted(
            f for f in FIXED_ONCE_STARTED & set(fields) if getattr(experiment, f) != fields[f]
        )
        if changed:
            raise ValidationError(
                {
                    changed[0]: "The experiment has started: its segment, arms, split and "
                    "start are fixed (end it and start another)."
                }
            )
    candidate = copy.copy(experiment) if experiment is not None else Experiment()
    for name, value in fields.items():
        setattr(candidate, name, value)
    candidate.name = (candidate.name or "").strip()
    check_experiment(candidate, now=now, creating=creating)
    return candidate


@transaction.atomic
def experiment_save(
    *, experiment: Experiment | None = None, actor: Any = None, **fields: Any
) -> Experiment:
    """Create an experiment (no ``experiment``) or change the given fields of one."""
    if experiment is not None and experiment.pk is not None:
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    creating = experiment is None or experiment.pk is None
    experiment = experiment_check(experiment=experiment, **fields)
    if creating and actor is not None and getattr(actor, "is_authenticated", False):
        experiment.created_by = actor
    experiment.save()
    return experiment


@transaction.atomic
def experiment_stop(*, experiment: Experiment) -> Experiment:
    """End a running experiment now; its figures stay."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    now = timezone.now()
    if experiment.ends_at <= now:
        raise ValidationError({"ends_at": "The experiment has ended already."})
    if experiment.starts_at > now:
        raise ValidationError(
            {"starts_at": "The experiment has not started: delete it, or change its dates."}
        )
    experiment.ends_at = max(now, experiment.starts_at + timedelta(microseconds=1))
    experiment.save(update_fields=["ends_at"])
    return experiment


@transaction.atomic
def experiment_delete(*, experiment: Experiment) -> None:
    """Delete an experiment no lead was placed by; one with decisions is ended instead."""
    if experiment.decisions.exists():
        raise ValidationError(
            "Leads were placed by this experiment: end it instead, so its figures stay."
        )
    experiment.delete()
