"""``manage.py rebuild_speed_rollup [--days N]``: rebuild the speed-to-lead rollup."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from leadhub.web.rollup import speed_rollup_rebuild


class Command(BaseCommand):
    help = (
        "Rebuild the speed-to-lead rollup: every capture day (and reset its watermark), or "
        "with --days N only the last N days up to today."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Only the last N days.")

    def handle(self, *args: Any, days: int | None = None, **options: Any) -> None:
        started = time.perf_counter()
        rows = speed_rollup_rebuild(days)
        took = time.perf_counter() - started
        self.stdout.write(f"Speed rollup: {rows} rows in {took:.1f} s.")
