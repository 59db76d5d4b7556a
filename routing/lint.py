"""Rule lint: what is wrong with a rule set and the set-up it routes over, before it ships.

``ruleset_lint(ruleset)`` returns a ``LintReport``: findings (``routing.engine.lint.Finding``,
each an error or a warning about one rule, pool, territory or policy, in a sentence RevOps
understands) and the triage share of a sample of recent leads. Two parts:

- **the rule set's own findings** (``rules_lint``): rules no lead reaches, rules naming a
  switched-off rep or pool, pools with nobody who can take their leads (no members, no
  active member, skills, a language or a tier none of them has), and the sample: the last
  ``SAMPLE_DAYS`` days' stored leads (newest first, at most ``SAMPLE_SIZE``) decided by the
  pure engine with this rule set, writing nothing. Its errors hold up publishing
  (``ruleset_lint_errors``: the admin asks for a "publish anyway", the API for ``force``);
- **the set-up's findings** (``setup_lint``): pools' hours no member works, overlapping
  territories, countries of recent leads no territory covers, and the checks upper apps
  register (``register_lint_check``; sla's policies and calendars, from ``SlaConfig.ready``:
  routing may not import sla).

The proofs are pure (``routing.engine.lint``); this module loads what they read.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from leadhub.leads.models import Lead
from reps.availability import Presence
from reps.models import Rep
from routing import engine
from routing.engine.conditions import Node, parse_condition
from routing.engine.lint import (
    ERROR,
    WARNING,
    Finding,
    range_text,
    territory_overlaps,
    uncovered_countries,
    uncovered_hours,
    unreachable_rules,
    values_required,
    week_of,
)
from routing.models import Pool, RuleSet, Territory
from routing.selectors import engine_ruleset, lead_snapshot, routing_world, ruleset_in_force
from routing.world import forget

__all__ = [
    "ERROR",
    "WARNING",
    "Finding",
    "LintContext",
    "LintReport",
    "playbook_lint",
    "register_lint_check",
    "rules_lint",
    "ruleset_lint",
    "ruleset_lint_errors",
    "setup_lint",
]

SAMPLE_DAYS = 30
SAMPLE_SIZE = 2_000
MAX_SAMPLE = 100_000
COUNTRY_DAYS = 90


@dataclass(frozen=True)
class LintContext:
    """What a registered check may read: the instant and routing's world at it."""

    now: datetime
    world: engine.World


LintCheck = Callable[[LintContext], Iterable[Finding]]
_CHECKS: dict[str, LintCheck] = {}


def register_lint_check(name: str, check: LintCheck) -> None:
    """Add an upper app's check to every lint (from its ``AppConfig.ready()``); registering
    the same name again replaces it."""
    _CHECKS[name] = check


@dataclass
class LintReport:
    """The findings about one rule set (and the set-up), and its sample's triage share."""

    label: str
    findings: list[Finding] = field(default_factory=list)
    sample_size: int = 0
    sample_triage: int = 0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    def heading(self) -> str:
        def count(n: int, word: str) -> str:
            return f"{n} {word}{'' if n == 1 else 's'}"

        text = f"{self.label}: {count(len(self.errors), 'error')}, "
        text += count(len(self.warnings), "warning")
        if self.sample_size:
            share = self.sample_triage / self.sample_size
            text += (
                f"; of the {count(self.sample_size, 'lead')} of the last {SAMPLE_DAYS} days, "
                f"{self.sample_triage} ({share:.1%}) would end in triage"
            )
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        return {
            "ruleset": self.label,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "sample": {"leads": self.sample_size, "triage": self.sample_triage},
            "findings": [f.to_dict() for f in self.findings],
        }


def _rule_subject(rule: engine.Rule) -> str:
    return f"rule '{rule.name}' (#{rule.position})"


def _names(rules: list[engine.Rule]) -> str:
    names = [f"'{r.name}' (#{r.position})" for r in rules]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# --- The rule set's own findings ---------------------------------------------------------------


@dataclass
class _Rules:
    """A rule set's rules with their parsed conditions (those that parse)."""

    rules: list[engine.Rule]
    conditions: dict[int, Node]
    compiled: engine.CompiledRuleSet | None
    findings: list[Finding]


def _parse(ruleset: engine.RuleSet) -> _Rules:
    findings = []
    conditions = {}
    for rule in ruleset.rules:
        try:
            conditions[rule.id] = parse_condition(rule.condition, "condition")
        except engine.RuleError as exc:
            findings.append(
                Finding(
                    ERROR,
                    "rule_invalid",
                    "rule",
                    rule.id,
                    _rule_subject(rule),
                    f"Its condition cannot be read ({exc}); the rule set cannot be published.",
                )
            )
    try:
        compiled = engine.compile_ruleset(ruleset)
    except engine.RuleError:
        compiled = None
    order = sorted(ruleset.rules, key=lambda r: (r.position, r.id))
    return _Rules(order, conditions, compiled, findings)


def _reachability(parsed: _Rules) -> list[Finding]:
    enabled = [r for r in parsed.rules if r.enabled and r.id in parsed.conditions]
    by_id = {r.id: r for r in enabled}
    findings = []
    for found in unreachable_rules([(r.id, parsed.conditions[r.id]) for r in enabled]):
        rule = by_id[found.rule_id]
        text = parsed.conditions[rule.id].describe()
        if not found.by:
            message = f"No lead can match its condition ({text}): it never routes a lead."
        elif len(found.by) == 1:
            other = by_id[found.by[0]]
            message = (
                f"Rule {_names([other])} comes first and matches every lead this one matches "
                f"({parsed.conditions[other.id].describe()}): no lead reaches this rule."
            )
        else:
            message = (
                f"Rules {_names([by_id[i] for i in found.by])} come first and together match "
                f"every lead this one matches ({text}): no lead reaches this rule."
            )
        findings.append(
            Finding(ERROR, "rule_unreachable", "rule", rule.id, _rule_subject(rule), message)
        )
    return findings


@dataclass(frozen=True)
class _PoolFacts:
    pool: Pool
    members: list[Any]  # the active members' RepSnapshots
    listed: int  # members listed (or the team's active reps when none are listed)


def _pool_facts(pools: dict[int, Pool], world: engine.World) -> dict[int, _PoolFacts]:
    facts = {}
    team_reps: dict[int, list[int]] = {}
    for rep in world.reps.values():
        if rep.active:
            team_reps.setdefault(rep.team_id, []).append(rep.id)
    for pool in pools.values():
        listed = [m.rep_id for m in pool.members.all()]
        ids = listed or team_reps.get(pool.team_id, [])
        members = [world.reps[i] for i in ids if i in world.reps and world.reps[i].active]
        facts[pool.pk] = _PoolFacts(pool, members, len(ids))
    return facts


def _pool_problems(facts: _PoolFacts, condition: Node | None) -> list[str]:
    """Why no member of the pool can take (some of) a rule's leads, in sentences."""
    pool = facts.pool
    if not pool.active:
        return [f"pool '{pool.name}' is switched off, so every lead falls through"]
    if facts.listed == 0:
        return [f"pool '{pool.name}' has no members, so every lead falls through"]
    if not facts.members:
        return [f"pool '{pool.name}' has no active member, so every lead falls through"]
    problems = []
    settings = pool.settings if isinstance(pool.settings, dict) else {}
    required = {str(s) for s in settings.get("required_skills") or ()}
    if required and not any(required <= rep.skills for rep in facts.members):
        problems.append(
            f"pool '{pool.name}' needs the skills {', '.join(sorted(required))}, and no active "
            "member has them all, so every lead falls through"
        )
    if settings.get("language_required") and condition is not None:
        languages = values_required(condition, "language") or frozenset()
        spoken = {lang.lower() for rep in facts.members for lang in rep.languages}
        missing = sorted(languages - spoken)
        if missing:
            problems.append(
                f"its leads speak {', '.join(missing)}, which no active member of pool "
                f"'{pool.name}' speaks (the pool requires the lead's language)"
            )
    if pool.method == Pool.Method.SCORE_TIERS:
        top = max(rep.tier for rep in facts.members)
        for min_score, tier in sorted(settings.get("tiers") or ()):
            if tier > top:
                problems.append(
                    f"pool '{pool.name}' gives leads scoring {min_score} or more to tier {tier} "
                    f"and up, above every active member (highest tier {top})"
                )
    return problems


def _references(
    parsed: _Rules, world: engine.World, pools: dict[int, Pool], reps: dict[int, Rep]
) -> list[Finding]:
    facts = _pool_facts(pools, world)
    territory_pools = {t.pool_id for t in world.territories if t.pool_id is not None}
    findings = []

    def error(rule: engine.Rule, code: str, message: str) -> None:
        findings.append(Finding(ERROR, code, "rule", rule.id, _rule_subject(rule), message))

    for rule in parsed.rules:
        if not rule.enabled:
            continue
        condition = parsed.conditions.get(rule.id)
        kind, target = rule.action.kind, rule.action.target_id
        if kind == engine.ActionKind.REP:
            rep = reps.get(target)
            if rep is not None and not rep.active:
                error(
                    rule,
                    "rep_inactive",
                    f"It sends leads to {rep.display_name}, who is switched off: every lead "
                    f"it matches goes to its fallback ({rule.fallback.kind}).",
                )
        action_pools = []
        if kind == engine.ActionKind.POOL and target in facts:
            action_pools = [target]
        elif kind == engine.ActionKind.TERRITORY_POOL:
            action_pools = sorted(p for p in territory_pools if p in facts)
        for pool_id in action_pools:
            for problem in _pool_problems(facts[pool_id], condition):
                error(rule, "pool_unusable", f"It sends leads to a pool where {problem}.")
        if rule.fallback.kind == engine.FallbackKind.POOL and rule.fallback.target_id in facts:
            if kind == engine.ActionKind.POOL and rule.fallback.target_id == target:
                findings.append(
                    Finding(
                        WARNING,
                        "fallback_same_pool",
                        "rule",
                        rule.id,
                        _rule_subject(rule),
                        "Its fallback is the pool it already tried: a lead that finds "
                        "nobody goes to triage.",
                    )
                )
            for problem in _pool_problems(facts[rule.fallback.target_id], condition):
                error(rule, "fallback_unusable", f"Its fallback is a pool where {problem}.")
        if rule.fallback.kind == engine.FallbackKind.MANAGER and kind == engine.ActionKind.POOL:
            pool = pools.get(target)
            if pool is not None and pool.team_id not in world.managers:
                team = pool.team.name if pool.team_id else None
                where = f"team '{team}' has no active manager" if team else "it has no team"
                findings.append(
                    Finding(
                        WARNING,
                        "fallback_no_manager",
                        "rule",
                        rule.id,
                        _rule_subject(rule),
                        f"It falls back to the team manager of pool '{pool.name}', but {where}: "
                        "such leads go to triage.",
                    )
                )
    return findings


def _triage_reason(decision: engine.Decision) -> str:
    if decision.rule_id is None:
        return "no rule matches"
    if decision.action == engine.ActionKind.TRIAGE:
        return f"rule '{decision.rule_name}' sends it to triage"
    return f"rule '{decision.rule_name}' finds nobody: {decision.fallback_reason}"


Sample = list[tuple[dict[str, Any], datetime]]


def sample_leads(*, now: datetime, size: int = SAMPLE_SIZE) -> Sample:
    """The newest stored leads of the last ``SAMPLE_DAYS`` days (``size`` at most): each
    lead's snapshot and capture instant."""
    if size <= 0:
        return []
    leads = (
        Lead.objects.filter(captured_at__gte=now - timedelta(days=SAMPLE_DAYS))
        .select_related("account")
        .order_by("-captured_at", "-pk")[:size]
    )
    return [(lead_snapshot(lead), lead.captured_at) for lead in leads]


def _triage_share(
    compiled: engine.CompiledRuleSet, world: engine.World, leads: Sample
) -> Counter[str]:
    """Decide each lead of the sample with ``compiled``, at its capture instant, with
    today's reps (presence taken as available: it is not kept over time); count those
    ending in triage, by reason. Writes nothing."""
    world = replace(
        world,
        reps={
            i: replace(r, presence=Presence.AVAILABLE) if r.presence != Presence.AVAILABLE else r
            for i, r in world.reps.items()
        },
    )
    reasons: Counter[str] = Counter()
    for snapshot, captured_at in leads:
        decision = engine.decide(snapshot, compiled, world, captured_at)
        if decision.outcome == engine.TRIAGE:
            reasons[_triage_reason(decision)] += 1
    return reasons


def rules_lint(ruleset: RuleSet, *, world: engine.World, leads: Sample) -> LintReport:
    """The findings about ``ruleset`` itself, and the triage share of the ``leads`` sample
    (``sample_leads``) with it."""
    plain = engine_ruleset(ruleset)
    parsed = _parse(plain)
    pool_ids = {r.action.target_id for r in plain.rules if r.action.kind == engine.ActionKind.POOL}
    pool_ids |= {r.fallback.target_id for r in plain.rules if r.fallback.target_id is not None}
    pool_ids |= {t.pool_id for t in world.territories if t.pool_id is not None}
    pools = {
        p.pk: p
        for p in Pool.objects.filter(pk__in=pool_ids)
        .select_related("team")
        .prefetch_related("members")
    }
    rep_ids = {r.action.target_id for r in plain.rules if r.action.kind == engine.ActionKind.REP}
    reps = {r.pk: r for r in Rep.objects.filter(pk__in=rep_ids).select_related("user")}
    report = LintReport(label=str(ruleset))
    report.findings = [
        *parsed.findings,
        *_reachability(parsed),
        *_references(parsed, world, pools, reps),
    ]
    if leads and parsed.compiled is not None:
        reasons = _triage_share(parsed.compiled, world, leads)
        total = len(leads)
        report.sample_size, report.sample_triage = total, sum(reasons.values())
        for reason, n in reasons.most_common():
            report.findings.append(
                Finding(
                    WARNING,
                    "sample_triage",
                    "ruleset",
                    ruleset.pk,
                    f"sample of {total} leads (last {SAMPLE_DAYS} days)",
                    f"{n} ({n / total:.1%}) would end in triage: {reason}.",
                )
            )
    return report


# --- The set-up's findings ---------------------------------------------------------------------


def _pool_findings(world: engine.World, now: datetime) -> list[Finding]:
    pools = {
        p.pk: p
        for p in Pool.objects.filter(active=True).select_related("team").prefetch_related("members")
    }
    findings = []
    week = week_of(now)
    for facts in _pool_facts(pools, world).values():
        pool = facts.pool
        subject = f"pool '{pool.name}'"

        def warn(code: str, message: str, pool: Pool = pool, subject: str = subject) -> None:
            findings.append(Finding(WARNING, code, "pool", pool.pk, subject, message))

        if facts.listed == 0:
            warn("pool_empty", "It has no members (and no team with active reps).")
            continue
        if not facts.members:
            warn("pool_no_active_member", "None of its members is active.")
            continue
        settings = pool.settings if isinstance(pool.settings, dict) else {}
        if pool.method == Pool.Method.CLAIM_QUEUE or settings.get("check_hours") is False:
            continue
        gaps = uncovered_hours(((r.timezone, r.working_hours) for r in facts.members), week)
        if not gaps:
            continue
        zones = sorted({r.timezone for r in facts.members} - {"UTC"})
        ranges = []
        for start, end in gaps:
            local = "; ".join(f"{range_text(start, end, z)} {z}" for z in zones)
            ranges.append(f"{range_text(start, end)} UTC" + (f" ({local})" if local else ""))
        warn(
            "pool_hours_uncovered",
            "No member works these hours this week, so its leads then fall through: "
            + ", ".join(ranges)
            + ".",
        )
    return findings


def _territory_findings(world: engine.World, now: datetime) -> list[Finding]:
    territories = world.territories
    if not territories:
        return []
    names = {t.id: t.name for t in territories}
    findings = [
        Finding(
            WARNING,
            "territory_overlap",
            "territory",
            b,
            f"territory '{names[b]}'",
            f"It overlaps territory '{names[a]}' at the same level ({where}): a lead in "
            f"both goes to '{names[a]}' only because it was created first.",
        )
        for a, b, where in territory_overlaps(territories)
    ]
    rows = (
        Lead.objects.filter(captured_at__gte=now - timedelta(days=COUNTRY_DAYS))
        .exclude(country="")
        .values("country")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {row["country"].upper(): row["n"] for row in rows}
    for country in uncovered_countries(territories, counts):
        n = counts[country]
        findings.append(
            Finding(
                WARNING,
                "country_uncovered",
                "territory",
                None,
                f"country {country}",
                f"No territory covers it, and {n} lead{'s' if n != 1 else ''} of the last "
                f"{COUNTRY_DAYS} days came from it: a territory rule finds no pool for them.",
            )
        )
    inactive = dict(
        Territory.objects.filter(active=True, pool__active=False).values_list("pk", "pool__name")
    )
    for territory_id, pool_name in inactive.items():
        findings.append(
            Finding(
                WARNING,
                "territory_pool_inactive",
                "territory",
                territory_id,
                f"territory '{names.get(territory_id, territory_id)}'",
                f"Its pool '{pool_name}' is switched off: its leads find no pool.",
            )
        )
    return findings


def setup_lint(*, world: engine.World, now: datetime) -> list[Finding]:
    """The findings about the set-up every rule set routes over, and the registered checks'."""
    findings = [*_pool_findings(world, now), *_territory_findings(world, now)]
    context = LintContext(now=now, world=world)
    for check in _CHECKS.values():
        findings.extend(check(context))
    return findings


def ruleset_lint(
    ruleset: RuleSet, *, now: datetime | None = None, sample: int = SAMPLE_SIZE
) -> LintReport:
    """Every finding about ``ruleset`` and the set-up, with its sample."""
    now = now or timezone.now()
    world = routing_world(now=now)
    report = rules_lint(ruleset, world=world, leads=sample_leads(now=now, size=sample))
    report.findings = [*report.errors, *setup_lint(world=world, now=now), *report.warnings]
    report.findings.sort(key=lambda f: f.severity != ERROR)
    return report


def database_lint(
    *, now: datetime | None = None, sample: int = SAMPLE_SIZE
) -> tuple[list[Finding], list[LintReport]]:
    """The set-up's findings, and a report on each of the draft and the version in force
    (those that exist), with one world loaded for all."""
    now = now or timezone.now()
    world = routing_world(now=now)
    rulesets = [RuleSet.objects.filter(is_draft=True).first(), ruleset_in_force()]
    leads = sample_leads(now=now, size=sample) if any(rulesets) else []
    reports = []
    for ruleset in rulesets:
        if ruleset is not None:
            report = rules_lint(ruleset, world=world, leads=leads)
            if ruleset.is_draft:
                based = f"version {ruleset.based_on}" if ruleset.based_on else "no version"
                report.label = f"The draft (based on {based})"
            else:
                report.label = f"{ruleset} (in force)"
            reports.append(report)
    return setup_lint(world=world, now=now), reports


def ruleset_lint_errors(ruleset: RuleSet, *, now: datetime | None = None) -> list[Finding]:
    """The errors about ``ruleset`` itself (not the set-up's): what holds up publishing. A
    rule that cannot be compiled is left out: publishing refuses it anyway, naming the node
    (``ruleset_publish``), and no "publish anyway" could get past that."""
    now = now or timezone.now()
    report = rules_lint(ruleset, world=routing_world(now=now), leads=[])
    return [f for f in report.errors if f.code != "rule_invalid"]


def playbook_lint(
    data: Any, *, now: datetime | None = None, sample: int = SAMPLE_SIZE
) -> LintReport:
    """Lint the set-up a playbook file describes: imported, linted (its rules as the version
    in force) and rolled back, so nothing is written. A file that does not import raises
    ``PlaybookError`` with the import's errors."""
    from routing.playbook import PlaybookError, playbook_import

    try:
        with transaction.atomic():
            imported = playbook_import(data)
            if not imported.ok:
                raise PlaybookError(imported.errors)
            report = ruleset_lint(ruleset_in_force(), now=now, sample=sample)
            report.label = "The file's rules"
            transaction.set_rollback(True)
    finally:
        # The import moved the routing token and this process's copies with it.
        forget()
    return report
