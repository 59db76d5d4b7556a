"""The speed rollup against the exact live computation: a few hundred leads with known
durations over six days (five before "today", one today)."""

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from leadhub.leads.models import Lead
from leadhub.web import metrics, rollup
from leadhub.web.models import SpeedBucket, SpeedRollupState
from leadhub.web.tasks import speed_rollup
from reps.models import Rep
from reps.tests.factories import RepFactory, TeamFactory, UserFactory
from routing.models import Decision
from sla.models import Notification

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # "today" is 10 March
PERIOD = metrics.MetricFilter(
    start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 3, 11, tzinfo=UTC)
)


class Floor:
    def __init__(self) -> None:
        self.north, self.south = TeamFactory(name="North"), TeamFactory(name="South")
        self.manager = RepFactory(
            team=self.north, role=Rep.Role.MANAGER, user=UserFactory(username="mia")
        )
        self.ann = RepFactory(team=self.north, user=UserFactory(username="ann"))
        self.cat = RepFactory(team=self.south, user=UserFactory(username="cat"))
        self.revops = UserFactory(username="rev", is_staff=True)
        rng = random.Random(7)
        self.leads: list[Lead] = []
        for d in range(6):  # 5 to 10 March; the 10th is today (leads before noon)
            day = datetime(2026, 3, 5 + d, tzinfo=UTC)
            for i in range(60):
                captured = day + timedelta(seconds=rng.randrange(0, 11 * 3600))
                owner = (self.ann, self.cat, None)[i % 3] if i % 10 else None
                self.leads.append(self._lead(rng, i, captured, owner))

    def _lead(self, rng: random.Random, i: int, captured: datetime, owner) -> Lead:
        if owner is None:
            return Lead.objects.create(
                email=f"t{len(self.leads)}@x.example", status="triage", captured_at=captured
            )
        assigned = captured + timedelta(seconds=0 if i % 7 == 0 else rng.uniform(0, 5))
        accept = rng.choice([None, rng.uniform(0, 3600), rng.uniform(0, 86400)])
        touch = rng.choice([None, rng.uniform(0, 10800), 0.0])
        lead = Lead.objects.create(
            email=f"l{len(self.leads)}@x.example",
            source=("web_form", "partner")[i % 2],
            owner=owner,
            status="assigned",
            captured_at=captured,
            assigned_at=assigned,
            accepted_at=None if accept is None else assigned + timedelta(seconds=accept),
            first_touch_at=None if touch is None else assigned + timedelta(seconds=touch),
            routed_rule=("Inbound", "Partners")[i % 2],
        )
        decision = Decision.objects.create(
            lead=lead, kind="auto", rule_name=lead.routed_rule, rep=owner, outcome="assigned",
            created_at=assigned,
        )  # fmt: skip
        Notification.objects.create(
            lead=lead, decision=decision, rep=owner, channel="in_app", event="lead.assigned",
            title="New lead", status="sent",
            created_at=assigned + timedelta(seconds=rng.uniform(0, 7)),
        )  # fmt: skip
        return lead


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def floor(clock):
    return Floor()


def exact(f, user, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(rollup, "serves", lambda f: False)
        return metrics.speed(f, user)


def assert_close(approx: dict, true: dict) -> None:
    for measure in metrics.SPEED_MEASURES:
        a, t = approx[measure], true[measure]
        assert a["n"] == t["n"], measure
        for p in ("p50", "p90", "p95"):
            if t[p] is None:
                assert a[p] is None
            else:
                assert abs(a[p] - t[p]) <= max(0.01 * abs(t[p]), 1.0), (measure, p, a[p], t[p])


def test_buckets_are_within_one_percent_plus_a_hundredth_of_a_second():
    assert rollup.bucket_of(0) == 0 and rollup.value_of(0) == 0.0
    for x in [0.001, 0.5, 1, 2.5, 17, 99.9, 100, 1234.5, 86400, 10**7, -3, -1000]:
        value = rollup.value_of(rollup.bucket_of(x))
        assert abs(value - x) <= 0.00995 * (abs(x) + 1), x


def test_rollup_percentiles_are_within_one_percent_of_the_exact_ones(floor, monkeypatch):
    speed_rollup()  # never built: the task builds every day
    assert rollup.serves(PERIOD)
    for user, f in (
        (floor.revops, PERIOD),
        (floor.revops, replace(PERIOD, team_id=floor.north.pk)),
        (floor.revops, replace(PERIOD, team_id=floor.south.pk)),
        (floor.manager.user, PERIOD),
    ):
        got, true = metrics.speed(f, user), exact(f, user, monkeypatch)
        assert [d["day"] for d in got["daily"]] == [d["day"] for d in true["daily"]]
        assert len(got["daily"]) == 6
        assert_close(got["overall"], true["overall"])
        for day, true_day in zip(got["daily"], true["daily"], strict=True):
            assert_close(day, true_day)
        assert got["daily"][-1] == true["daily"][-1]  # today: live and exact
    # A team filter outside a manager's scope: nothing, as live.
    outside = replace(PERIOD, team_id=floor.south.pk)
    assert metrics.speed(outside, floor.manager.user) == exact(
        outside, floor.manager.user, monkeypatch
    )


def test_refresh_is_idempotent(floor):
    days = [datetime(2026, 3, 5 + d).date() for d in range(6)]

    def rows():
        fields = ("day", "team_id", "metric", "bucket", "count")
        return list(SpeedBucket.objects.order_by(*fields[:4]).values_list(*fields))

    written = rollup.speed_rollup_refresh(days)
    first = rows()
    assert written == len(first) > 0
    assert rollup.speed_rollup_refresh(days) == written
    assert rows() == first
    assert sum(n for d, t, m, b, n in first if m == "lead") == len(floor.leads)


def test_the_task_refreshes_a_day_after_a_lead_of_that_day_is_accepted_later(
    floor, clock, monkeypatch
):
    speed_rollup()
    lead = next(
        lead
        for lead in floor.leads
        if lead.captured_at.date() == NOW.date() - timedelta(days=3)
        and lead.owner_id
        and lead.accepted_at is None
    )
    before = metrics.speed(PERIOD, floor.revops)
    clock.shift(timedelta(minutes=5))
    lead.accepted_at = lead.assigned_at + timedelta(seconds=42)
    lead.status = "accepted"
    lead.save()
    day = lead.captured_at.date().isoformat()
    stale = {d["day"]: d for d in metrics.speed(PERIOD, floor.revops)["daily"]}
    assert stale[day]["accept"]["n"] == {d["day"]: d for d in before["daily"]}[day]["accept"]["n"]

    clock.shift(timedelta(minutes=5))
    speed_rollup()
    fresh = {d["day"]: d for d in metrics.speed(PERIOD, floor.revops)["daily"]}
    true = {d["day"]: d for d in exact(PERIOD, floor.revops, monkeypatch)["daily"]}
    assert fresh[day]["accept"]["n"] == stale[day]["accept"]["n"] + 1
    assert_close(fresh[day], true[day])
    state = SpeedRollupState.objects.get()
    assert state.refreshed_at == NOW + timedelta(minutes=10)


def test_rep_source_and_rule_filters_are_live_and_exact(floor, monkeypatch):
    call_command("rebuild_speed_rollup")
    for f in (
        replace(PERIOD, rep_id=floor.ann.pk),
        replace(PERIOD, source="partner"),
        replace(PERIOD, rule_name="Partners"),
        replace(PERIOD, start=PERIOD.start + timedelta(hours=6)),  # not whole days
    ):
        assert not rollup.serves(f)
        assert metrics.speed(f, floor.revops) == exact(f, floor.revops, monkeypatch)
    by_rep = metrics.speed(replace(PERIOD, rep_id=floor.ann.pk), floor.revops)
    assert by_rep["overall"]["assign"]["n"] == sum(1 for x in floor.leads if x.owner == floor.ann)


def test_without_a_rollup_the_metric_is_live(floor, monkeypatch):
    assert not rollup.serves(PERIOD)
    assert metrics.speed(PERIOD, floor.revops) == exact(PERIOD, floor.revops, monkeypatch)


def test_the_rebuild_command_for_the_last_days_leaves_older_days(floor):
    call_command("rebuild_speed_rollup")
    older = SpeedBucket.objects.filter(day="2026-03-05").count()
    SpeedBucket.objects.filter(day="2026-03-09").delete()
    call_command("rebuild_speed_rollup", "--days", "2")
    assert SpeedBucket.objects.filter(day="2026-03-09").exists()
    assert SpeedBucket.objects.filter(day="2026-03-05").count() == older


def test_the_section_says_as_of_when_and_the_api_keeps_its_shape(client, api, floor):
    client.force_login(floor.revops)
    params = {"start": "2026-03-01", "end": "2026-03-10"}
    url = reverse("web:dashboard-section", args=["speed"])
    assert "speed-as-of" not in client.get(url, params).content.decode()  # live: no note
    speed_rollup()
    html = client.get(url, params).content.decode()
    assert "figures before today as of" in html
    assert "speed-as-of" not in client.get(url, {**params, "source": "partner"}).content.decode()
    api.force_authenticate(floor.revops)
    data = api.get("/api/metrics/speed/", params).json()
    assert set(data) == {"overall", "daily"}
    assert set(data["overall"]["assign"]) == {"p50", "p90", "p95", "n"}
