"""Writing: a checked ``Plan`` written through the services in one transaction, the
rules published as a new version."""

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leadhub.leads.models import PipelineSettings, ScoringRule
from reps.models import Holiday, HolidayCalendar, Rep, Skill, Team, TimeOff
from reps.services import rep_create, rep_update, team_create, team_update, time_off_add
from routing.config_services import Member, draft_rules_replace, pool_save, territory_save
from routing.models import Pool, Territory
from routing.playbook.base import (
    IMPORT_NOTE,
    ImportReport,
    PlaybookError,
    Written,
    extra_sections,
)
from routing.playbook.check import Plan, playbook_check
from routing.services import RoutingError, ruleset_publish
from routing.world import routing_changed


def _write_rep(
    item: dict[str, Any], teams: dict, calendars: dict, actor: Any, now: datetime
) -> None:
    users = get_user_model().objects
    user = users.filter(username=item["username"]).first()
    if user is None:
        user = users.create_user(username=item["username"])
    user.first_name, user.last_name = item["first_name"], item["last_name"]
    user.email = item["email"]
    user.save(update_fields=["first_name", "last_name", "email"])
    fields = {
        **item["fields"],
        "team": teams[item["team"]],
        "holiday_calendar": calendars.get(item["holiday_calendar"]),
    }
    rep = Rep.objects.filter(user=user).first()
    if rep is None:
        rep = rep_create(
            user=user, skills=item["skills"], working_hours=item["working_hours"], **fields
        )
    else:
        rep_update(rep=rep, skills=item["skills"], working_hours=item["working_hours"], **fields)
    TimeOff.objects.filter(rep=rep, end__gt=now).delete()
    for start, end, reason in item["time_off"]:
        time_off_add(rep=rep, start=start, end=end, reason=reason, actor=actor)


def _write(plan: Plan, actor: Any, now: datetime) -> int:
    teams = {t.name: t for t in Team.objects.all()}
    for item in plan.teams:
        values = {"region": item.get("region", ""), "timezone": item.get("timezone", "UTC")}
        if item["name"] in teams:
            team_update(team=teams[item["name"]], **values)
        else:
            teams[item["name"]] = team_create(name=item["name"], **values)

    for item in plan.skills:
        Skill.objects.update_or_create(
            name=item["name"], defaults={"description": item.get("description", "")}
        )

    for item in plan.calendars:
        calendar, _ = HolidayCalendar.objects.get_or_create(name=item["name"])
        calendar.holidays.all().delete()
        Holiday.objects.bulk_create(
            Holiday(calendar=calendar, date=h["date"], name=h["name"]) for h in item["holidays"]
        )
    calendars = {c.name: c for c in HolidayCalendar.objects.all()}

    for i, item in enumerate(plan.reps):
        try:
            _write_rep(item, teams, calendars, actor, now)
        except ValidationError as exc:
            raise PlaybookError(
                [f"reps[{i}] {item['username']!r}: {m}" for m in exc.messages]
            ) from None
    reps = {r.user.get_username(): r for r in Rep.objects.select_related("user")}

    pools = {p.name: p for p in Pool.objects.all()}
    for item in plan.pools:
        pools[item["name"]] = pool_save(
            pool=pools.get(item["name"]),
            name=item["name"],
            team=teams.get(item["team"]) if item["team"] else None,
            method=item["method"],
            active=item["active"],
            settings=item["settings"],
            members=[Member(reps[m["rep"]].pk, m["weight"]) for m in item["members"]],
        )

    territories = {t.name: t for t in Territory.objects.all()}
    for item in plan.territories:
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
    for item in plan.territories:
        if item["parent"]:
            territory_save(territory=territories[item["name"]], parent=territories[item["parent"]])

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
            for r in plan.rules
        ],
        actor=actor,
    )

    ScoringRule.objects.all().delete()
    ScoringRule.objects.bulk_create(
        ScoringRule(
            position=i,
            name=s["name"],
            field=s["field"],
            operator=s["operator"],
            value=s.get("value", ""),
            points=s["points"],
            active=s.get("active", True),
        )
        for i, s in enumerate(plan.scoring_rules)
    )
    if plan.pipeline is not None:
        pipeline = PipelineSettings.load()
        for name, value in plan.pipeline.items():
            setattr(pipeline, name, value)
        pipeline.save(update_fields=list(plan.pipeline))

    written = Written(
        actor=actor, now=now, teams=teams, holiday_calendars=calendars, reps=reps, pools=pools
    )
    for section in extra_sections():
        section.write(plan.extra[section.name], written)

    return ruleset_publish(actor=actor, note=IMPORT_NOTE).version


def playbook_import(data: Any, *, dry_run: bool = False, actor: Any = None) -> ImportReport:
    """Check the whole playbook, then write it in one transaction and publish its rules as
    a new version. Nothing is written when there is any error, nor on a dry run."""
    report = ImportReport(dry_run=dry_run)
    plan, report.errors = playbook_check(data)
    if report.errors:
        return report
    report.counts = {
        "teams": len(plan.teams),
        "reps": len(plan.reps),
        "pools": len(plan.pools),
        "territories": len(plan.territories),
        "rules": len(plan.rules),
        **{s.name: s.count(plan.extra[s.name]) for s in extra_sections()},
    }
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
