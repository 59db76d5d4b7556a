"""Routing under real concurrency on PostgreSQL: 8 intake clients capture 2,000 leads while
2 worker processes (real routing lanes, ``manage.py lane routing``, on the ORM broker)
route them.

Afterwards no cap is exceeded, round-robin counts of the members that never hit a cap
differ by at most one, weighted shares are within one lead of exact, every lead has
exactly one effective decision, the pools' stored rotation counts agree with the decisions,
and nothing is left new. The workers and the intake threads share nothing but the
database: this checks the row locks of ``lead_route``, not luck.
"""

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count, F, Q
from django_q.conf import Conf

from leadhub import lanes
from leadhub.leads.models import OPEN_STATUSES, Lead
from leadhub.leads.services import lead_capture
from leadhub.tests.processes import manage, stop, worker_env
from reps.models import Rep
from reps.tests.factories import RepFactory, TeamFactory
from routing.models import Decision, PoolState, Rule
from routing.services import ruleset_draft, ruleset_publish
from routing.tests.factories import PoolFactory, PoolMemberFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LEADS = 2000
CLIENTS = 8
WORKERS = 2
CAP = 50  # one round-robin member's max_open: hit after 50 of its ~200 turns
WEIGHTS = (1, 2, 3)
ROUND_ROBIN_COUNTRY = "DE"
DEADLINE = 240  # seconds for the workers to route everything


@contextlib.contextmanager
def workers(count: int, logs: Path) -> Iterator[list[Path]]:
    """Start ``count`` routing lanes of one worker each; yield the files of their output."""
    env = worker_env()
    files = [logs / f"lane-routing-{n}.log" for n in range(count)]
    procs = []
    try:
        for file in files:
            procs.append(manage("lane", lanes.ROUTING, log=file, env=env))
        yield files
    finally:
        stop(procs)


def capture_concurrently(total: int, clients: int) -> list[BaseException]:
    """``clients`` threads capture ``total`` distinct leads between them, half of them in
    the round-robin country; returns the exceptions the threads raised."""
    barrier = threading.Barrier(clients)
    errors: list[BaseException] = []

    def client(index: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            for n in range(index, total, clients):
                country = ROUND_ROBIN_COUNTRY if n % 2 else "US"
                lead_capture(
                    data={
                        "email": f"buyer{n}@company{n}.com",
                        "first_name": "Buyer",
                        "last_name": str(n),
                        "company": f"Company {n}",
                        "country": country,
                    },
                    channel="api",
                )
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE)
    if any(thread.is_alive() for thread in threads):
        errors.append(TimeoutError("an intake client never finished"))
    return errors


@pytest.fixture
def world():
    """A round-robin pool of five (one capped at CAP) for DE, a weighted pool 1/2/3 for
    everyone else; no working hours, everyone available."""
    team = TeamFactory(name="Concurrency")
    settings = {"check_hours": False}
    rr = PoolFactory(name="Round robin", team=team, settings=settings)
    rr_reps = [RepFactory(team=team, max_open=CAP if i == 0 else None) for i in range(5)]
    for position, rep in enumerate(rr_reps):
        PoolMemberFactory(pool=rr, rep=rep, position=position)
    weighted = PoolFactory(
        name="Weighted", team=team, method="weighted_round_robin", settings=settings
    )
    for position, w in enumerate(WEIGHTS):
        PoolMemberFactory(pool=weighted, rep=RepFactory(team=team), position=position, weight=w)
    draft = ruleset_draft()
    Rule.objects.create(
        ruleset=draft,
        position=1,
        name="DE: round robin",
        condition={"field": "country", "op": "in", "value": [ROUND_ROBIN_COUNTRY]},
        action="pool",
        action_pool=rr,
    )
    Rule.objects.create(
        ruleset=draft, position=2, name="Rest: weighted", action="pool", action_pool=weighted
    )
    ruleset_publish(note="concurrency")
    return rr, weighted


def test_eight_clients_and_two_workers_route_2000_leads_fairly_within_caps(
    world, monkeypatch, settings, tmp_path
):
    rr, weighted = world
    # pytest runs tasks inline (Q_CLUSTER "sync"), and a lead captured on its own is routed
    # by the capturing thread: here every lead goes to the workers' broker.
    monkeypatch.setattr(Conf, "SYNC", False)
    settings.LEADHUB_ROUTE_AT_CAPTURE = False
    started = time.monotonic()

    with workers(WORKERS, tmp_path) as logs:
        errors = capture_concurrently(LEADS, CLIENTS)
        captured = time.monotonic() - started
        deadline = time.monotonic() + DEADLINE
        while Lead.objects.filter(status="new").exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        routed = time.monotonic() - started
    assert not errors, f"intake failed: {errors!r}"
    print(f"\n{LEADS} leads captured in {captured:.1f} s, all routed after {routed:.1f} s")

    # Nothing left new, and exactly one effective decision per lead.
    assert Lead.objects.count() == LEADS
    left = Lead.objects.filter(status="new").count()
    assert left == 0, f"{left} leads still new; worker output:\n" + "\n".join(
        log.read_text()[-3000:] for log in logs
    )
    per_lead = Lead.objects.annotate(
        effective=Count("decisions", filter=Q(decisions__effective=True))
    )
    assert Counter(per_lead.values_list("effective", flat=True)) == {1: LEADS}
    decisions = Decision.objects.filter(effective=True)
    assert decisions.count() == LEADS
    assert set(decisions.values_list("outcome", flat=True)) == {"assigned"}
    assert not decisions.exclude(lead__owner_id=F("rep_id")).exists()

    # No cap exceeded, and the capped member was really capped.
    open_leads = Counter(
        Lead.objects.filter(status__in=sorted(OPEN_STATUSES)).values_list("owner_id", flat=True)
    )
    for rep in Rep.objects.exclude(max_open=None):
        assert open_leads[rep.pk] <= rep.max_open, rep
    capped = rr.members.get(position=0).rep
    assert open_leads[capped.pk] == CAP

    # Round robin: the capped member is skipped (owed at most catch_up_limit credits it can
    # never spend while capped); the others take plain turns, so their counts differ by <= 1.
    rr_counts = Counter(decisions.filter(pool=rr).values_list("rep_id", flat=True))
    assert sum(rr_counts.values()) == LEADS // 2
    uncapped = [m.rep_id for m in rr.members.all() if m.rep_id != capped.pk]
    assert max(rr_counts[r] for r in uncapped) - min(rr_counts[r] for r in uncapped) <= 1, rr_counts
    assert rr_counts[capped.pk] == CAP

    # Weighted: with every member always eligible, each count stays within 1 of N * w / sum(w).
    w_counts = Counter(decisions.filter(pool=weighted).values_list("rep_id", flat=True))
    total = sum(w_counts.values())
    assert total == LEADS // 2
    for member in weighted.members.all():
        exact = total * member.weight / sum(WEIGHTS)
        assert abs(w_counts[member.rep_id] - exact) <= 1, (member.weight, w_counts, exact)

    # The stored rotation counts are the rotation decisions, pool by pool.
    for pool, counts in ((rr, rr_counts), (weighted, w_counts)):
        state = PoolState.objects.get(pool=pool)
        rotation = Counter(
            decisions.filter(pool=pool, rotation=True).values_list("rep_id", flat=True)
        )
        assert {int(k): v for k, v in state.assigned.items() if v} == dict(rotation) == counts
