"""Notifications. For now the in-app channel: a record per rep, read or unread. The SLA
issue grows this into the outbox (email, Slack, webhooks) with delivery attempts."""

from django.db import models
from django.utils.timezone import now


class Notification(models.Model):
    class Kind(models.TextChoices):
        ASSIGNED = "assigned", "Lead assigned"
        REASSIGNED = "reassigned", "Lead reassigned to you"

    rep = models.ForeignKey("reps.Rep", on_delete=models.CASCADE, related_name="notifications")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="notifications")
    decision = models.OneToOneField(
        "routing.Decision", null=True, on_delete=models.SET_NULL, related_name="notification"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["rep", "read_at", "created_at"])]

    def __str__(self) -> str:
        return self.title
