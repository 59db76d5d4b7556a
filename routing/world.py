"""Routing's inputs, cached per process between changes to the set-up.

Loading the world (every active pool with its members, territories, reps with schedules,
time off, holidays and skills, managers, the compiled rule set in force) takes about ten
queries and grows with the number of reps. It changes rarely, and leads arrive often, so
each process keeps what it loaded together with the ``RoutingStamp`` token it read; a route
re-reads that one row at most every ``RECHECK_SECONDS`` and reloads only when the token
moved or the copy is older than ``MAX_AGE``.

Every write to what the world holds changes the token in the writing transaction:
``post_save`` / ``post_delete`` / ``m2m_changed`` of the models below, ``reps_changed`` for
reps' bulk writes, and ``routing_changed()`` called by routing's own bulk writes. A route
that starts after such a commit reads the new token. ``MAX_AGE`` bounds everything else
that moves with the clock: time off and holidays inside the snapshot horizon, conversion
rates of performance-weighted pools, and any write that went around the services.

What a route must not take from the cache it re-reads under lock: the pool states and the
reps' load counters (``routing.services.core._assign``).
"""

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models.signals import m2m_changed, post_delete, post_save

from routing import engine
from routing.engine.experiments import Experiment as CompiledExperiment

MAX_AGE = timedelta(seconds=60)
# How often a process re-reads the token while its copy is young: a change made in another
# process reaches routes here within this long; one made in this thread at once (the
# writer's own signal drops the copy).
RECHECK_SECONDS = 1.0


@dataclass
class _Entry:
    key: tuple[str, str | None]
    loaded_at: datetime
    rules: engine.CompiledRuleSet
    world: engine.World
    states_made: set[int] = field(default_factory=set)
    checked: float = 0.0  # time.perf_counter() of the last token read


_local = threading.local()


def routing_changed(action: str = "post", **kwargs) -> None:
    """Move the token: every process reloads its routing inputs on its next route."""
    from routing.models import RoutingStamp

    if not action.startswith("post"):  # m2m_changed sends pre_ and post_ of each change
        return
    forget()
    token = uuid.uuid4().hex
    if not RoutingStamp.objects.filter(pk=1).update(token=token):
        RoutingStamp.objects.update_or_create(pk=1, defaults={"token": token})


def forget() -> None:
    """Drop this process's copy (tests, and after a database is rebuilt under it)."""
    _local.entry = None
    _local.values = {}
    # Compiled rule sets are kept per row identity; a test database reuses ids and times.
    from routing import selectors

    selectors._COMPILED.clear()


def cached(key: str, load: Callable[[], Any]) -> Any:
    """A value derived from the set-up (e.g. the notification layer's subscriptions), kept
    per process under the same token and re-check rules as the world. The models it reads
    must move the token when they change (``connect_models``)."""
    values = getattr(_local, "values", None)
    if values is None:
        values = _local.values = {}
    name = connection.settings_dict["NAME"]
    clock = time.perf_counter()
    hit = values.get(key)
    if hit is not None and hit[0][0] == name and clock - hit[1] < RECHECK_SECONDS:
        return hit[2]
    token_key = (name, _token())
    if hit is not None and hit[0] == token_key and clock - hit[3] < MAX_AGE.total_seconds():
        hit[1] = clock
        return hit[2]
    value = load()
    values[key] = [token_key, clock, value, clock]
    return value


def _token() -> str | None:
    from routing.models import RoutingStamp

    return RoutingStamp.objects.filter(pk=1).values_list("token", flat=True).first()


def routing_inputs(*, now: datetime) -> _Entry:
    """The compiled rule set in force and the world, from this process's copy when it is
    current. Counts and pool states in it are as of ``loaded_at``: good enough to learn
    which pools and reps a lead involves, not to decide under lock."""
    from routing.selectors import compiled_ruleset, routing_world, ruleset_in_force
    from routing.services.core import EMPTY_RULES

    entry: _Entry | None = getattr(_local, "entry", None)
    name = connection.settings_dict["NAME"]
    fresh = entry is not None and entry.loaded_at <= now < entry.loaded_at + MAX_AGE
    if fresh and entry.key[0] == name and time.perf_counter() - entry.checked < RECHECK_SECONDS:
        return entry
    key = (name, _token())
    if fresh and entry.key == key:
        entry.checked = time.perf_counter()
        return entry
    ruleset = ruleset_in_force()
    rules = compiled_ruleset(ruleset) if ruleset else EMPTY_RULES
    entry = _Entry(key=key, loaded_at=now, rules=rules, world=routing_world(now=now))
    entry.states_made = set(entry.world.states)
    entry.checked = time.perf_counter()
    _local.entry = entry
    return entry


def running_experiments() -> tuple[CompiledExperiment, ...]:
    """The A/B experiments not yet ended, compiled (``routing.engine.experiments``), from
    this process's copy under the same token as the world; whether one runs at a given
    instant is the engine's check (``Experiment.running``)."""
    from routing.experiments.selectors import experiments_compiled

    return cached("routing.experiments", experiments_compiled)


def connect_models(models: list, prefix: str) -> None:
    """Move the token on every save and delete of these models."""
    for model in models:
        uid = f"{prefix}.{model._meta.label}"
        post_save.connect(routing_changed, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(routing_changed, sender=model, dispatch_uid=f"{uid}.delete")


def connect() -> None:
    """Connect the token to every write of what the world holds (RoutingConfig.ready)."""
    from reps.models import Holiday, HolidayCalendar, Rep, Skill, Team, TimeOff, WorkingHours
    from reps.signals import reps_changed
    from routing.models import Experiment, Pool, PoolMember, Publication, Territory

    models = [Team, Rep, WorkingHours, TimeOff, HolidayCalendar, Holiday, Skill]
    models += [Pool, PoolMember, Territory, Publication, Experiment]
    connect_models(models, "routing.world")
    m2m_changed.connect(
        routing_changed, sender=Rep.skills.through, dispatch_uid="routing.world.rep_skills"
    )
    reps_changed.connect(routing_changed, dispatch_uid="routing.world.reps_changed")
