"""The reps' load counters (reps.load) move with every assignment and status change made
through the lead services, and always equal a recount from the leads themselves."""

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadhub.leads.models import Lead
from leadhub.leads.services import LeadTransitionError, lead_assign, lead_transition
from leadhub.leads.tests.factories import LeadFactory
from reps.load import lead_counts, load_counts, rep_loads_recount
from reps.models import RepLoad
from reps.tests.factories import RepFactory

pytestmark = pytest.mark.django_db

# Sunday 22 November 2026, 20:00 UTC: Monday already in Tokyo, still Sunday in Los Angeles.
START = datetime(2026, 11, 22, 20, tzinfo=UTC)
ZONES = ["Asia/Tokyo", "America/Los_Angeles", "Europe/London"]


def counters(reps, now):
    loads = {load.rep_id: load for load in RepLoad.objects.filter(rep__in=reps)}
    return {r.pk: load_counts(loads.get(r.pk), r.timezone, now) for r in reps}


def recounted(reps, now):
    counted = lead_counts([r.pk for r in reps], {r.timezone for r in reps}, now)
    return {r.pk: counted.get(r.pk, (0, 0, 0)) for r in reps}


operations = st.lists(
    st.one_of(
        st.tuples(st.just("assign"), st.integers(0, 2)),
        st.tuples(st.just("reassign"), st.integers(0, 30), st.integers(0, 2)),
        st.tuples(
            st.just("status"),
            st.integers(0, 30),
            st.sampled_from(["accepted", "contacted", "junk", "disqualified"]),
        ),
        st.tuples(st.just("wait"), st.integers(1, 60)),  # hours
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=operations)
def test_counters_equal_a_recount_after_any_sequence_of_service_calls(steps):
    with time_machine.travel(START, tick=False) as clock, transaction.atomic():
        reps = [RepFactory(timezone=zone) for zone in ZONES]
        leads: list[int] = []
        for step in steps:
            if step[0] == "assign":
                lead = LeadFactory()
                lead_assign(lead=lead, rep_id=reps[step[1]].pk)
                leads.append(lead.pk)
            elif step[0] == "reassign" and leads:
                lead = Lead.objects.get(pk=leads[step[1] % len(leads)])
                with contextlib.suppress(LeadTransitionError):  # a closed lead stays put
                    lead_assign(lead=lead, rep_id=reps[step[2]].pk)
            elif step[0] == "status" and leads:
                with contextlib.suppress(LeadTransitionError):
                    lead_transition(lead_id=leads[step[1] % len(leads)], status=step[2])
            elif step[0] == "wait":
                clock.shift(timedelta(hours=step[1]))
            now = datetime.now(UTC)
            assert counters(reps, now) == recounted(reps, now), step
        transaction.set_rollback(True)


def test_a_lead_handed_on_leaves_the_old_owners_day_and_open_counts():
    with time_machine.travel(START, tick=False):
        ann, bob = RepFactory(timezone="UTC"), RepFactory(timezone="UTC")
        lead = LeadFactory()
        lead_assign(lead=lead, rep_id=ann.pk)
        now = datetime.now(UTC)
        assert counters([ann, bob], now) == {ann.pk: (1, 1, 1), bob.pk: (0, 0, 0)}

        lead_assign(lead=lead, rep_id=bob.pk)

        assert counters([ann, bob], now) == {ann.pk: (0, 0, 0), bob.pk: (1, 1, 1)}


def test_closing_a_lead_frees_a_place_but_still_counts_for_the_day():
    with time_machine.travel(START, tick=False):
        rep = RepFactory(timezone="UTC")
        lead = LeadFactory()
        lead_assign(lead=lead, rep_id=rep.pk)

        lead_transition(lead_id=lead.pk, status="junk")

        assert counters([rep], datetime.now(UTC)) == {rep.pk: (0, 1, 1)}


def test_a_new_day_and_a_new_week_start_from_zero_in_the_reps_own_time_zone():
    with time_machine.travel(START, tick=False) as clock:  # Sunday 20:00 UTC
        tokyo, london = RepFactory(timezone="Asia/Tokyo"), RepFactory(timezone="Europe/London")
        for rep in (tokyo, london):
            lead_assign(lead=LeadFactory(), rep_id=rep.pk)
        clock.shift(timedelta(hours=5))  # Monday 01:00 in London; still Monday in Tokyo

        now = datetime.now(UTC)
        assert counters([tokyo, london], now) == {tokyo.pk: (1, 1, 1), london.pk: (1, 0, 0)}


def test_the_recount_repairs_counters_and_reports_the_drift():
    with time_machine.travel(START, tick=False):
        rep = RepFactory(timezone="UTC")
        lead_assign(lead=LeadFactory(), rep_id=rep.pk)
        # A write around the services: the counters cannot know.
        Lead.objects.create(owner=rep, status="assigned", assigned_at=START, captured_at=START)
        now = datetime.now(UTC)
        assert counters([rep], now) == {rep.pk: (1, 1, 1)}

        drift = rep_loads_recount(now=now)

        assert drift == {rep.pk: (1, 1, 1)}
        assert counters([rep], now) == {rep.pk: (2, 2, 2)}
        assert rep_loads_recount(now=now) == {}


def test_a_rep_without_a_counter_row_gets_one_counted_from_its_leads():
    with time_machine.travel(START, tick=False):
        rep = RepFactory(timezone="UTC")
        Lead.objects.create(owner=rep, status="accepted", assigned_at=START, captured_at=START)
        assert not RepLoad.objects.filter(rep=rep).exists()

        lead_assign(lead=LeadFactory(), rep_id=rep.pk)

        assert counters([rep], datetime.now(UTC)) == {rep.pk: (2, 2, 2)}
