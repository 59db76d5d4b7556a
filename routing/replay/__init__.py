"""Replay: what a rule set would have done with the leads of the last N days.

Every lead captured in the window is decided again, in capture order, by the pure engine
(``routing.engine.decide``) on a simulated state (``simulate.py``), and the differences
from the stored decisions are counted and explained (``report.py``). Nothing is written
but the ``ReplayReport`` row. Entry points: ``replay_request`` (services.py: writes the
report as running and queues ``routing.tasks.replay_report`` in the housekeeping lane, which
calls ``replay_fill``), used by ``POST /api/rulesets/{draft|version}/replay/`` (then
``GET /api/replays/{id}/``, api.py) and "Replay the last 30 days" on a rule set's admin page
(admin.py); ``replay_run`` does it all at once, for the ``replay`` command.
"""

from routing.replay.services import (
    ReplayError,
    replay_failed,
    replay_fill,
    replay_request,
    replay_ruleset,
    replay_run,
)

__all__ = [
    "ReplayError",
    "replay_failed",
    "replay_fill",
    "replay_request",
    "replay_ruleset",
    "replay_run",
]
