"""manage.py seed_demo: the demo company (idempotent). See leadhub/demo/__init__.py."""

import time
from typing import Any

from django.core.management.base import BaseCommand

from leadhub.demo.seed import seed_demo


class Command(BaseCommand):
    help = (
        "Build the demo company: 3 teams of reps, accounts, enrichment, scoring rules, web "
        "forms, routing, SLA policies and a month of leads worked by the reps. Running it "
        "again adds only what is missing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        s = seed_demo()
        created = ", ".join(f"{n} {what}" for what, n in s.created.items() if n) or "nothing"
        statuses = ", ".join(f"{n} {status}" for status, n in s.statuses.items())
        self.stdout.write(
            f"Demo company: {s.teams} teams, {s.reps} reps, {s.accounts} accounts, "
            f"{s.enrichment_records} enrichment records, {s.scoring_rules} scoring rules, "
            f"{s.web_forms} web forms, {s.intake_keys} intake key."
        )
        self.stdout.write(
            f"Demo leads: {s.leads} ({statuses}); {s.resubmissions} resubmissions, "
            f"{s.partial} partial."
            + ("" if s.leads_created else " Leads already existed: none added.")
        )
        if s.story:
            story = s.story
            breaches = ", ".join(
                f"{n} {what.split(': ')[1]}"
                for what, n in sorted(story.items())
                if what.startswith("SLA breaches: ")
            )
            self.stdout.write(
                f"Their month: {story['accepted']} accepted, {story['declined']} declined, "
                f"{story['first touches']} first touches, {story['qualified']} qualified, "
                f"{story['converted']} converted, {story['junk']} junk, "
                f"{story['reassigned by a manager']} reassigned by a manager, "
                f"{story['claimed']} claimed from the partner queue; SLA: "
                f"{story['SLA reminders']} reminders, breaches: {breaches or 'none'}."
            )
        clocks = ", ".join(f"{n} {status}" for status, n in s.clocks.items())
        self.stdout.write(
            f"SLA clocks: {clocks or 'none'}. Today: {s.waiting} leads wait for a first answer, "
            f"{s.queued} in the partner queue; {s.overdue} overdue on purpose: the SLA "
            "ticker reminds their reps, then reassigns them, minutes after `make run`."
        )
        self.stdout.write(
            self.style.SUCCESS(f"Created {created} in {time.monotonic() - started:.1f} s.")
        )
