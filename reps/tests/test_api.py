from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth.models import Group

from leadhub.leads.tests.clients import client_as
from reps.models import Rep, Team, TimeOff
from reps.tests.factories import (
    RepFactory,
    SkillFactory,
    TeamFactory,
    TimeOffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 21, tzinfo=UTC)


@pytest.fixture
def world():
    """Team A: a manager and two reps; team B: a manager. Plus RevOps and staff users."""
    team_a, team_b = TeamFactory(name="A"), TeamFactory(name="B")
    revops = UserFactory(username="revops")
    revops.groups.add(Group.objects.get_or_create(name="RevOps")[0])
    return {
        "rep": RepFactory(team=team_a, user__username="rep"),
        "teammate": RepFactory(team=team_a, user__username="teammate"),
        "manager": RepFactory(team=team_a, role="manager", user__username="manager"),
        "other_manager": RepFactory(team=team_b, role="manager", user__username="other_manager"),
        "revops": revops,
        "staff": UserFactory(username="staff", is_staff=True),
    }


# Who may act on the rep "rep" (presence, time off), and what the others get.
MATRIX = [
    ("rep", 200),
    ("manager", 200),
    ("revops", 200),
    ("staff", 200),
    ("teammate", 404),
    ("other_manager", 404),
    ("intake_key", 403),
    ("anonymous", 401),
]


@pytest.mark.parametrize("who, expected", MATRIX)
def test_presence_is_set_by_the_rep_their_manager_or_revops(world, who, expected):
    rep = world["rep"]

    response = client_as(world, who).post(
        f"/api/reps/{rep.pk}/presence/", {"presence": "away"}, format="json"
    )

    assert response.status_code == expected, response.content
    rep.refresh_from_db()
    assert rep.presence == ("away" if expected == 200 else "available")
    if expected == 200:
        assert response.json() == {
            "presence": "away",
            "presence_changed_at": rep.presence_changed_at.isoformat().replace("+00:00", "Z"),
        }


def test_an_unknown_presence_is_a_400_naming_the_field(world):
    response = client_as(world, "rep").post(
        f"/api/reps/{world['rep'].pk}/presence/", {"presence": "busy"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"presence": ['"busy" is not a valid choice.']}


@pytest.mark.parametrize("who, expected", [(w, 201 if e == 200 else e) for w, e in MATRIX])
def test_time_off_is_added_by_the_rep_their_manager_or_revops(world, who, expected):
    rep = world["rep"]
    body = {"start": "2026-12-21T00:00:00Z", "end": "2026-12-28T00:00:00Z", "reason": "Vacation"}

    response = client_as(world, who).post(f"/api/reps/{rep.pk}/time-off/", body, format="json")

    assert response.status_code == expected, response.content
    assert rep.time_off.count() == (1 if expected == 201 else 0)
    if expected == 201:
        period = rep.time_off.get()
        assert response.json() == {
            "id": period.pk,
            "start": "2026-12-21T00:00:00Z",
            "end": "2026-12-28T00:00:00Z",
            "reason": "Vacation",
        }


@pytest.mark.parametrize("who, expected", MATRIX)
def test_time_off_is_listed_to_the_rep_their_manager_or_revops(world, who, expected):
    rep = world["rep"]
    later = TimeOffFactory(rep=rep, start=START + timedelta(days=30))
    first = TimeOffFactory(rep=rep, start=START)
    TimeOffFactory(rep=world["teammate"])

    response = client_as(world, who).get(f"/api/reps/{rep.pk}/time-off/")

    assert response.status_code == expected
    if expected == 200:
        assert [p["id"] for p in response.json()] == [first.pk, later.pk]


@pytest.mark.parametrize("who, expected", [(w, 204 if e == 200 else e) for w, e in MATRIX])
def test_time_off_is_removed_by_the_rep_their_manager_or_revops(world, who, expected):
    period = TimeOffFactory(rep=world["rep"])

    response = client_as(world, who).delete(f"/api/reps/{world['rep'].pk}/time-off/{period.pk}/")

    assert response.status_code == expected
    assert TimeOff.objects.filter(pk=period.pk).exists() == (expected != 204)


def test_another_reps_time_off_cannot_be_removed_through_ones_own_url(world):
    theirs = TimeOffFactory(rep=world["teammate"])

    response = client_as(world, "rep").delete(f"/api/reps/{world['rep'].pk}/time-off/{theirs.pk}/")

    assert response.status_code == 404
    assert TimeOff.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize(
    "body, errors",
    [
        (
            {"start": "2026-12-22T00:00:00Z", "end": "2026-12-30T00:00:00Z"},
            {
                "non_field_errors": [
                    "Overlaps time off from 2026-12-21 00:00 to 2026-12-26 00:00 UTC (Vacation)."
                ]
            },
        ),
        (
            {"start": "2026-12-30T00:00:00Z", "end": "2026-12-29T00:00:00Z"},
            {"end": ["The end must be after the start."]},
        ),
        ({"start": "2026-12-30T00:00:00Z"}, {"end": ["This field is required."]}),
    ],
    ids=["overlap", "backwards", "no end"],
)
def test_bad_time_off_is_a_400_saying_why(world, body, errors):
    TimeOffFactory(rep=world["rep"], start=START)

    response = client_as(world, "rep").post(
        f"/api/reps/{world['rep'].pk}/time-off/", body, format="json"
    )

    assert response.status_code == 400
    assert response.json() == errors
    assert world["rep"].time_off.count() == 1


@pytest.mark.parametrize(
    "who, seen",
    [
        ("revops", {"rep", "teammate", "manager", "other_manager"}),
        ("manager", {"rep", "teammate", "manager"}),
        ("rep", {"rep"}),
    ],
)
def test_rep_list_shows_what_each_role_may_see(world, who, seen):
    response = client_as(world, who).get("/api/reps/")

    assert response.status_code == 200
    assert {r["username"] for r in response.json()["results"]} == seen


def test_rep_detail_carries_schedule_skills_languages_caps_and_coming_time_off(world):
    rep = world["rep"]
    rep.skills.add(SkillFactory(name="fintech"))
    rep.working_hours.create(weekday=0, start=time(9), end=time(17))
    rep.time_off.create(start=START, end=START + timedelta(days=2), reason="Vacation")
    rep.time_off.create(
        start=datetime(2020, 1, 1, tzinfo=UTC), end=datetime(2020, 1, 2, tzinfo=UTC)
    )
    Rep.objects.filter(pk=rep.pk).update(languages=["en"], max_open=25, tier=2)

    data = client_as(world, "rep").get(f"/api/reps/{rep.pk}/").json()

    assert data["skills"] == ["fintech"]
    assert data["working_hours"] == [{"weekday": 0, "start": "09:00:00", "end": "17:00:00"}]
    assert [p["reason"] for p in data["time_off"]] == ["Vacation"]
    assert (data["languages"], data["max_open"], data["tier"]) == (["en"], 25, 2)
    assert (data["presence"], data["ramp_share"]) == ("available", "0.50")


def test_revops_create_a_rep_with_hours_and_skills(world):
    SkillFactory(name="smb")
    user = UserFactory(username="newbie")
    team = Team.objects.get(name="B")
    body = {
        "user": user.pk,
        "team": team.pk,
        "timezone": "Europe/Berlin",
        "skills": ["smb"],
        "languages": ["de", "en"],
        "max_open": 20,
        "ramp_until": "2027-01-01",
        "working_hours": [
            {"weekday": 0, "start": "08:00", "end": "12:00"},
            {"weekday": 0, "start": "13:00", "end": "17:00"},
        ],
    }

    response = client_as(world, "revops").post("/api/reps/", body, format="json")

    assert response.status_code == 201, response.content
    rep = Rep.objects.get(user=user)
    assert response.json()["id"] == rep.pk
    assert response.json()["working_hours"][1] == {
        "weekday": 0,
        "start": "13:00:00",
        "end": "17:00:00",
    }
    assert (rep.team, rep.languages, rep.max_open) == (team, ["de", "en"], 20)
    assert rep.working_hours.count() == 2


@pytest.mark.parametrize(
    "body, field",
    [
        ({"languages": ["en", "zz"]}, "languages"),
        ({"skills": ["quantum"]}, "skills"),
        ({"ramp_share": "1.5"}, "ramp_share"),
        (
            {
                "working_hours": [
                    {"weekday": 1, "start": "09:00", "end": "12:00"},
                    {"weekday": 1, "start": "11:00", "end": "17:00"},
                ]
            },
            "non_field_errors",
        ),
    ],
)
def test_bad_rep_settings_are_a_400_and_change_nothing(world, body, field):
    rep = world["rep"]

    response = client_as(world, "revops").patch(f"/api/reps/{rep.pk}/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    rep.refresh_from_db()
    assert (rep.languages, rep.ramp_share, rep.working_hours.count()) == ([], 0.5, 0)


def test_a_skill_name_the_database_cannot_look_up_is_a_400_not_a_500(world):
    user = UserFactory(username="nul")
    body = {"user": user.pk, "team": Team.objects.get(name="B").pk, "skills": ["sm\x00b"]}

    response = client_as(world, "revops").post("/api/reps/", body, format="json")

    assert response.status_code == 400
    assert "skills" in response.json()
    assert not Rep.objects.filter(user=user).exists()


def test_revops_set_a_managers_own_ceiling_of_escalated_leads(world):
    manager = world["manager"]
    url = f"/api/reps/{manager.pk}/"
    response = client_as(world, "revops").patch(url, {"max_escalated": 3}, format="json")
    assert response.status_code == 200 and response.json()["max_escalated"] == 3
    manager.refresh_from_db()
    assert manager.max_escalated == 3


def test_revops_update_caps_and_presence_stays_read_only(world):
    rep = world["rep"]

    response = client_as(world, "staff").patch(
        f"/api/reps/{rep.pk}/", {"max_per_day": 8, "presence": "offline"}, format="json"
    )

    assert response.status_code == 200
    rep.refresh_from_db()
    assert (rep.max_per_day, rep.presence) == (8, "available")


@pytest.mark.parametrize(
    "who, expected", [("rep", 403), ("manager", 403), ("other_manager", 403), ("intake_key", 403)]
)
def test_only_revops_change_rep_settings(world, who, expected):
    rep = world["rep"]

    response = client_as(world, who).patch(f"/api/reps/{rep.pk}/", {"max_open": 1}, format="json")

    assert response.status_code == expected
    rep.refresh_from_db()
    assert rep.max_open is None


@pytest.mark.parametrize("who, teams", [("revops", ["A", "B"]), ("manager", ["A"]), ("rep", ["A"])])
def test_teams_are_listed_to_their_members_and_all_of_them_to_revops(world, who, teams):
    response = client_as(world, who).get("/api/teams/")

    assert [t["name"] for t in response.json()["results"]] == teams


@pytest.mark.parametrize("who, expected", [("revops", 201), ("manager", 403), ("intake_key", 403)])
def test_only_revops_create_teams(world, who, expected):
    body = {"name": "LATAM", "region": "NA", "timezone": "America/Sao_Paulo"}

    response = client_as(world, who).post("/api/teams/", body, format="json")

    assert response.status_code == expected
    assert Team.objects.filter(name="LATAM").exists() == (expected == 201)


def test_a_team_with_a_bad_time_zone_is_a_400(world):
    team = Team.objects.get(name="A")

    response = client_as(world, "revops").patch(
        f"/api/teams/{team.pk}/", {"timezone": "Mars/Olympus"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["timezone"]


@pytest.mark.parametrize("path", ["/api/teams/", "/api/reps/"])
def test_intake_keys_may_not_read_teams_or_reps(world, path):
    response = client_as(world, "intake_key").get(path)

    assert response.status_code == 403
    assert response.json() == {"detail": "An intake key may only create leads."}


def test_the_schema_documents_the_rep_endpoints(revops_api):
    paths = revops_api.get("/api/schema/?format=json").json()["paths"]

    assert {
        "/api/teams/",
        "/api/reps/",
        "/api/reps/{id}/presence/",
        "/api/reps/{id}/time-off/",
        "/api/reps/{id}/time-off/{time_off_id}/",
    } <= set(paths)
    time_off = paths["/api/reps/{id}/time-off/"]
    assert set(time_off) == {"get", "post"}
    listed = time_off["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["type"] == "array"  # the whole list, not a page
    assert [p["name"] for p in time_off["get"]["parameters"]] == ["id"]


def test_reps_are_filtered_by_presence(world):
    Rep.objects.filter(pk=world["teammate"].pk).update(presence="offline")

    response = client_as(world, "manager").get("/api/reps/", {"presence": "offline"})

    assert [r["username"] for r in response.json()["results"]] == ["teammate"]


@pytest.mark.parametrize("value", ["0900", "9:00", "09:00+01:00", "T09:00", "24:00", "09:00:00.5"])
def test_working_hours_other_than_hh_mm_or_hh_mm_ss_are_a_400(world, value):
    rep = world["rep"]
    hours = [{"weekday": 1, "start": value, "end": "17:00"}]

    response = client_as(world, "revops").patch(
        f"/api/reps/{rep.pk}/", {"working_hours": hours}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["working_hours"]
    assert not rep.working_hours.exists()
