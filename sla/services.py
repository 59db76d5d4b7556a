"""Writes for notifications: an event fans out into outbox rows (``notify``), and each row
is delivered by a task (``outbox_deliver``) that claims it, sends it, and schedules a retry
with exponential backoff until it is sent or dead.

To announce a new event (the SLA clock's ``lead.accepted``, ``lead.declined``,
``lead.escalated``, ``sla.breached``), call ``notify`` inside the transaction that makes
the change, with the rep to tell (or the team) and a payload built by ``lead_data``: the
rows commit or roll back with the change, and delivery starts only after the commit.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from leadhub import lanes
from leadhub.db import delete_in_batches
from leadhub.leads.models import Lead
from reps.models import Rep
from routing.models import Decision
from sla import delivery
from sla.models import Event, Notification, SlaClock, WebhookSubscription, new_secret
from sla.selectors import (
    DUE_STATUSES,
    QUEUE_LEASE,
    REMOTE_CHANNELS,
    due_notification_ids,
    queued_notification_count,
    slack_webhooks_for,
    subscriptions_for,
)

logger = logging.getLogger(__name__)

# Retry n waits RETRY_BASE * 2**(n-1), at most RETRY_CAP: 30 s, 1 min, 2 min, ... 1 h.
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
# How long a claim holds a row. Far longer than one send (the HTTP timeout, an SMTP
# exchange) and than a task may run (Q_CLUSTER "timeout"), so only a dead worker's row
# is claimed again.
LEASE = timedelta(minutes=5)
# Rows the sweep hands to the queue per run at most; the rest wait for its next run.
SWEEP_BATCH = 500
ERROR_CHARS = 1000

Channel = Notification.Channel
Status = Notification.Status


def lead_data(lead: Lead) -> dict[str, Any]:
    """The lead as events carry it (webhook ``data.lead``; email and Slack texts)."""
    return {
        "id": lead.pk,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "phone": lead.phone,
        "company": lead.company,
        "country": lead.country,
        "source": lead.source,
        "status": lead.status,
        "score": lead.score,
        "score_band": lead.score_band,
        "owner_id": lead.owner_id,
        "captured_at": lead.captured_at.isoformat(),
    }


def rep_data(rep: Rep) -> dict[str, Any]:
    return {
        "id": rep.pk,
        "name": rep.user.get_full_name() or rep.user.get_username(),
        "email": rep.user.email,
        "team_id": rep.team_id,
    }


def lead_name(lead: Lead) -> str:
    return f"{lead.first_name} {lead.last_name}".strip() or lead.email or lead.phone


def notify(
    *,
    event: str,
    lead: Lead | None = None,
    rep: Rep | None = None,
    team_id: int | None = None,
    payload: dict[str, Any],
    title: str,
    decision: Decision | None = None,
) -> list[Notification]:
    """Write the outbox rows for one event, in the caller's transaction, and queue their
    delivery for after the commit (nothing is sent if it rolls back).

    ``rep`` is told in-app, by email (if their user has an address) and on their Slack
    webhooks; ``team_id`` (the rep's team by default) on the team's Slack webhooks; every
    active webhook subscription to ``event`` gets a row, a team's own subscriptions only
    for events about that team (the team notified, else the lead owner's). ``payload`` is
    JSON data: the webhook body's ``data``.
    """
    if event not in Event.values:
        raise ValueError(f"Unknown event {event!r}; add it to sla.models.Event first.")
    if team_id is None and rep is not None:
        team_id = rep.team_id
    scope_team_id = team_id
    if scope_team_id is None and lead is not None and lead.owner_id is not None:
        scope_team_id = Rep.objects.filter(pk=lead.owner_id).values_list("team_id", flat=True)[0]

    now = timezone.now()
    common = {
        "event": event,
        "lead": lead,
        "decision": decision,
        "title": title[:200],
        "payload": payload,
        "created_at": now,
        "next_attempt_at": now,
    }
    rows = []
    if rep is not None:
        rows.append(
            Notification(channel=Channel.IN_APP, rep=rep, status=Status.SENT, sent_at=now, **common)
        )
        if rep.user.email:
            rows.append(
                Notification(channel=Channel.EMAIL, rep=rep, address=rep.user.email, **common)
            )
    slack_urls = set()
    for hook in slack_webhooks_for(rep_id=rep.pk if rep else None, team_id=team_id):
        if hook.url not in slack_urls:  # a rep and their team may share a channel
            slack_urls.add(hook.url)
            recipient = rep if hook.rep_id is not None else None
            rows.append(
                Notification(channel=Channel.SLACK, rep=recipient, address=hook.url, **common)
            )
    for subscription in subscriptions_for(event=event, team_id=scope_team_id):
        rows.append(
            Notification(
                channel=Channel.WEBHOOK,
                subscription=subscription,
                address=subscription.url,
                **common,
            )
        )
    created = Notification.objects.bulk_create(rows)
    outgoing = [row.pk for row in created if row.channel != Channel.IN_APP]
    if outgoing:
        transaction.on_commit(lambda: outbox_enqueue(notification_ids=outgoing))
    return created


def queue_room(*, now: datetime) -> int:
    """How many more deliveries the outbox queue takes: LEADHUB_OUTBOX_QUEUE_LIMIT less
    those waiting in it. The one bound on the queue, for new rows and the sweep alike."""
    return max(0, settings.LEADHUB_OUTBOX_QUEUE_LIMIT - queued_notification_count(now=now))


def outbox_enqueue(*, notification_ids: list[int]) -> list[int]:
    """Queue the delivery of each row that is due and not already queued, in the outbox
    lane, as far as the queue has room; returns the ids queued. The others wait in the
    table for the ticker's sweep, which queues them as room frees, longest waiting first.
    One task per row: a slow endpoint holds up only its own delivery (and one outbox
    worker for at most LEADHUB_OUTBOX_TIMEOUT_SECONDS)."""
    now = timezone.now()
    room = queue_room(now=now)
    if not room:
        return []
    queued = _claim_for_queue(ids=notification_ids[:room], now=now)
    for notification_id in queued:
        lanes.enqueue(lanes.OUTBOX, "sla.tasks.deliver", notification_id, group="outbox")
    return queued


def _claim_for_queue(*, ids: list[int], now: datetime) -> list[int]:
    """Mark the rows of ``ids`` that are due and not queued as queued at ``now``; returns
    those marked. One UPDATE ... RETURNING checks and claims, so a row that two callers
    queue at once (a commit and the sweep, two tickers) is queued by one of them."""
    if not ids:
        return []
    ops = connection.ops
    at = ops.adapt_datetimefield_value(now)
    expired = ops.adapt_datetimefield_value(now - QUEUE_LEASE)
    table = ops.quote_name(Notification._meta.db_table)
    statuses = [str(status) for status in DUE_STATUSES]
    channels = [str(channel) for channel in REMOTE_CHANNELS]
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET queued_at = %s WHERE id IN ({marks}) "  # noqa: S608
            f"AND status IN ({', '.join(['%s'] * len(statuses))}) "
            f"AND channel IN ({', '.join(['%s'] * len(channels))}) "
            "AND next_attempt_at <= %s AND (queued_at IS NULL OR queued_at < %s) RETURNING id",
            [at, *ids, *statuses, *channels, at, expired],
        )
        return sorted(row[0] for row in cursor.fetchall())


def notification_for_decision(
    *, decision_id: int | None = None, decision: Decision | None = None, lead: Lead | None = None
) -> Notification | None:
    """Tell the rep a lead is theirs (``lead.assigned``, or ``lead.reassigned`` for a
    manual reassignment): one fan-out per decision however often this runs, which the
    database enforces. Returns the rep's in-app row.

    Routing passes the ``decision`` and ``lead`` rows it holds, inside the assignment's
    transaction: the decision is brand new, so there is nothing to look up or guard. By
    ``decision_id`` (a re-run), the rows are read and a second fan-out is refused."""
    fresh = decision is not None
    if decision is None:
        decision = Decision.objects.select_related("lead").filter(pk=decision_id).first()
    if decision is None or decision.outcome != "assigned" or decision.rep_id is None:
        return None
    in_app = Notification.objects.filter(decision=decision, channel=Channel.IN_APP)
    if not fresh and (existing := in_app.first()):
        return existing
    lead = lead if lead is not None else decision.lead
    rep = Rep.objects.select_related("user").get(pk=decision.rep_id)
    if decision.kind == Decision.Kind.SLA and decision.method == "escalation":
        event = Event.LEAD_ESCALATED
    elif decision.kind in (Decision.Kind.MANUAL, Decision.Kind.SLA):
        event = Event.LEAD_REASSIGNED
    else:
        event = Event.LEAD_ASSIGNED
    title = f"New lead: {lead_name(lead)}" + (f" ({lead.company})" if lead.company else "")
    payload = {
        "lead": lead_data(lead),
        "rep": rep_data(rep),
        "decision": {"id": decision.pk, "kind": decision.kind, "reason": decision.reason},
    }
    fan_out = {"event": event, "lead": lead, "rep": rep, "decision": decision}
    if fresh:
        rows = notify(payload=payload, title=title, **fan_out)
        return next(row for row in rows if row.channel == Channel.IN_APP)
    try:
        with transaction.atomic():
            notify(payload=payload, title=title, **fan_out)
    except IntegrityError:
        pass  # another worker announced it first
    return in_app.get()


def _announce_work(event: str, lead: Lead, rep: Rep, title: str, **extra: Any) -> None:
    # The acting rep does not need telling; subscribers and the team's channels do.
    payload = {"lead": lead_data(lead), **extra, "rep": rep_data(rep)}
    notify(event=event, lead=lead, team_id=rep.team_id, payload=payload, title=title)


def notification_for_accept(*, lead: Lead) -> None:
    """``lead.accepted``: the owner took the lead on (inside that transaction)."""
    rep = Rep.objects.select_related("user").get(pk=lead.owner_id)
    _announce_work(Event.LEAD_ACCEPTED, lead, rep, f"{rep} accepted {lead_name(lead)}")


def notification_for_decline(*, lead: Lead, decision: Decision, rep_id: int) -> None:
    """``lead.declined``: the rep ``rep_id`` said no, and ``decision`` routed the lead again
    (inside that transaction, after the new owner's own announcement)."""
    rep = Rep.objects.select_related("user").get(pk=rep_id)
    _announce_work(
        Event.LEAD_DECLINED,
        lead,
        rep,
        f"{rep} declined {lead_name(lead)}: {decision.reason}",
        reason=decision.reason,
        next_decision={"id": decision.pk, "outcome": decision.outcome, "rep": decision.rep_id},
    )


def notification_for_escalation_ceiling(*, rep_id: int, ceiling: int | None) -> list[Notification]:
    """Tell a manager their open escalated leads reached their ceiling: escalations go to
    triage until they close or hand some on (``manager.escalation_ceiling``)."""
    rep = Rep.objects.select_related("user").get(pk=rep_id)
    return notify(
        event=Event.ESCALATION_CEILING,
        rep=rep,
        payload={"rep": rep_data(rep), "ceiling": ceiling},
        title=(
            f"You hold {ceiling} escalated leads, your ceiling: further escalations go to "
            "triage until you close or hand some on"
        ),
    )


def notification_for_lead_created(*, lead_id: int) -> list[Notification]:
    """Announce a captured lead to the ``lead.created`` subscribers, once: a lead that
    already has its rows is skipped, so the task may run twice."""
    lead = Lead.objects.filter(pk=lead_id).first()
    done = Notification.objects.filter(lead_id=lead_id, event=Event.LEAD_CREATED).exists()
    if lead is None or done:
        return []
    with transaction.atomic():
        return notify(
            event=Event.LEAD_CREATED,
            lead=lead,
            payload={"lead": lead_data(lead)},
            title=f"New lead captured: {lead_name(lead)}",
        )


def notification_for_status_change(*, lead_id: int, old: str, new: str) -> list[Notification]:
    """Announce a status change to the ``lead.status_changed`` subscribers. The owner is
    not told: they usually made the change."""
    lead = Lead.objects.filter(pk=lead_id).first()
    if lead is None:
        return []
    with transaction.atomic():
        return notify(
            event=Event.LEAD_STATUS_CHANGED,
            lead=lead,
            payload={"lead": lead_data(lead), "from": old, "to": new},
            title=f"{lead_name(lead)}: {old} → {new}",
        )


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    return min(RETRY_BASE * 2 ** (attempts - 1), RETRY_CAP)


def outbox_deliver(*, notification_id: int) -> str | None:
    """Make one delivery attempt if the row is due, and record its outcome. Returns the
    new status, or None when the row was not claimed (not due, sent, dead, or held by
    another worker), which makes the task safe to run twice.

    The claim is one conditional UPDATE (healthchecks' sendalerts): the worker whose
    update changed the row owns the attempt. The claim sets a lease, so a row whose worker
    died mid-send is claimed again once it ends. No transaction is held while sending.
    """
    now = timezone.now()
    lease_end = now + LEASE
    claimed = Notification.objects.filter(
        pk=notification_id,
        channel__in=REMOTE_CHANNELS,
        status__in=DUE_STATUSES,
        next_attempt_at__lte=now,
    ).update(
        status=Status.SENDING,
        next_attempt_at=lease_end,
        attempts=F("attempts") + 1,
        queued_at=None,
    )
    if claimed != 1:
        # Not due (sent, dead, held by another worker, its retry still to come): this
        # task's place in the queue is used up all the same.
        Notification.objects.filter(pk=notification_id, queued_at__isnull=False).update(
            queued_at=None
        )
        return None
    note = Notification.objects.select_related("subscription").get(pk=notification_id)
    error = ""
    try:
        delivery.send(note)
    except delivery.Undeliverable as exc:
        error, status = str(exc), Status.DEAD
    except delivery.DeliveryError as exc:
        error, status = str(exc), Status.FAILED
    except Exception as exc:
        # A bug or an unexpected failure (SMTP): record it on the row rather than leave it
        # in "sending" until the lease ends.
        logger.exception("Outbox row %s: unexpected error while sending", notification_id)
        error, status = f"{type(exc).__name__}: {exc}", Status.FAILED
    else:
        status = Status.SENT
    fields: dict[str, Any] = {"status": status, "last_error": error[:ERROR_CHARS]}
    if status == Status.SENT:
        fields["sent_at"] = timezone.now()
    elif status == Status.FAILED:
        if note.attempts >= settings.LEADHUB_OUTBOX_MAX_ATTEMPTS:
            fields["status"] = Status.DEAD
        else:
            fields["next_attempt_at"] = timezone.now() + retry_delay(note.attempts)
    # Fenced on the lease: if this worker overran it and another claimed the row, or the
    # admin re-sent it meanwhile, the newer owner's outcome stands.
    Notification.objects.filter(
        pk=notification_id, status=Status.SENDING, next_attempt_at=lease_end
    ).update(**fields)
    return fields["status"]


@transaction.atomic
def outbox_resend(*, notification_id: int) -> bool:
    """Deliver a row again from the admin, now, with a fresh set of attempts (sent rows
    too: the receiver may have lost it). Refused for in-app rows and for a row a worker is
    sending right now."""
    now = timezone.now()
    updated = (
        Notification.objects.filter(pk=notification_id, channel__in=REMOTE_CHANNELS)
        .exclude(status=Status.SENDING, next_attempt_at__gt=now)
        .update(status=Status.PENDING, next_attempt_at=now, attempts=0, sent_at=None)
    )
    if updated:
        transaction.on_commit(lambda: outbox_enqueue(notification_ids=[notification_id]))
    return bool(updated)


def outbox_sweep() -> int:
    """Queue the deliveries that are due and not queued: new rows nobody queued (SLA
    reminders), retries whose wait is over, rows whose task was lost, and rows a dead
    worker left behind; the longest waiting first, topping the outbox queue up to
    LEADHUB_OUTBOX_QUEUE_LIMIT (a backlog waits in the table, not in the queue). Run by
    the ticker; two at once queue each row once. Returns how many were queued."""
    now = timezone.now()
    room = queue_room(now=now)
    if not room:
        return 0
    ids = due_notification_ids(now=now, limit=min(room, SWEEP_BATCH))
    return len(outbox_enqueue(notification_ids=ids))


def outbox_settle_history(*, lead_ids: list[int]) -> int:
    """Mark the undelivered email, Slack and webhook rows of these leads as delivered when
    they were written: for a history played after the fact (the demo's month), whose
    messages belong to the past and are not to go out now. Returns how many."""
    return Notification.objects.filter(
        lead_id__in=lead_ids, channel__in=REMOTE_CHANNELS, status__in=DUE_STATUSES
    ).update(status=Status.SENT, sent_at=F("created_at"), queued_at=None)


def notifications_purge(*, before: datetime) -> int:
    """Delete email, Slack and webhook rows delivered before ``before``, in batches;
    returns how many. In-app rows stay: they are the reps' list and the "notified" time
    of the speed metrics; dead rows stay for the admin to re-send."""
    return delete_in_batches(
        Notification.objects.filter(
            channel__in=REMOTE_CHANNELS, status=Status.SENT, sent_at__lt=before
        )
    )


def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def webhook_subscription_regenerate_secret(
    *, subscription: WebhookSubscription, grace: timedelta = timedelta(0)
) -> WebhookSubscription:
    """A new signing secret, in force for every delivery from now on (retries included).
    With a ``grace``, the replaced secret signs beside it until then (Standard Webhooks
    carries both signatures), so receivers switch without losing a delivery; without, it
    stops at once. A rotation during a grace period drops the oldest secret."""
    if grace < timedelta(0):
        raise ValueError("The grace period cannot be negative.")
    locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if grace:
        locked.previous_secret = locked.secret
        locked.previous_secret_until = timezone.now() + grace
    else:
        locked.previous_secret, locked.previous_secret_until = "", None
    locked.secret = new_secret()
    locked.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    for field in ("secret", "previous_secret", "previous_secret_until"):
        setattr(subscription, field, getattr(locked, field))
    return subscription


SUBSCRIPTION_FIELDS = frozenset({"name", "url", "events", "team", "active"})


def webhook_subscription_create(**fields: Any) -> WebhookSubscription:
    """A new subscription, with a new secret; ValidationError naming a bad field."""
    unknown = set(fields) - SUBSCRIPTION_FIELDS
    if unknown:
        raise TypeError(f"Unknown fields: {', '.join(sorted(unknown))}")
    subscription = WebhookSubscription(**fields)
    subscription.full_clean()
    subscription.save()
    return subscription


def webhook_subscription_update(
    *, subscription: WebhookSubscription, **fields: Any
) -> WebhookSubscription:
    """Change a subscription's name, URL, events, team or switch; its secret changes only
    by ``webhook_subscription_regenerate_secret``."""
    unknown = set(fields) - SUBSCRIPTION_FIELDS
    if unknown:
        raise TypeError(f"Unknown fields: {', '.join(sorted(unknown))}")
    for field, value in fields.items():
        setattr(subscription, field, value)
    subscription.full_clean()
    subscription.save(update_fields=sorted(fields) or None)
    return subscription


def webhook_subscription_delete(*, subscription: WebhookSubscription) -> None:
    """Delete a subscription and its delivery rows (those queued are then not sent)."""
    subscription.delete()


def notify_reminders(items: list[tuple[dict[str, Any], Lead]], now) -> list[Notification]:
    """Tell each owner a deadline is coming (``sla.reminder``): in-app and email rows for a
    whole sweep batch in one insert; the emails go out with the ticker's next outbox sweep.
    ``items`` pairs a clock's values (pk, kind, rep_id, due_at, minutes_left) with its lead."""
    emails = dict(
        Rep.objects.filter(pk__in={clock["rep_id"] for clock, _lead in items})
        .exclude(user__email="")
        .values_list("pk", "user__email")
    )
    kinds = dict(SlaClock.Kind.choices)
    rows = []
    for clock, lead in items:
        title = (
            f"{kinds.get(clock['kind'], clock['kind'])} due in {clock['minutes_left']} min: "
            f"{lead_name(lead)}"
        )[:200]
        payload = {
            "lead": {"id": lead.pk, "name": lead_name(lead), "company": lead.company},
            "clock": {
                "id": clock["pk"],
                "kind": clock["kind"],
                "due_at": clock["due_at"].isoformat(),
            },
        }
        common = {
            "event": Event.SLA_REMINDER,
            "lead": lead,
            "rep_id": clock["rep_id"],
            "title": title,
            "payload": payload,
            "created_at": now,
            "next_attempt_at": now,
        }
        rows.append(Notification(channel=Channel.IN_APP, status=Status.SENT, sent_at=now, **common))
        if email := emails.get(clock["rep_id"]):
            rows.append(Notification(channel=Channel.EMAIL, address=email, **common))
    # The emails are queued by the ticker's next outbox sweep, a few seconds from now, at
    # the pace the outbox lane keeps: a sweep may remind thousands at once.
    return Notification.objects.bulk_create(rows, batch_size=1000)


def notify_breach(*, lead: Lead, clock: Any, action: str, owner: int | None) -> list[Notification]:
    """``sla.breached``: the rep who missed the deadline is told, with what happened, and
    so are the subscribers (the new owner hears of the lead through its own event)."""
    rep = Rep.objects.select_related("user").filter(pk=owner).first() if owner else None
    what = {
        "reassigned": "it went to another rep",
        "escalated": "it went to your manager",
        "triaged": "it went to triage",
    }.get(action, "nothing more could be done")
    return notify(
        event=Event.SLA_BREACHED,
        lead=lead,
        rep=rep,
        payload={
            "lead": lead_data(lead),
            "clock": {"id": clock.pk, "kind": clock.kind, "due_at": clock.due_at.isoformat()},
            "action": action,
            "missed_by": owner,
        },
        title=f"Missed {clock.get_kind_display().lower()} deadline: {lead_name(lead)}; {what}",
    )
