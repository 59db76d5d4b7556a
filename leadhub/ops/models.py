from django.db import models
from django.utils.timezone import now


class Heartbeat(models.Model):
    """The last sign of life of one process kind: a lane's cluster (``lane:routing``) or
    the ticker (``ticker``). Several processes of a kind share the row: the freshest
    beat wins, which is what "is anyone serving this lane" asks."""

    name = models.CharField(max_length=50, unique=True)
    beat_at = models.DateTimeField(default=now)
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    # What the process last did, for people (the ticker: its last run's counts).
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Lease(models.Model):
    """A named job that must not run twice at once (a sweep): held until ``until``, taken
    by one conditional UPDATE (healthchecks' sendalerts claim)."""

    name = models.CharField(max_length=50, unique=True)
    until = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return self.name
