"""django-q2's brokers, with what running LeadHub needs on top (``Q_CLUSTER
["broker_class"]``, set in settings):

- a heartbeat per lane: the cluster's sentinel saves its status every guard cycle (half a
  second) through ``set_stat``; every HEARTBEAT_EVERY seconds that also stamps the lane's
  ``Heartbeat`` row. It beats while the cluster lives, however busy its workers are (a
  busy lane shows as queue depth and the age of its oldest waiting task, not as death);
- ``oldest_waiting``: when the oldest task still waiting in the lane's queue was queued.
"""

import time
from datetime import datetime

from django.db import DatabaseError
from django.db.models import Min
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.brokers.redis_broker import Redis
from django_q.conf import Conf, logger
from django_q.signing import BadSignature, SignedPackage

HEARTBEAT_EVERY = 5.0  # seconds


class LaneBeat:
    """Mixin: stamp the lane's heartbeat at most every HEARTBEAT_EVERY seconds."""

    _last_beat = 0.0

    def set_stat(self, key: str, value: str, timeout: int) -> None:
        super().set_stat(key, value, timeout)
        if time.monotonic() - self._last_beat < HEARTBEAT_EVERY:
            return
        self._last_beat = time.monotonic()
        from leadhub.lanes import lane_of
        from leadhub.ops.services import heartbeat_beat

        try:
            heartbeat_beat(name=f"lane:{lane_of(Conf.CLUSTER_NAME)}")
        except DatabaseError:
            # The database is down or busy: the next beat tries again; the sentinel must
            # not die of it (it would take the cluster down with it).
            logger.warning("Could not record the %s lane's heartbeat", Conf.CLUSTER_NAME)


class LaneORM(LaneBeat, ORM):
    def oldest_waiting(self) -> datetime | None:
        # A queued row's lock is the time it was queued (or its retry time): it may be
        # taken once that has passed.
        return (
            self.get_connection()
            .filter(key=self.list_key, lock__lte=timezone.now())
            .aggregate(oldest=Min("lock"))["oldest"]
        )


class LaneRedis(LaneBeat, Redis):
    def oldest_waiting(self) -> datetime | None:
        # Tasks are pushed on the right and taken from the left: index 0 is the oldest.
        payload = self.connection.lindex(self.list_key, 0)
        if payload is None:
            return None
        try:
            return SignedPackage.loads(payload).get("started")
        except (BadSignature, TypeError, ValueError):
            return None
