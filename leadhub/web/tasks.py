"""django-q2 tasks of the web app. Safe to run twice."""

from leadhub.web.rollup import speed_rollup_tick

SPEED_ROLLUP_SCHEDULE = "web: refresh the speed-to-lead rollup"


def speed_rollup() -> int:
    """Refresh the speed rollup's days whose leads changed since the last run (every 5
    minutes, migration 0003); returns the rows written."""
    return speed_rollup_tick()
