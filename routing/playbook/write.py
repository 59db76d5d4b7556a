"""Writing: a checked plan written through the services in one transaction, a function
per routing's section (``Section.write``), the rules published as a new version."""

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leadhub.db import rows_replace
from leadhub.leads.models import PipelineSettings, ScoringRule
from reps.models import Holiday, HolidayCalendar, Rep, Skill, Team, TimeOff
from reps.services import rep_create, rep_update, team_create, team_update, time_off_add
from routing.config_services import Member, draft_rules_replace, pool_save, territory_save
from routing.models import Pool, Territory
from routing.playbook.base import IMPORT_NOTE, ImportReport, PlaybookError, Written, sections
from routing.playbook.check import Plan, playbook_check
from routing.services import RoutingError, ruleset_publish
from routing.world import routing_changed


def write_teams(plan: list[dict], written: Written) -> None:
    written.teams = {t.name: t for t in Team.objects.all()}
    for item in plan:
        values = {"region": item.get("region", ""), "timezone": item.get("timezone", "UTC")}
        if item["name"] in written.teams:
            team_update(team=written.teams[item["name"]], **values)
        else:
            written.teams[item["name"]] = team_create(name=item["name"], **values)


def write_skills(plan: list[dict], written: Written) -> None:
    for item in plan:
        Skill.objects.update_or_create(
            name=item["name"], defaults={"description": item.get("description", "")}
        )


def write_holiday_calendars(plan: list[dict], written: Written) -> None:
    for item in plan:
        calendar, _ = HolidayCalendar.objects.get_or_create(name=item["name"])
        rows_replace(
            calendar.holidays.all(),
            (Holiday(calendar=calendar, date=h["date"], name=h["name"]) for h in item["holidays"]),
            key=lambda row: row.date,
            fields=["name"],
        )
    written.holiday_calendars = {c.name: c for c in HolidayCalendar.objects.all()}


def write_reps(plan: list[dict], written: Written) -> None:
    for i, item in enumerate(plan):
        try:
            _write_rep(item, written)
        except ValidationError as exc:
            raise PlaybookError(
                [f"reps[{i}] {item['username']!r}: {m}" for m in exc.messages]
            ) from None
    written.reps = {r.user.get_username(): r for r in Rep.objects.select_related("user")}


def _write_rep(item: dict[str, Any], written: Written) -> None:
    users = get_user_model().objects
    user = users.filter(username=item["username"]).first()
    if user is None:
        user = users.create_user(username=item["username"])
    user.first_name, user.last_name = item["first_name"], item["last_name"]
    user.email = item["email"]
    user.save(update_fields=["first_name", "last_name", "email"])
    fields = {
        **item["fields"],
        "team": written.teams[item["team"]],
        "holiday_calendar": written.holiday_calendars.get(item["holiday_calendar"]),
    }
    rep = Rep.objects.filter(user=user).first()
    if rep is None:
        rep = rep_create(
            user=user, skills=item["skills"], working_hours=item["working_hours"], **fields
        )
    else:
        rep_update(rep=rep, skills=item["skills"], working_hours=item["working_hours"], **fields)
    _write_time_off(rep, item["time_off"], written.actor, written.now)


def _write_time_off(rep: Rep, time_off: list[tuple], actor: Any, now: datetime) -> None:
    # Row by row, so that importing the same file again changes (and records) nothing.
    wanted = {(start, end): reason for start, end, reason in time_off}
    for row in TimeOff.objects.filter(rep=rep, end__gt=now):
        reason = wanted.pop((row.start, row.end), None)
        if reason is None:
            row.delete()
        elif reason != row.reason:
            row.reason = reason
            row.save(update_fields=["reason"])
    for (start, end), reason in wanted.items():
        time_off_add(rep=rep, start=start, end=end, reason=reason, actor=actor)


def write_pools(plan: list[dict], written: Written) -> None:
    written.pools = {p.name: p for p in Pool.objects.all()}
    for item in plan:
        written.pools[item["name"]] = pool_save(
            pool=written.pools.get(item["name"]),
            name=item["name"],
            team=written.teams.get(item["team"]) if item["team"] else None,
            method=item["method"],
            active=item["active"],
            settings=item["settings"],
            members=[Member(written.reps[m["rep"]].pk, m["weight"]) for m in item["members"]],
        )


def write_territories(plan: list[dict], written: Written) -> None:
    pools = written.pools
    territories = {t.name: t for t in Territory.objects.all()}
    for item in plan:
        territories[item["name"]] = territory_save(
            territory=territories.get(item["name"]),
            name=item["name"],
            parent=None,
            pool=pools[item["pool"]] if item["pool"] else None,
            active=item["active"],
            countries=item["countries"],
            states=item["states"],
            postal_prefixes=item["postal_prefixes"],
            postal_ranges=item["postal_ranges"],
        )
    # Parents once every territory exists, as a parent may come later in the file.
    for item in plan:
        if item["parent"]:
            territory_save(territory=territories[item["name"]], parent=territories[item["parent"]])


def write_rules(plan: list[dict], written: Written) -> None:
    """The rules into the draft; ``playbook_import`` publishes it once every section is
    written."""
    pools, reps = written.pools, written.reps
    draft_rules_replace(
        rules=[
            {
                "name": r["name"],
                "enabled": r["enabled"],
                "condition": r["condition"],
                "action": r["action"],
                "action_pool": pools[r["pool"]] if r["pool"] else None,
                "action_rep": reps[r["rep"]] if r["rep"] else None,
                "fallback": r["fallback"],
                "fallback_pool": pools[r["fallback_pool"]] if r["fallback_pool"] else None,
            }
            for r in plan
        ],
        actor=written.actor,
    )


def write_scoring_rules(plan: list[dict], written: Written) -> None:
    rows_replace(
        ScoringRule.objects.all(),
        (
            ScoringRule(
                position=i,
                name=s["name"],
                field=s["field"],
                operator=s["operator"],
                value=s.get("value", ""),
                points=s["points"],
                active=s.get("active", True),
            )
            for i, s in enumerate(plan)
        ),
        key=lambda row: row.position,
        fields=["name", "field", "operator", "value", "points", "active"],
    )


def write_pipeline(plan: dict | None, written: Written) -> None:
    if plan is None:
        return
    pipeline = PipelineSettings.load()
    for name, value in plan.items():
        setattr(pipeline, name, value)
    pipeline.save(update_fields=list(plan))


def _write(plan: Plan, actor: Any, now: datetime) -> int:
    written = Written(actor=actor, now=now)
    for section in sections():
        section.write(plan[section.name], written)
    return ruleset_publish(actor=actor, note=IMPORT_NOTE).version


def playbook_import(data: Any, *, dry_run: bool = False, actor: Any = None) -> ImportReport:
    """Check the whole playbook, then write it in one transaction and publish its rules as
    a new version. Nothing is written when there is any error, nor on a dry run."""
    report = ImportReport(dry_run=dry_run)
    plan, report.errors = playbook_check(data)
    if report.errors:
        return report
    report.counts = {s.name: s.count(plan[s.name]) for s in sections() if s.count is not None}
    try:
        with transaction.atomic():
            report.version = _write(plan, actor, timezone.now())
            # The bulk writes above send no model signals, and the registered sections'
            # rows (SLA policies, calendars) are cached per process under the same token.
            routing_changed()
            if dry_run:
                transaction.set_rollback(True)
    except ValidationError as exc:
        report.errors = [f"While writing: {m}" for m in exc.messages]
    except PlaybookError as exc:
        report.errors = exc.errors
    except RoutingError as exc:
        report.errors = [str(exc)]
    return report
