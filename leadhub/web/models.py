"""The speed-to-lead rollup (``leadhub.web.rollup``): per capture day, owner's team, measure
and log-spaced duration bucket, how many leads. Written only by ``rollup``."""

from django.db import models


class SpeedBucket(models.Model):
    """``count`` leads captured on ``day`` (UTC) whose owner is in team ``team_id`` (null:
    no owner) had a ``metric`` duration in ``bucket`` (``rollup.bucket_of``)."""

    day = models.DateField()
    team_id = models.IntegerField(null=True, blank=True)
    metric = models.CharField(max_length=8)
    bucket = models.IntegerField()
    count = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "team_id", "metric", "bucket"], name="speed_bucket_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.team_id} {self.metric} #{self.bucket}: {self.count}"


class SpeedRollupState(models.Model):
    """One row: the largest ``Lead.updated_at`` the last refresh saw (the watermark) and
    when it ran. No row: the rollup was never built, and the speed metric stays live."""

    watermark = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"speed rollup as of {self.refreshed_at:%Y-%m-%d %H:%M}"
