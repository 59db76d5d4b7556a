"""The demo company drawn from one random generator, before the database is looked at, so
every fresh database gets the same company. Pure: no database access."""

import random
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadhub.demo.data import (
    ACCOUNTS,
    BROWSER_LANGUAGE,
    CITIES,
    COUNTRIES,
    DAYS,
    ENRICHED_ACCOUNTS,
    FIRST_NAMES,
    FREE_MAIL,
    FREE_MAIL_BY_COUNTRY,
    FRESH,
    HOUR_WEIGHTS,
    LAST_NAMES,
    MESSAGES,
    OVERDUE,
    PAGES,
    PARTIALS,
    PARTIALS_COMPLETED,
    PEOPLE,
    PRODUCTS,
    PROSPECTS,
    REGION_COUNTRIES,
    REGION_WEIGHTS,
    RESUBMISSIONS,
    SCORING_RULES,
    SMALL_COMPANY_KINDS,
    SMALL_COMPANY_WORDS,
    SOURCES,
    TEAMS,
    TITLES,
    UTM,
    WEB_FORMS,
    WEEKEND_WEIGHT,
)


@dataclass
class Submission:
    at: datetime
    kind: str  # "capture" | "partial"
    data: dict[str, Any]
    channel: str = "api"
    form: str = ""
    session: str = ""
    # Routed after the story's last SLA sweep, its clocks left overdue (demo/story.py).
    overdue: bool = False

    @property
    def source(self) -> str:
        forms = {f["slug"]: f["source"] for f in WEB_FORMS}
        return self.data.get("source") or forms.get(self.form, "")


def ascii_slug(text: str, sep: str = "") -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return sep.join("".join(c for c in word if c.isalnum()) for word in plain.split())


def weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def past_business_moment(rng: random.Random, now: datetime, tz_name: str) -> datetime:
    """A moment in the last DAYS days, weighted to weekdays and working hours in ``tz_name``.

    It takes the same draws from ``rng`` whatever ``now`` is, so the people, companies and
    statuses of the demo do not depend on when it is seeded; only the dates do."""
    tz = ZoneInfo(tz_name)
    today = now.astimezone(tz).date()
    days = [today - timedelta(days=n) for n in range(DAYS)]
    day = rng.choices(days, weights=[WEEKEND_WEIGHT if d.weekday() >= 5 else 1 for d in days])[0]
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    clock = time(hour, rng.randrange(60), rng.randrange(60))
    moment = datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)
    while moment > now - timedelta(minutes=5):  # later today: the day before instead
        moment -= timedelta(days=1)
    return moment


@dataclass
class Company:
    name: str
    domain: str
    region: str
    country: str
    industry: str = ""
    employees: int | None = None


@dataclass
class Plan:
    reps: list[tuple[str, str, str, str, str, str]]  # team, username, first, last, tz, role
    accounts: list[tuple[Company, list[str], str | None]]  # company, domains, owner username
    enrichment: list[dict[str, Any]]
    submissions: list[Submission]


def plan_company(rng: random.Random, now: datetime) -> Plan:
    reps = []
    for team, _region, _tz, people in TEAMS:
        for i, (first, last, tz) in enumerate(people):
            username = f"{ascii_slug(first)}.{ascii_slug(last)}"
            role = "manager" if i == 0 else "rep"
            reps.append((team, username, first, last, tz, role))
    region_of = {name: region for name, region, _tz, _people in TEAMS}
    sellers = defaultdict(list)
    for team, username, *_names, role in reps:
        if role == "rep":
            sellers[region_of[team]].append(username)

    accounts = []
    for row in ACCOUNTS:
        company = Company(*row)
        domains = [company.domain]
        if rng.random() < 0.35:
            stem = company.domain.split(".")[0]
            domains.append(f"{stem}.{rng.choice(['io', 'net', 'com', 'co'])}")
            if domains[1] == domains[0]:
                domains.pop()
        owner = rng.choice(sellers[company.region]) if rng.random() < 0.85 else None
        accounts.append((company, domains, owner))

    enrichment = []
    known = [company for company, _domains, _owner in rng.sample(accounts, ENRICHED_ACCOUNTS)]
    prospects = [Company(*row) for row in PROSPECTS]
    for company in [*known, *prospects]:
        enrichment.append(
            {
                "domain": company.domain,
                "company": company.name,
                "website": company.domain,
                "industry": company.industry,
                "employees": company.employees,
                "annual_revenue": company.employees * rng.randrange(90_000, 260_000, 1_000),
                "country": company.country,
                "city": rng.choice(CITIES[company.country]),
                "timezone": COUNTRIES[company.country][1][0],
            }
        )
    return Plan(reps, accounts, enrichment, plan_leads(rng, now, accounts, prospects))


class People:
    """Draws distinct people: no two share an email address or a phone number."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.emails: set[str] = set()
        self.phones: set[str] = set()

    def email(self, first: str, last: str, domain: str) -> str:
        f, la = ascii_slug(first), ascii_slug(last)
        styles = [f"{f}.{la}", f"{f[0]}{la}", f"{f}", f"{f}_{la}"]
        local = self.rng.choices(styles, weights=[6, 3, 1, 1])[0]
        email, n = f"{local}@{domain}", 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def phone(self, country: str) -> str:
        _names, _tz, prefix, digits = COUNTRIES[country]
        while True:
            national = str(self.rng.randrange(2, 10)) + "".join(
                str(self.rng.randrange(10)) for _ in range(digits - 1)
            )
            if national not in self.phones:
                self.phones.add(national)
                break
        if self.rng.random() < 0.7:
            return f"{prefix} {national[:3]} {national[3:6]} {national[6:]}"
        return (
            f"0{national}" if prefix != "+1" else f"({national[:3]}) {national[3:6]}-{national[6:]}"
        )


def plan_leads(
    rng: random.Random,
    now: datetime,
    accounts: list[tuple[Company, list[str], str | None]],
    prospects: list[Company],
) -> list[Submission]:
    """Every submission of the month, oldest first: new people, people coming back, and
    demo requests typed but not (all) sent."""
    people = People(rng)
    small = [f"{word} {kind}" for word in SMALL_COMPANY_WORDS for kind in SMALL_COMPANY_KINDS]
    rng.shuffle(small)
    firsts = [
        _first_contact(rng, now, i, people, accounts, prospects, small) for i in range(PEOPLE)
    ]
    returns = _returns(rng, now, firsts)
    known = {d for _company, domains, _owner in accounts for d in domains}
    _move_to_today(now, firsts, {r.data["email"] for r in returns} | known)
    submissions = [*firsts, *returns, *_partials(rng, now, people, small)]
    submissions.sort(key=lambda s: s.at)
    return submissions


def _move_to_today(now: datetime, firsts: list[Submission], excluded: set[str]) -> None:
    """Give today a few leads: the first people of each source in FRESH and OVERDUE whom a
    rep will get (a company, a work address and a country: not triage; a senior title or a
    source that scores on its own: not nurture), who are not known accounts' people and do
    not come back later (the ``excluded`` addresses and domains), arrive that many minutes
    before ``now`` instead; only the OVERDUE ones asked for a demo. No draw: the rest of the
    month stays as it was."""
    scored = ("partner_referral", "demo_request")
    senior = re.compile(next(r[3] for r in SCORING_RULES if r[0] == "Senior title"), re.I)
    free = {*FREE_MAIL, *FREE_MAIL_BY_COUNTRY.values()}

    def fits(sub: Submission, overdue: bool) -> bool:
        data, domain = sub.data, sub.data["email"].split("@")[1]
        return (
            bool(data.get("company") and data.get("country"))
            and domain not in free
            and (sub.source in scored or bool(senior.search(data.get("title", ""))))
            and not {data["email"], domain} & excluded
            and (overdue or "demo_request" not in data.get("intent_signals", []))
        )

    taken: set[int] = set()
    moves = [*((f, False) for f in FRESH), *((o, True) for o in OVERDUE)]
    for (source, minutes), overdue in moves:
        i, sub = next(
            (i, s)
            for i, s in enumerate(firsts)
            if i not in taken and s.source == source and fits(s, overdue)
        )
        taken.add(i)
        sub.at, sub.overdue = now - timedelta(minutes=minutes), overdue


def _first_contact(
    rng: random.Random,
    now: datetime,
    i: int,
    people: People,
    accounts: list[tuple[Company, list[str], str | None]],
    prospects: list[Company],
    small: list[str],
) -> Submission:
    region = weighted(rng, list(REGION_WEIGHTS.items()))
    country = rng.choices(*REGION_COUNTRIES[region])[0]
    first = rng.choice(FIRST_NAMES[region].split())
    last = rng.choice(LAST_NAMES[region].split()).replace("_", " ")
    source = weighted(rng, SOURCES)
    data: dict[str, Any] = {"first_name": first, "last_name": last, "source": source}

    kind = rng.choices(["account", "prospect", "small", "free"], weights=[34, 24, 30, 12])[0]
    if kind == "account":
        company, domains, _owner = rng.choice(
            [a for a in accounts if a[0].region == region] or accounts
        )
        domain = rng.choice(domains)
        if rng.random() < 0.15:  # a work contact writing from home: matched by name, if at all
            domain = FREE_MAIL_BY_COUNTRY.get(country) or rng.choice(FREE_MAIL)
        data["company"] = company.name if rng.random() < 0.6 else company.name.split(" ")[0]
        country = company.country if rng.random() < 0.8 else country
    elif kind == "prospect":
        company = rng.choice([p for p in prospects if p.region == region] or prospects)
        domain = company.domain
        if rng.random() < 0.7:
            data["company"] = company.name
        country = company.country
    elif kind == "small":
        name = small[i % len(small)]
        domain = ascii_slug(name) + rng.choice([".com", ".com", ".io", ".co"])
        data["company"] = name
        if rng.random() < 0.45:
            data["employees"] = rng.choice(["1-10", "11-50", "51-200", "35", "120", "1,200"])
        if rng.random() < 0.4:
            data["industry"] = rng.choice(["Software", "Consulting", "Marketing services"])
    else:
        domain = FREE_MAIL_BY_COUNTRY.get(country) or rng.choice(FREE_MAIL)
        if rng.random() < 0.5:
            data["company"] = small[(i * 7) % len(small)]
    data["email"] = people.email(first, last, domain)

    # Some leave the country out: enrichment may still know it, otherwise it is triage.
    if rng.random() >= (0.16 if kind in ("small", "free") else 0.03):
        data["country"] = rng.choice(COUNTRIES[country][0])
    if rng.random() < 0.5:
        data["phone"] = people.phone(country)
    if rng.random() < 0.85:
        data["title"] = weighted(rng, TITLES)
    if kind == "free" and source in ("webinar", "content_download") and rng.random() < 0.5:
        data["title"] = "Student"
        data["custom"] = {"student": True}
    demo_odds = 0.12 if source in ("website", "chat", "paid_search") else 0.0
    signals = [
        signal
        for signal, odds in [
            ("pricing_page", 0.3),
            ("case_study", 0.15),
            ("integration_docs", 0.1),
            ("free_trial", 0.08),
            ("demo_request", demo_odds),
        ]
        if rng.random() < odds
    ]
    if source in UTM and rng.random() < 0.85:
        sources, medium, campaigns = UTM[source]
        data.update(
            utm_source=rng.choice(sources), utm_medium=medium, utm_campaign=rng.choice(campaigns)
        )
    if rng.random() < 0.3:
        data["message"] = rng.choice(MESSAGES)
    if rng.random() < 0.25:
        data["product_interest"] = rng.choice(PRODUCTS)

    # The browser's language, where it is not English (no draw: the rest stays as it was).
    if country in BROWSER_LANGUAGE:
        data["language"] = BROWSER_LANGUAGE[country]

    at = past_business_moment(rng, now, rng.choice(COUNTRIES[country][1]))
    on_form = source == "demo_request" or (source == "website" and rng.random() < 0.7)
    if on_form:
        # A hosted form sends only its own fields (and the page's utm parameters).
        slug = "contact" if source == "website" else "demo-request"
        fields = next(f["fields"] for f in WEB_FORMS if f["slug"] == slug)
        sent = {k: v for k, v in data.items() if k in fields or k.startswith("utm_")}
        return Submission(at, "capture", sent, "form", slug, f"demo-{i:04d}")
    if signals:
        data["intent_signals"] = signals
        data["pages"] = [PAGES[s] for s in signals]
    imported = source == "trade_show" or (source == "partner_referral" and rng.random() < 0.5)
    return Submission(at, "capture", data, "import" if imported else "api")


def _returns(rng: random.Random, now: datetime, firsts: list[Submission]) -> list[Submission]:
    """People who come back: another download, a webinar, the pricing page."""
    returns = []
    for original in rng.sample(firsts, RESUBMISSIONS):
        again = {
            "email": original.data["email"],
            "source": rng.choice(["webinar", "content_download", "website", "chat"]),
            "intent_signals": rng.choice([["pricing_page"], ["case_study"], ["demo_request"]]),
        }
        if "title" not in original.data:
            again["title"] = weighted(rng, TITLES)
        at = original.at + timedelta(hours=rng.randrange(2, 24 * 8))
        if at > now - timedelta(minutes=5):  # would be in the future: halfway to now instead
            at = original.at + (now - original.at) / 2
        returns.append(Submission(at, "capture", again, "api"))
    return returns


def _partials(
    rng: random.Random, now: datetime, people: People, small: list[str]
) -> list[Submission]:
    """Demo requests typed but not (all) sent: a partial lead, completed minutes later or
    never."""
    partials = []
    for n in range(PARTIALS):
        region = weighted(rng, list(REGION_WEIGHTS.items()))
        country = rng.choices(*REGION_COUNTRIES[region])[0]
        first = rng.choice(FIRST_NAMES[region].split())
        last = rng.choice(LAST_NAMES[region].split()).replace("_", " ")
        company = small[(n * 11 + 3) % len(small)]
        typed = {
            "email": people.email(first, last, ascii_slug(company) + ".com"),
            "first_name": first,
            "company": company,
        }
        session = f"demo-partial-{n:02d}"
        at = past_business_moment(rng, now, COUNTRIES[country][1][0])
        partials.append(Submission(at, "partial", typed, "form", "demo-request", session))
        if n < PARTIALS_COMPLETED:
            done = {
                **typed,
                "last_name": last,
                "title": weighted(rng, TITLES),
                "country": rng.choice(COUNTRIES[country][0]),
                "employees": rng.choice(["11-50", "51-200", "250"]),
            }
            later = min(at + timedelta(minutes=rng.randrange(1, 9)), now)
            partials.append(Submission(later, "capture", done, "form", "demo-request", session))
    return partials
