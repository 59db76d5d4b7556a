"""Writes the planned demo company: what is missing of it, in one transaction."""

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from leadhub import lanes
from leadhub.demo.data import (
    ALLOWED_ORIGIN,
    AT_CAPACITY,
    CALENDAR_OF_TIMEZONE,
    DAYS,
    INTAKE_KEY_NAME,
    ON_VACATION,
    PIPELINE,
    RAMP_DAYS,
    RAMP_SHARE,
    RAMPING,
    REP_PROFILES,
    SCORING_RULES,
    SEED,
    SHIFTS,
    SKILLS,
    STAFF_DOMAIN,
    TEAMS,
    WEB_FORMS,
    holiday_calendars,
)
from leadhub.demo.plan import Plan, plan_company
from leadhub.demo.routing import seed_routing
from leadhub.demo.sla import seed_sla
from leadhub.demo.story import play_month
from leadhub.leads.models import (
    Account,
    EnrichmentRecord,
    IntakeKey,
    Lead,
    LeadEvent,
    PipelineSettings,
    ScoringRule,
    WebForm,
)
from leadhub.leads.services import account_save, lead_assign, lead_capture, lead_capture_partial
from reps.load import rep_loads_recount
from reps.models import Holiday, HolidayCalendar, Rep, Skill, Team
from reps.services import rep_update, time_off_add
from sla.models import SlaClock
from sla.services import outbox_settle_history


@dataclass
class DemoSummary:
    teams: int = 0
    reps: int = 0
    accounts: int = 0
    enrichment_records: int = 0
    scoring_rules: int = 0
    web_forms: int = 0
    intake_keys: int = 0
    created: Counter = field(default_factory=Counter)
    leads_created: bool = False
    leads: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    resubmissions: int = 0
    partial: int = 0
    # What the month's story did (demo/story.py); empty when it had been played before.
    story: Counter = field(default_factory=Counter)
    clocks: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    queued: int = 0
    waiting: int = 0


def seed_demo() -> DemoSummary:
    """Build what is missing of the demo company; see leadhub/demo/__init__.py."""
    now = timezone.now()
    plan = plan_company(random.Random(SEED), now)
    summary = DemoSummary()
    # The story does every task's work itself, at the moment it plays (routing, refunds,
    # the SLA sweeps): nothing is queued for the workers to redo when LeadHub starts.
    with lanes.held(), transaction.atomic():
        reps = _seed_reps(plan, summary)
        _seed_schedules(reps, now, summary)
        _seed_accounts(plan, reps, summary)
        _seed_setup(plan, summary)
        if not Lead.objects.filter(custom__demo=True).exists():
            _seed_leads(plan, summary)
            summary.leads_created = True
        _seed_full_book(reps[AT_CAPACITY], summary)
        summary.created.update(seed_routing())
        # Before the story: its leads get their clocks as they are routed.
        summary.created.update(seed_sla())
        # After the full book: the rep at capacity is at capacity when the router looks.
        summary.story = play_month(now)
        summary.created["leads routed"] += summary.story["routed"] + summary.story["left overdue"]
        # Its emails went out at the time; the ticker's reminders for the overdue leads are
        # the first to go out when LeadHub starts.
        outbox_settle_history(
            lead_ids=list(Lead.objects.filter(custom__demo=True).values_list("pk", flat=True))
        )
    demo_leads = Lead.objects.filter(custom__demo=True)
    summary.leads = demo_leads.count()
    summary.statuses = dict(Counter(demo_leads.values_list("status", flat=True)).most_common())
    summary.resubmissions = LeadEvent.objects.filter(
        lead__in=demo_leads, kind=LeadEvent.Kind.RESUBMITTED
    ).count()
    summary.partial = demo_leads.filter(is_partial=True).count()
    clocks = SlaClock.objects.filter(lead__in=demo_leads)
    summary.clocks = dict(Counter(clocks.values_list("status", flat=True)).most_common())
    summary.overdue = (
        clocks.filter(status=SlaClock.Status.RUNNING, next_at__lte=timezone.now())
        .values("lead")
        .distinct()
        .count()
    )
    summary.queued = demo_leads.filter(status="queued").count()
    summary.waiting = (
        demo_leads.filter(status="assigned", sla_clocks__status=SlaClock.Status.RUNNING)
        .distinct()
        .count()
        - summary.overdue
    )
    return summary


def _seed_reps(plan: Plan, summary: DemoSummary) -> dict[str, Rep]:
    User = get_user_model()
    teams = {}
    for name, region, tz, _people in TEAMS:
        teams[name], created = Team.objects.get_or_create(
            name=name, defaults={"region": region, "timezone": tz}
        )
        summary.created["teams"] += created
    existing = {r.user.username: r for r in Rep.objects.select_related("user")}
    for team, username, first, last, tz, role in plan.reps:
        if username in existing:
            continue
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@{STAFF_DOMAIN}",
            },
        )
        if created:
            # Reps sign in from a later issue on; until then nobody can log in as one.
            user.set_unusable_password()
            user.save(update_fields=["password"])
        existing[username] = Rep.objects.create(user=user, team=teams[team], role=role, timezone=tz)
        summary.created["reps"] += 1
    summary.teams = Team.objects.filter(name__in=teams).count()
    summary.reps = Rep.objects.filter(team__in=teams.values()).count()
    return existing


def _seed_schedules(reps: dict[str, Rep], now: datetime, summary: DemoSummary) -> None:
    """Skills, holiday calendars, and each demo rep's languages, skills, tier, weight, caps
    and working hours. A rep that already has working hours is left as it is (RevOps may
    have changed it). One rep is on vacation now and one is ramping up."""
    for name in SKILLS:
        summary.created["skills"] += Skill.objects.get_or_create(name=name)[1]
    calendars = {}
    # The public holidays of the month played back and of the year ahead (`holidays`).
    years = range((now - timedelta(days=DAYS)).year, now.year + 2)
    for name, days in holiday_calendars(*years).items():
        calendars[name], created = HolidayCalendar.objects.get_or_create(name=name)
        summary.created["holiday calendars"] += created
        known = set(calendars[name].holidays.values_list("date", flat=True))
        new = [
            Holiday(calendar=calendars[name], date=day, name=title)
            for day, title in ((date.fromisoformat(d), t) for d, t in days)
            if day not in known
        ]
        Holiday.objects.bulk_create(new)
        summary.created["holidays"] += len(new)

    for username, profile in REP_PROFILES.items():
        rep = reps[username]
        if rep.working_hours.exists():
            continue
        languages, skills, tier, weight, max_open, max_per_day, shift = profile
        today = now.astimezone(ZoneInfo(rep.timezone)).date()
        ramp = (
            {"ramp_until": today + timedelta(days=RAMP_DAYS), "ramp_share": Decimal(RAMP_SHARE)}
            if username == RAMPING
            else {}
        )
        rep_update(
            rep=rep,
            skills=skills,
            working_hours=[
                (weekday, time.fromisoformat(start), time.fromisoformat(end))
                for weekday in range(5)
                for start, end in SHIFTS[shift]
            ],
            languages=languages,
            tier=tier,
            weight=weight,
            max_open=max_open,
            max_per_day=max_per_day,
            max_per_week=max_per_day * 4,
            holiday_calendar=calendars[CALENDAR_OF_TIMEZONE[rep.timezone]],
            **ramp,
        )
        summary.created["rep schedules"] += 1

    away = reps[ON_VACATION]
    if not away.time_off.filter(end__gt=now).exists():
        zone = ZoneInfo(away.timezone)
        today = now.astimezone(zone).date()
        time_off_add(
            rep=away,
            start=datetime.combine(today - timedelta(days=2), time(0), tzinfo=zone),
            end=datetime.combine(today + timedelta(days=5), time(0), tzinfo=zone),
            reason="Vacation",
            actor=None,
        )
        summary.created["time off"] += 1


def _seed_full_book(rep: Rep, summary: DemoSummary) -> None:
    """Give the at-capacity rep as many open demo leads as their max_open, assigned by hand
    (no routing decision: the event says so), dated a few minutes after each lead arrived.
    Done once: a rep who owns leads already is left alone."""
    if rep.leads.exists() or not rep.max_open:
        return
    leads = list(
        Lead.objects.select_for_update()
        .filter(custom__demo=True, status="new", is_partial=False, country="US", owner=None)
        .order_by("captured_at", "pk")[: rep.max_open]
    )
    for lead in leads:
        lead_assign(lead=lead, rep_id=rep.pk, data={"reason": "demo: assigned by hand"})
        assigned = lead.captured_at + timedelta(minutes=7)
        Lead.objects.filter(pk=lead.pk).update(assigned_at=assigned, updated_at=assigned)
        lead.events.filter(kind=LeadEvent.Kind.ASSIGNED).update(at=assigned)
    rep_loads_recount(rep_ids=[rep.pk])  # backdated around the services
    summary.created["leads assigned by hand"] += len(leads)


def _seed_accounts(plan: Plan, reps: dict[str, Rep], summary: DemoSummary) -> None:
    names = [company.name for company, _d, _o in plan.accounts]
    existing = set(Account.objects.filter(name__in=names).values_list("name", flat=True))
    for company, domains, owner in plan.accounts:
        if company.name in existing:
            continue
        employees = company.employees or 0
        segment = (
            Account.Segment.STRATEGIC
            if employees >= 10_000
            else Account.Segment.ENTERPRISE
            if employees >= 1_000
            else Account.Segment.MID_MARKET
            if employees >= 200
            else Account.Segment.SMB
        )
        account = Account(
            name=company.name,
            owner=reps.get(owner) if owner else None,
            segment=segment,
            industry=company.industry,
            employees=company.employees,
        )
        account_save(account=account, domains=domains)
        summary.created["accounts"] += 1
    summary.accounts = Account.objects.filter(name__in=names).count()


def _seed_setup(plan: Plan, summary: DemoSummary) -> None:
    domains = [row["domain"] for row in plan.enrichment]
    known = set(
        EnrichmentRecord.objects.filter(domain__in=domains).values_list("domain", flat=True)
    )
    EnrichmentRecord.objects.bulk_create(
        [EnrichmentRecord(**row) for row in plan.enrichment if row["domain"] not in known]
    )
    summary.created["enrichment records"] += len(domains) - len(known)
    summary.enrichment_records = EnrichmentRecord.objects.filter(domain__in=domains).count()

    for position, (name, fld, operator, value, points) in enumerate(SCORING_RULES, start=1):
        if ScoringRule.objects.filter(name=name).exists():
            continue
        rule = ScoringRule(
            name=name,
            field=fld,
            operator=operator,
            value=value,
            points=points,
            position=position * 10,
        )
        rule.full_clean()
        rule.save()
        summary.created["scoring rules"] += 1
    summary.scoring_rules = ScoringRule.objects.filter(
        name__in=[r[0] for r in SCORING_RULES]
    ).count()

    _conf, created = PipelineSettings.objects.get_or_create(pk=1, defaults=PIPELINE)
    summary.created["pipeline settings"] += created

    for spec in WEB_FORMS:
        if WebForm.objects.filter(slug=spec["slug"]).exists():
            continue
        form = WebForm(**spec, allowed_origins=ALLOWED_ORIGIN)
        form.full_clean()
        form.save()
        summary.created["web forms"] += 1
    summary.web_forms = WebForm.objects.filter(slug__in=[f["slug"] for f in WEB_FORMS]).count()

    if not IntakeKey.objects.filter(name=INTAKE_KEY_NAME).exists():
        key = IntakeKey(name=INTAKE_KEY_NAME, source="website")
        key.set_new_key()  # nobody needs the raw key of the demo; rotate it in the admin
        key.save()
        summary.created["intake key"] += 1
    summary.intake_keys = IntakeKey.objects.filter(name=INTAKE_KEY_NAME).count()


def _seed_leads(plan: Plan, summary: DemoSummary) -> None:
    forms = {f.slug: f for f in WebForm.objects.filter(slug__in=[s["slug"] for s in WEB_FORMS])}
    times: dict[int, list[datetime]] = defaultdict(list)
    for sub in plan.submissions:
        custom = {**sub.data.get("custom", {}), "demo": True}
        if sub.overdue:
            custom["demo_overdue"] = True  # see demo/story.py
        data = {**sub.data, "custom": custom}
        form = forms.get(sub.form)
        if sub.kind == "partial":
            lead, _errors = lead_capture_partial(form=form, form_session=sub.session, data=data)
        else:
            lead = lead_capture(
                data=data,
                channel=sub.channel,
                form=form,
                form_session=sub.session,
                default_source=form.source if form else "",
            ).lead
        if lead is not None:
            times[lead.pk].append(sub.at)
    _backdate(times)
    summary.created["leads"] += len(times)


def _backdate(times: dict[int, list[datetime]]) -> None:
    """Date each lead and each of its events by the submissions that made them: every
    capture call wrote one event on the lead it returned, in call order. bulk_update, not
    save(): the rows stay as the pipeline wrote them but for these timestamps."""
    events = defaultdict(list)
    for event_id, lead_id in (
        LeadEvent.objects.filter(lead_id__in=times)
        .order_by("lead_id", "id")
        .values_list("id", "lead_id")
    ):
        events[lead_id].append(event_id)
    dated_events = []
    for lead_id, ids in events.items():
        stamps = times[lead_id]
        for n, event_id in enumerate(ids):
            dated_events.append(LeadEvent(id=event_id, at=stamps[min(n, len(stamps) - 1)]))
    LeadEvent.objects.bulk_update(dated_events, ["at"], batch_size=250)
    Lead.objects.bulk_update(
        [Lead(id=pk, captured_at=stamps[0], updated_at=stamps[-1]) for pk, stamps in times.items()],
        ["captured_at", "updated_at"],
        batch_size=250,
    )
