"""Replay: what a rule set would have done with the leads of the last N days.

Every lead captured in the window is decided again, in capture order, by the pure engine
(``routing.engine.decide``) on a simulated state (``simulate.py``), and the differences
from the stored decisions are counted and explained (``report.py``). Nothing is written
but the ``ReplayReport`` row. Entry points: ``replay_run`` (services.py), the ``replay``
command, ``POST /api/rulesets/{draft|version}/replay/`` and ``GET /api/replays/{id}/``
(api.py), and "Replay the last 30 days" on a rule set's admin page (admin.py).
"""

from routing.replay.services import ReplayError, replay_ruleset, replay_run

__all__ = ["ReplayError", "replay_ruleset", "replay_run"]
