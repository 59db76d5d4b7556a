"""CSV import rate: 100,000 realistic rows through ``manage.py import_leads``.

Target: at least 1,000 rows/s, with memory that does not grow with the file.

    .venv/bin/python bench/bench_import.py                 # SQLite in a temp file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_import.py

With DATABASE_URL the script creates a throwaway database lh_bench_<pid> on that
server and drops it at the end. The file has ~5% repeated people (some with the email in
another case), ~1% bad rows, countries as names and codes, head counts as ranges, phones
in several formats, and a column the importer does not know (it goes to custom).
"""

import argparse
import csv
import io
import os
import random
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from bench_intake import throwaway_database  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadhub.settings")
# As in production: with DEBUG on, Django keeps the last 9,000 SQL statements in memory.
os.environ.setdefault("DEBUG", "0")
# DEBUG off needs a key of its own (leadhub/settings.py): any will do for a benchmark.
os.environ.setdefault("SECRET_KEY", "bench-import-" + "x" * 40)

FIRST = [
    "Ana",
    "Ben",
    "Chloe",
    "David",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kara",
    "Liam",
    "Mona",
    "Noah",
    "Omar",
    "Priya",
]
LAST = [
    "Smith",
    "Müller",
    "García",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Tanaka",
    "Silva",
    "Nguyen",
    "Jensen",
    "Novak",
    "Costa",
]
COMPANIES = [
    f"{word} {suffix}"
    for word in [
        "Acme",
        "Globex",
        "Initech",
        "Umbrella",
        "Hooli",
        "Stark",
        "Wayne",
        "Wonka",
        "Soylent",
        "Tyrell",
        "Cyberdyne",
        "Aperture",
        "Vandelay",
        "Dunder",
        "Gringotts",
    ]
    for suffix in ("Inc.", "GmbH", "Ltd", "Corp", "Labs", "Group")
]
COUNTRIES = [
    "US",
    "United States",
    "USA",
    "DE",
    "Germany",
    "GB",
    "United Kingdom",
    "FR",
    "France",
    "NL",
    "Netherlands",
    "ES",
    "Spain",
    "CA",
    "Canada",
    "JP",
    "Japan",
    "BR",
]
EMPLOYEES = ["1-10", "11-50", "51-200", "201-500", "501-1000", "1,001-5,000", "5000+", "250", ""]
TITLES = ["CEO", "CTO", "VP Sales", "Head of Marketing", "Engineer", "Analyst", "Director IT", ""]
SOURCES = ["Trade Show", "Webinar", "Website", "Partner Referral", ""]
SIGNALS = ["Demo Request", "Pricing Page", "Demo Request, Pricing Page", "", "", ""]
HEADER = [
    "First Name",
    "Last Name",
    "E-mail",
    "Phone Number",
    "Company Name",
    "Job Title",
    "Country",
    "No. of Employees",
    "Lead Source",
    "Intent Signals",
    "Annual Revenue",
    "Favourite Colour",
]


def people(rows: int, rng: random.Random) -> Iterator[list[str]]:
    seen: list[list[str]] = []
    for i in range(rows):
        roll = rng.random()
        if seen and roll < 0.05:
            # The same person again, sometimes with the email in other case.
            row = list(rng.choice(seen))
            if rng.random() < 0.5:
                row[2] = row[2].upper()
            row[5] = rng.choice(TITLES)
            yield row
            continue
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = rng.choice(COMPANIES)
        domain = company.split()[0].lower() + rng.choice(["", "-eu", "-us"]) + ".example"
        email = f"{first.lower()}.{i}@{domain}"
        phone = ""
        if rng.random() < 0.6:
            phone = rng.choice(
                [f"+1 (212) {200 + i // 10000:03d}-{i % 10000:04d}", f"+49 30 {1000000 + i}"]
            )
        row = [
            first,
            last,
            email,
            phone,
            company,
            rng.choice(TITLES),
            rng.choice(COUNTRIES),
            rng.choice(EMPLOYEES),
            rng.choice(SOURCES),
            rng.choice(SIGNALS),
            rng.choice(["", "1.2M", "$800k", "25000000"]),
            rng.choice(["blue", "", "red"]),
        ]
        if roll > 0.99:
            bad = rng.randrange(3)
            if bad == 0:
                row[2] = f"{first.lower()}.{i}-at-{domain}"
            elif bad == 1:
                row[6] = "Atlantis"
            else:
                row[7] = "lots"
        else:
            seen.append(row)
            if len(seen) > 5000:
                seen.pop(rng.randrange(len(seen)))
        yield row


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(20240601)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(people(rows, rng))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class RssSampler(threading.Thread):
    """Current resident memory every 0.2 s (Linux /proc), to show it stays flat."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
        while not self.done.wait(0.2):
            with open("/proc/self/statm") as statm:
                self.samples.append(int(statm.read().split()[1]) * page_mb)

    def at(self, fraction: float) -> float:
        return self.samples[min(int(len(self.samples) * fraction), len(self.samples) - 1)]


def seed_pipeline() -> None:
    """Accounts, enrichment rows and scoring rules, so matching and scoring do real work."""
    from leadhub.leads.models import Account, AccountDomain, EnrichmentRecord, ScoringRule

    for company in COMPANIES[::6]:
        word = company.split()[0].lower()
        account = Account.objects.create(name=company, name_key=word)
        AccountDomain.objects.create(account=account, domain=f"{word}.example")
        EnrichmentRecord.objects.create(
            domain=f"{word}-eu.example", company=company, industry="Software", employees=700
        )
    ScoringRule.objects.create(
        name="Demo", field="intent_signals", operator="contains", value="demo_request", points=40
    )
    ScoringRule.objects.create(
        name="Big", field="employees", operator="gte", value="1000", points=20
    )
    ScoringRule.objects.create(
        name="Exec", field="title", operator="regex", value="(?i)^(ceo|cto|vp)", points=15
    )


def run(rows: int) -> None:
    import django
    from django.core.management import call_command
    from django.core.management.base import CommandError

    django.setup()
    from django.db import connection

    from leadhub.leads.models import Lead, LeadEvent

    call_command("migrate", verbosity=0)
    seed_pipeline()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "leads.csv"
        write_csv(path, rows)
        size_mb = path.stat().st_size / 1e6
        before = peak_rss_mb()
        out = io.StringIO()
        sampler = RssSampler()
        sampler.start()
        started = time.perf_counter()
        try:
            call_command("import_leads", str(path), source="bench", stdout=out)
        except CommandError as exc:
            if exc.returncode != 1:
                raise
        elapsed = time.perf_counter() - started
        sampler.done.set()
        sampler.join()
        after = peak_rss_mb()
    lines = out.getvalue().splitlines()
    print(f"database:  {connection.vendor} ({connection.settings_dict['NAME']})")
    print(f"file:      {rows:,} rows, {size_mb:.1f} MB")
    print(f"result:    {lines[-1]}; {lines[-2]}; {len(lines) - 2:,} report lines")
    print(f"stored:    {Lead.objects.count():,} leads, {LeadEvent.objects.count():,} events")
    print(f"time:      {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s (target >= 1,000)")
    print(
        f"peak RSS:  {before:.0f} MB before the import, {after:.0f} MB after "
        f"(+{after - before:.0f} MB for a {size_mb:.0f} MB file)"
    )
    print(
        "RSS during the import at 10% / 50% / 90% / 100% of the time: "
        + " / ".join(f"{sampler.at(f):.0f}" for f in (0.1, 0.5, 0.9, 1.0))
        + " MB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    drop = throwaway_database()
    try:
        run(args.rows)
    finally:
        drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
