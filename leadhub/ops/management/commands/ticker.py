"""manage.py ticker: the long-running process that acts on SLA clocks and runs the
sweeps (leadhub/ops/ticker.py). SIGTERM or Ctrl-C stops it after the job in hand."""

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from leadhub.ops.ticker import Ticker


class Command(BaseCommand):
    help = (
        "Act on due SLA clocks every LEADHUB_SLA_SWEEP_SECONDS, queue due deliveries and "
        "the routing sweep, and beat for GET /health/, until stopped."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="Run every job once and stop.")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        stop = threading.Event()

        def request_stop(signum: int, frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        ticker = Ticker()
        self.stdout.write("Ticker running (SIGTERM or Ctrl-C stops it).")
        while not stop.is_set():
            ticker.tick()
            if once:
                break
            stop.wait(ticker.seconds_to_next())
            # As between two requests: a connection that broke (a job's error, a database
            # restart) or outlived CONN_MAX_AGE is replaced before the next tick.
            close_old_connections()
        self.stdout.write("Ticker stopped.")
