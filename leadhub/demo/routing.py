"""The demo's routing playbook, and the routing of the demo leads that are still new.

The playbook is what a RevOps team would set up in the admin, written through the same
models and services (``ruleset_draft``, rule rows, ``ruleset_publish``):

1. partial or missing email → triage (nobody can follow up yet);
2. account matched → the account owner, one rule per region (fallback: the region's round
   robin, which respects caps; a manager escalation would not);
3. a partner referral → the "Partner leads" claim queue, which every rep may claim from
   (unclaimed for two hours: the North America manager is told, then triage);
4. a free-mail address → triage (a person, not yet a company: someone qualifies it first);
5. 1,000 employees or more → the Enterprise pool, load-balanced by open ÷ max_open over
   the tier-3 reps of every team (fallback: the North America manager);
6. German or French → the language pool, skills match with the language required
   (fallback: EMEA round robin);
7. score band "nurture" → nurture;
8. everyone else → their territory's pool, round robin per region team (fallback: triage).

Territories: North America (US, CA; US West and US East by state), EMEA (DACH inside it),
APAC. The demo pools assign around the clock (``check_hours`` off): the demo is seeded at any
hour, and routing it at a weekend with working hours checked would send every lead to the
fallbacks. Time off, presence and caps still hold, so the rep on vacation gets nothing and
the rep at capacity is skipped.

Created once: nothing is written when a rule set has been published (RevOps' own edits
survive ``make run``). The leads themselves are routed by the story (demo/story.py), each
at its time in the month.
"""

from collections.abc import Iterable
from typing import Any

from leadhub.demo.data import FREE_MAIL, FREE_MAIL_BY_COUNTRY, TEAMS
from reps.models import Rep, Team
from routing.models import Pool, PoolMember, Publication, Rule, Territory
from routing.services import ruleset_draft, ruleset_publish

FREE_MAIL_DOMAINS = sorted({*FREE_MAIL, *FREE_MAIL_BY_COUNTRY.values()})
ENTERPRISE_POOL = "Enterprise"
PARTNER_QUEUE = "Partner leads"
PARTNER_CLAIM_MINUTES = 120
LANGUAGE_POOL = "German & French speakers"
ENTERPRISE_EMPLOYEES = 1000
ENTERPRISE_TIER = 3
POOL_LANGUAGES = ("de", "fr")
# Around the clock: see the module docstring.
ALWAYS = {"check_hours": False}

# (name, parent, countries, states, team whose round-robin pool works it)
TERRITORIES = [
    ("North America", None, ["US", "CA"], [], "North America"),
    (
        "US West",
        "North America",
        ["US"],
        ["CA", "WA", "OR", "NV", "AZ", "UT", "CO", "ID", "MT", "WY", "NM", "AK", "HI"],
        None,
    ),
    (
        "US East",
        "North America",
        ["US"],
        [
            "NY",
            "NJ",
            "MA",
            "PA",
            "CT",
            "RI",
            "VT",
            "NH",
            "ME",
            "DE",
            "MD",
            "DC",
            "VA",
            "NC",
            "SC",
            "GA",
            "FL",
        ],
        None,
    ),
    (
        "EMEA",
        None,
        ["GB", "IE", "DE", "AT", "CH", "FR", "ES", "IT", "NL", "BE", "SE", "DK", "NO", "FI"],
        [],
        "EMEA",
    ),
    ("DACH", "EMEA", ["DE", "AT", "CH"], [], None),
    ("APAC", None, ["JP", "SG", "AU", "NZ", "IN", "KR", "HK"], [], "APAC"),
]


def team_pool_name(team: str) -> str:
    return f"{team} round robin"


def seed_routing() -> dict[str, int]:
    """The playbook, unless a rule set has been published already. Returns what it made."""
    created = {"territories": 0, "pools": 0, "rules": 0}
    if Publication.objects.exists():
        return created
    teams = {t.name: t for t in Team.objects.filter(name__in=[name for name, *_ in TEAMS])}
    pools = {}
    for team in teams.values():
        pools[team.name] = _pool(
            team_pool_name(team.name),
            team,
            Pool.Method.ROUND_ROBIN,
            {**ALWAYS},
            Rep.objects.filter(team=team, role=Rep.Role.REP),
            created,
        )
    enterprise = _pool(
        ENTERPRISE_POOL,
        teams["North America"],
        Pool.Method.LOAD_BALANCED,
        {**ALWAYS, "load_metric": "ratio"},
        Rep.objects.filter(tier__gte=ENTERPRISE_TIER),
        created,
    )
    language = _pool(
        LANGUAGE_POOL,
        teams["EMEA"],
        Pool.Method.SKILLS_MATCH,
        {**ALWAYS, "language_required": True, "skill_field": "product_interest"},
        [r for r in Rep.objects.order_by("pk") if set(r.languages) & set(POOL_LANGUAGES)],
        created,
    )
    partners = _pool(
        PARTNER_QUEUE,
        teams["North America"],
        Pool.Method.CLAIM_QUEUE,
        {"claim_minutes": PARTNER_CLAIM_MINUTES, "claim_limit": 3},
        Rep.objects.filter(role=Rep.Role.REP).order_by("pk"),
        created,
    )
    territories: dict[str, Territory] = {}
    for name, parent, countries, states, team in TERRITORIES:
        territories[name], made = Territory.objects.get_or_create(
            name=name,
            defaults={
                "parent": territories.get(parent) if parent else None,
                "countries": countries,
                "states": states,
                "pool": pools.get(team) if team else None,
            },
        )
        created["territories"] += made

    draft = ruleset_draft()
    draft.rules.all().delete()
    rules = [
        Rule(
            name="Partial or no email: triage",
            condition={
                "any": [
                    {"field": "partial", "op": "eq", "value": True},
                    {"field": "email", "op": "is_empty"},
                ]
            },
            action=Rule.Action.TRIAGE,
        ),
        *(
            Rule(
                name=f"Known account in {region}: its owner",
                condition={
                    "all": [
                        {"field": "account_matched", "op": "eq", "value": True},
                        {"field": "country", "op": "in", "value": countries},
                    ]
                },
                action=Rule.Action.ACCOUNT_OWNER,
                fallback=Rule.Fallback.POOL,
                fallback_pool=pools[region],
            )
            for region, _parent, countries, _states, _team in TERRITORIES
            if region in pools
        ),
        Rule(
            name="Partner referrals: the partner queue",
            condition={"field": "source", "op": "eq", "value": "partner_referral"},
            action=Rule.Action.POOL,
            action_pool=partners,
            fallback=Rule.Fallback.TRIAGE,
        ),
        Rule(
            name="Free mail: triage",
            condition={"field": "email_domain", "op": "in", "value": FREE_MAIL_DOMAINS},
            action=Rule.Action.TRIAGE,
        ),
        Rule(
            name="Enterprise: 1,000+ employees",
            condition={"field": "employees", "op": "gte", "value": ENTERPRISE_EMPLOYEES},
            action=Rule.Action.POOL,
            action_pool=enterprise,
            fallback=Rule.Fallback.MANAGER,
        ),
        Rule(
            name="German or French speakers",
            condition={"field": "language", "op": "in", "value": list(POOL_LANGUAGES)},
            action=Rule.Action.POOL,
            action_pool=language,
            fallback=Rule.Fallback.POOL,
            fallback_pool=pools["EMEA"],
        ),
        Rule(
            name="Not ready to buy: nurture",
            condition={"field": "score_band", "op": "eq", "value": "nurture"},
            action=Rule.Action.NURTURE,
        ),
        Rule(
            name="Everyone else: territory round robin",
            condition={},
            action=Rule.Action.TERRITORY_POOL,
            fallback=Rule.Fallback.TRIAGE,
        ),
    ]
    for position, rule in enumerate(rules, start=1):
        rule.ruleset = draft
        rule.position = position * 10
    Rule.objects.bulk_create(rules)
    created["rules"] = len(rules)
    ruleset_publish(note="Demo playbook")
    return created


def _pool(
    name: str,
    team: Team,
    method: str,
    settings: dict[str, Any],
    reps: Iterable[Rep],
    created: dict[str, int],
) -> Pool:
    pool, made = Pool.objects.get_or_create(
        name=name, defaults={"team": team, "method": method, "settings": settings}
    )
    if made:
        PoolMember.objects.bulk_create(
            [PoolMember(pool=pool, rep=rep, position=i) for i, rep in enumerate(reps)]
        )
        created["pools"] += 1
    return pool
