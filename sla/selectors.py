"""Reads for SLA: who hears an event, which outbox rows are due, a rep's own in-app list,
and business calendars as the plain data ``sla.calendars`` computes with."""

from datetime import datetime, timedelta

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from reps.models import Holiday
from reps.selectors import rep_of
from routing import world
from sla.calendars import BusinessCalendarSpec, BusinessInterval
from sla.models import BusinessCalendar, Notification, SlackWebhook, WebhookSubscription

# Rows a worker may claim: never tried or failed and due, or sending with an expired lease.
DUE_STATUSES = (
    Notification.Status.PENDING,
    Notification.Status.FAILED,
    Notification.Status.SENDING,
)
REMOTE_CHANNELS = (
    Notification.Channel.EMAIL,
    Notification.Channel.SLACK,
    Notification.Channel.WEBHOOK,
)
# How long a row's place in the outbox queue holds: a row queued longer ago than this is
# taken for lost (a broker that dropped it, a worker killed before it ran) and may be
# queued again. Far longer than a task waits in a queue kept at LEADHUB_OUTBOX_QUEUE_LIMIT.
QUEUE_LEASE = timedelta(minutes=15)


def _not_queued(now: datetime) -> Q:
    return Q(queued_at__isnull=True) | Q(queued_at__lt=now - QUEUE_LEASE)


def _active_subscriptions() -> list[WebhookSubscription]:
    return list(WebhookSubscription.objects.filter(active=True).order_by("pk"))


def _active_slack_webhooks() -> list[SlackWebhook]:
    return list(SlackWebhook.objects.filter(active=True).order_by("pk"))


def subscriptions_for(*, event: str, team_id: int | None) -> list[WebhookSubscription]:
    """Active subscriptions to ``event``: those for every team, and those of ``team_id``.
    Read from the per-process copy of all active subscriptions (a handful of rows, asked
    for on every assignment; ``routing.world.cached``, dropped when one changes)."""
    return [
        s
        for s in world.cached("sla.subscriptions", _active_subscriptions)
        if event in s.events and (s.team_id is None or s.team_id == team_id)
    ]


def slack_webhooks_for(*, rep_id: int | None, team_id: int | None) -> list[SlackWebhook]:
    """Active Slack webhooks of the rep and of the team, the rep's first."""
    if rep_id is None and team_id is None:
        return []
    hooks = [
        h
        for h in world.cached("sla.slack_webhooks", _active_slack_webhooks)
        if (rep_id and h.rep_id == rep_id) or (team_id and h.team_id == team_id)
    ]
    return sorted(hooks, key=lambda hook: (hook.rep_id is None, hook.pk))


def due_notification_ids(*, now: datetime, limit: int) -> list[int]:
    """Ids of deliveries due at ``now`` and not already queued, the longest waiting first
    (index: status, next_attempt_at)."""
    return list(
        Notification.objects.filter(
            _not_queued(now),
            channel__in=REMOTE_CHANNELS,
            status__in=DUE_STATUSES,
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def queued_notification_count(*, now: datetime) -> int:
    """Deliveries waiting in the outbox queue (index: sla_notification_queued)."""
    return Notification.objects.filter(queued_at__gte=now - QUEUE_LEASE).count()


def notifications_of(user, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's own in-app notifications, unread first, newest first; none for a user
    who is not an active rep."""
    rep = rep_of(user)
    if rep is None:
        return Notification.objects.none()
    notes = Notification.objects.filter(rep=rep, channel=Notification.Channel.IN_APP)
    if unread_only:
        notes = notes.filter(read_at__isnull=True)
    unread_first = Case(
        When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return notes.order_by(unread_first, "-created_at", "-id")


def calendar_spec(calendar: BusinessCalendar | None) -> BusinessCalendarSpec:
    """The calendar as a ``BusinessCalendarSpec``, in two queries (hours, holidays; one
    without a holiday calendar). No calendar: open around the clock.

    All the holidays of the holiday calendar are loaded, not those of a window around
    now. A calendar holds a few dozen a year, so that costs little, and the spec is then
    right for any instant: a deadline weeks out or a clock paused across New Year cannot
    run past a window and silently count a holiday as a business day.
    """
    if calendar is None:
        return BusinessCalendarSpec.twenty_four_seven()
    hours = calendar.hours.order_by("weekday", "start").values_list("weekday", "start", "end")
    holidays = (
        frozenset(
            Holiday.objects.filter(calendar_id=calendar.holiday_calendar_id).values_list(
                "date", flat=True
            )
        )
        if calendar.holiday_calendar_id is not None
        else frozenset()
    )
    return BusinessCalendarSpec(
        timezone=calendar.timezone,
        intervals=tuple(BusinessInterval(*row) for row in hours),
        holidays=holidays,
    )
