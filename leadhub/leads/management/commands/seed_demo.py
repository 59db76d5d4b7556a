"""manage.py seed_demo: the demo company (idempotent). See leadhub/leads/demo.py."""

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand

from leadhub.leads.demo import seed_demo


class Command(BaseCommand):
    help = (
        "Build the demo company: 3 teams of reps, accounts, enrichment, scoring rules, web "
        "forms and a month of leads. Running it again adds only what is missing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        # Every seeded lead queues its tasks (routing, deliveries); django-q logs each at
        # INFO, hundreds of lines that say nothing a person needs here.
        queue_log = logging.getLogger("django-q")
        level = queue_log.level
        queue_log.setLevel(max(level, logging.WARNING))
        try:
            s = seed_demo()
        finally:
            queue_log.setLevel(level)
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
        self.stdout.write(
            self.style.SUCCESS(f"Created {created} in {time.monotonic() - started:.1f} s.")
        )
