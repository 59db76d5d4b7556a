"""Each kind of change made through the API is one audit entry: the field's value before
and after, the token's user as the actor, ``api`` as the source."""

import pytest
from auditlog.models import LogEntry

pytestmark = pytest.mark.django_db

CREATE, UPDATE = LogEntry.Action.CREATE, LogEntry.Action.UPDATE

# (id, request, model, action, field, before, after). A request is (method, url, body),
# the url formatted with the world's objects.
CASES = [
    (
        "team",
        ("patch", "/api/teams/{team.pk}/", {"region": "APAC"}),
        "reps.team",
        UPDATE,
        "region",
        "EMEA",
        "APAC",
    ),
    (
        "rep weight",
        ("patch", "/api/reps/{anna.pk}/", {"weight": 3}),
        "reps.rep",
        UPDATE,
        "weight",
        1,
        3,
    ),
    (
        "rep cap",
        ("patch", "/api/reps/{anna.pk}/", {"max_open": 5}),
        "reps.rep",
        UPDATE,
        "max_open",
        None,
        5,
    ),
    (
        "presence",
        ("post", "/api/reps/{anna.pk}/presence/", {"presence": "away"}),
        "reps.rep",
        UPDATE,
        "presence",
        "available",
        "away",
    ),
    (
        "time off",
        (
            "post",
            "/api/reps/{anna.pk}/time-off/",
            {"start": "2031-01-01T00:00Z", "end": "2031-01-05T00:00Z", "reason": "Ski"},
        ),
        "reps.timeoff",
        CREATE,
        "reason",
        None,
        "Ski",
    ),
    (
        "territory",
        ("patch", "/api/territories/{territory.pk}/", {"countries": ["DE", "AT"]}),
        "routing.territory",
        UPDATE,
        "countries",
        ["DE", "FR"],
        ["DE", "AT"],
    ),
    (
        "pool",
        ("patch", "/api/pools/{pool.pk}/", {"method": "load_balanced"}),
        "routing.pool",
        UPDATE,
        "method",
        "round_robin",
        "load_balanced",
    ),
    (
        "pool member weight",
        (
            "patch",
            "/api/pools/{pool.pk}/",
            {"members": [{"rep": "{ben.pk}"}, {"rep": "{anna.pk}", "weight": 4}]},
        ),
        "routing.poolmember",
        UPDATE,
        "weight",
        2,
        4,
    ),
    (
        "rule",
        (
            "post",
            "/api/rules/",
            {
                "name": "Germany",
                "action": "triage",
                "condition": {"field": "country", "op": "eq", "value": "DE"},
            },
        ),
        "routing.rule",
        CREATE,
        "name",
        None,
        "Germany",
    ),
    (
        "publish",
        ("post", "/api/rulesets/publish/", {"note": "v2"}),
        "routing.publication",
        CREATE,
        "note",
        None,
        "v2",
    ),
    (
        "rollback",
        ("post", "/api/rulesets/1/rollback/", {"note": "back"}),
        "routing.publication",
        CREATE,
        "is_rollback",
        None,
        True,
    ),
]


def _format(value, world):
    if isinstance(value, str):
        return value.format(**world)
    if isinstance(value, list | tuple):
        return type(value)(_format(v, world) for v in value)
    if isinstance(value, dict):
        return {k: _format(v, world) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("request_", "model", "action", "field", "before", "after"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_an_api_change_is_one_entry_with_before_after_actor_and_source(
    world, token_api, revops, request_, model, action, field, before, after
):
    method, url, body = _format(request_, world)
    response = getattr(token_api, method)(url, body, format="json")
    assert response.status_code < 300, response.content

    [entry] = LogEntry.objects.all()
    assert f"{entry.content_type.app_label}.{entry.content_type.model}" == model
    assert entry.action == action
    assert entry.changes_dict[field] == [before, after]
    assert entry.actor == revops
    assert entry.additional_data == {"source": "api"}


def test_setting_a_reps_skills_is_one_entry_naming_the_skills_added(world, token_api, revops):
    anna = world["anna"]
    response = token_api.patch(f"/api/reps/{anna.pk}/", {"skills": ["fintech"]}, format="json")
    assert response.status_code == 200, response.content

    [entry] = LogEntry.objects.all()
    assert entry.changes_dict["skills"] == {
        "type": "m2m",
        "operation": "add",
        "objects": ["fintech"],
    }
    assert (entry.actor, entry.additional_data["source"]) == (revops, "api")


def test_sending_the_same_values_again_records_nothing(world, token_api):
    pool = world["pool"]
    members = [{"rep": world["ben"].pk}, {"rep": world["anna"].pk, "weight": 2}]
    response = token_api.patch(f"/api/pools/{pool.pk}/", {"members": members}, format="json")
    assert response.status_code == 200, response.content
    assert not LogEntry.objects.exists()
