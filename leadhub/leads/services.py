"""Every write to leads goes through these services; views, API, admin, commands and tasks
call them. Each state change writes a LeadEvent in the same transaction."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from leadhub.db import delete_in_batches
from leadhub.leads.intake import LeadDataError, clean_lead_data
from leadhub.leads.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    TRANSITIONS,
    Account,
    AccountDomain,
    IdempotencyRecord,
    Lead,
    LeadEvent,
    WebForm,
)
from leadhub.leads.normalize import domain_of, normalize_company_name
from leadhub.leads.pipeline import PipelineContext, pipeline_context, prepare
from leadhub.leads.signals import announce_captured, announce_change, announce_status_change
from reps.load import rep_load_gain, rep_load_loss, rep_load_open
from reps.models import Rep

Outcome = Literal["created", "duplicate", "replayed", "completed"]


class LeadTransitionError(ValueError):
    pass


@dataclass
class CaptureResult:
    lead: Lead
    outcome: Outcome

    @property
    def created(self) -> bool:
        return self.outcome in ("created", "completed")


def open_duplicate_of(data: Mapping[str, Any], *, exclude_pk: int | None = None) -> Lead | None:
    """The open lead with the same email (case-insensitive) or phone, email match first."""
    email, phone = data.get("email") or "", data.get("phone") or ""
    if not email and not phone:
        return None
    match = Q()
    if email:
        match |= Q(email_lower=email.lower()) & ~Q(email="")
    if phone:
        match |= Q(phone=phone) & ~Q(phone="")
    qs = Lead.objects.alias(email_lower=Lower("email")).filter(match, status__in=OPEN_STATUSES)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    # Ids first: most submissions are new people, and then the whole row is not needed.
    found = list(qs.select_for_update(of=("self",)).order_by("pk").values_list("pk", "email")[:2])
    if not found:
        return None
    pk = next((pk for pk, e in found if email and e.lower() == email.lower()), found[0][0])
    return Lead.objects.get(pk=pk)


def _plain_fields(lead: Lead) -> dict[str, Any]:
    """The lead's own column values (no relations): the base the pipeline re-runs on."""
    return {f.name: getattr(lead, f.name) for f in Lead._meta.concrete_fields if not f.is_relation}


def _fill_blanks(lead: Lead, data: Mapping[str, Any]) -> list[str]:
    """Copy submitted values into fields the lead has empty; never overwrite what is known."""
    filled = []
    for name, value in data.items():
        if name in ("status", "score", "score_band") or value in (None, "", [], {}):
            continue
        current = getattr(lead, name, None)
        if current in (None, "", [], {}):
            setattr(lead, name, value)
            filled.append(name)
    return filled


def _resubmit(
    lead: Lead, data: Mapping[str, Any], *, channel: str, actor, extra: dict | None = None
) -> Lead:
    fill = dict(data)
    # Matched by email, the phone may be another open lead's (or the other way round): an
    # open lead never takes a contact detail another open lead has.
    for contact in ("email", "phone"):
        value = fill.get(contact)
        taken = (
            value
            and not getattr(lead, contact)
            and open_duplicate_of({contact: value}, exclude_pk=lead.pk) is not None
        )
        if taken:
            fill.pop(contact)
            if contact == "email":
                fill.pop("email_domain", None)
    filled = _fill_blanks(lead, fill)
    rescored: dict[str, Any] = {}
    if filled:
        # A filled field may match a scoring rule: score as capture does, on the whole lead.
        snapshot = _plain_fields(lead)
        prepared = prepare({}, pipeline_context([snapshot]), base=snapshot)
        changes = {
            name: [str(getattr(lead, name)), str(prepared.fields[name])]
            for name in ("score", "score_band")
            if getattr(lead, name) != prepared.fields[name]
        }
        for name in changes:
            setattr(lead, name, prepared.fields[name])
        lead.save(update_fields=[*filled, *changes, "updated_at"])
        rescored = {"score": prepared.event["score"]}
        if changes:
            rescored["changes"] = changes
    LeadEvent.objects.create(
        lead=lead,
        kind=LeadEvent.Kind.RESUBMITTED,
        actor=actor,
        data={
            "channel": channel,
            "filled": filled,
            "source": data.get("source", ""),
            **rescored,
            **(extra or {}),
        },
    )
    return lead


def _insert(
    data: dict[str, Any],
    ctx: PipelineContext,
    *,
    channel: str,
    actor,
    form: WebForm | None,
    form_session: str,
) -> Lead:
    prepared = prepare(data, ctx)
    lead = Lead(
        **prepared.fields,
        account=prepared.account,
        channel=channel,
        form=form,
        form_session=form_session,
    )
    lead.save(force_insert=True)
    LeadEvent.objects.create(
        lead=lead,
        kind=LeadEvent.Kind.CAPTURED,
        at=lead.captured_at,
        actor=actor,
        data={"channel": channel, "status": lead.status, **prepared.event},
    )
    return lead


def _complete_partial(partial: Lead, data: dict[str, Any], *, channel: str, actor) -> CaptureResult:
    duplicate = open_duplicate_of(data, exclude_pk=partial.pk)
    if duplicate is not None:
        partial.status, partial.closed_at = "junk", timezone.now()
        partial.is_partial = False
        partial.save(update_fields=["status", "closed_at", "is_partial", "updated_at"])
        LeadEvent.objects.create(
            lead=partial, kind=LeadEvent.Kind.MERGED, actor=actor, data={"into": duplicate.pk}
        )
        _resubmit(
            duplicate, data, channel=channel, actor=actor, extra={"merged_partial": partial.pk}
        )
        return CaptureResult(duplicate, "duplicate")
    base = _plain_fields(partial)
    base["is_partial"] = False
    prepared = prepare(data, pipeline_context([{**base, **data}]), base=base)
    for name, value in prepared.fields.items():
        setattr(partial, name, value)
    partial.is_partial = False
    partial.account = prepared.account
    partial.save()
    LeadEvent.objects.create(
        lead=partial,
        kind=LeadEvent.Kind.COMPLETED,
        actor=actor,
        data={"channel": channel, "status": partial.status, **prepared.event},
    )
    return CaptureResult(partial, "completed")


def _idempotency_record(scope: str, key: str) -> tuple[Lead | None, bool]:
    """(the lead a live record points to, whether an expired record is in the way)."""
    record = IdempotencyRecord.objects.filter(scope=scope, key=key).select_related("lead").first()
    if record is None:
        return None, False
    cutoff = timezone.now() - timedelta(hours=settings.LEADHUB_IDEMPOTENCY_TTL_HOURS)
    if record.created_at < cutoff:
        return None, True
    return record.lead, False


def lead_capture(
    *,
    data: Mapping[str, Any],
    channel: str,
    actor=None,
    idempotency: tuple[str, str] | None = None,
    form: WebForm | None = None,
    form_session: str = "",
    default_source: str = "",
    unknown: Literal["error", "custom"] = "error",
) -> CaptureResult:
    """Validate, dedupe, match, enrich, score and store one lead.

    ``idempotency`` is (scope, key): a second call with the same pair returns the first
    call's lead ("replayed") and writes nothing. An open lead with the same email or phone
    takes the submission instead of a new lead ("duplicate", with a ``resubmitted`` event).
    With a ``form_session`` that has a partial lead, that lead is completed ("completed").
    Raises LeadDataError (nothing written) when the data is invalid.
    """
    cleaned = clean_lead_data(data, unknown=unknown)
    if default_source and not cleaned.get("source"):
        cleaned["source"] = default_source
    stale = False
    if idempotency:
        lead, stale = _idempotency_record(*idempotency)
        if lead is not None:
            return CaptureResult(lead, "replayed")
    # Read before the transaction: on SQLite BEGIN IMMEDIATE takes the write lock, and these
    # reads need not hold it.
    ctx = pipeline_context([cleaned])
    try:
        with transaction.atomic():
            if stale:
                IdempotencyRecord.objects.filter(scope=idempotency[0], key=idempotency[1]).delete()
            result = _capture(
                cleaned, ctx, channel=channel, actor=actor, form=form, form_session=form_session
            )
            if idempotency:
                # The key is claimed last. If a concurrent request with the same key got there
                # first, this insert waits for it, then fails and rolls back all we wrote.
                IdempotencyRecord.objects.create(
                    scope=idempotency[0], key=idempotency[1], lead=result.lead
                )
            if result.created:
                announce_captured([result.lead.pk])
            return result
    except IntegrityError:
        if idempotency and (lead := _idempotency_record(*idempotency)[0]) is not None:
            return CaptureResult(lead, "replayed")
        raise


def _capture(
    cleaned: dict[str, Any], ctx: PipelineContext, *, channel: str, actor, form, form_session
) -> CaptureResult:
    result = None
    if form is not None and form_session:
        partial = (
            Lead.objects.select_for_update()
            .filter(form=form, form_session=form_session, is_partial=True, status__in=OPEN_STATUSES)
            .first()
        )
        if partial is not None:
            result = _complete_partial(partial, cleaned, channel=channel, actor=actor)
            form_session = ""
        elif Lead.objects.filter(form=form, form_session=form_session).exists():
            # This page already made a lead (submitted, or a partial since closed): sending
            # it again is a submission of its own.
            form_session = ""
    if result is None:
        if (existing := open_duplicate_of(cleaned)) is not None:
            result = CaptureResult(
                _resubmit(existing, cleaned, channel=channel, actor=actor), "duplicate"
            )
        else:
            try:
                with transaction.atomic():
                    lead = _insert(
                        cleaned,
                        ctx,
                        channel=channel,
                        actor=actor,
                        form=form,
                        form_session=form_session,
                    )
                result = CaptureResult(lead, "created")
            except IntegrityError:
                # A concurrent submission from the same person committed between our lookup
                # and our insert; the unique index caught it. It is now a resubmission.
                existing = open_duplicate_of(cleaned)
                if existing is None:
                    raise
                result = CaptureResult(
                    _resubmit(existing, cleaned, channel=channel, actor=actor), "duplicate"
                )
    return result


def lead_capture_partial(
    *, form: WebForm, form_session: str, data: Mapping[str, Any]
) -> tuple[Lead | None, dict[str, list[str]]]:
    """Store what a visitor has typed so far. Invalid fields are left out and returned as
    errors; the valid ones are kept. Returns (lead or None, errors): None when the visitor is
    already an open lead (the final submission will count as a resubmission) or typed
    nothing usable yet."""
    try:
        cleaned = clean_lead_data(data, partial=True)
        errors: dict[str, list[str]] = {}
    except LeadDataError as exc:
        errors = exc.errors
        cleaned = clean_lead_data({k: v for k, v in data.items() if k not in errors}, partial=True)
    cleaned = {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if not cleaned:
        return None, errors
    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(form=form, form_session=form_session).first()
        if lead is not None and not lead.is_partial:
            return lead, errors  # already submitted: late field events change nothing
        if lead is None:
            if open_duplicate_of(cleaned) is not None:
                return None, errors
            data = {**cleaned, "is_partial": True, "source": cleaned.get("source") or form.source}
            prepared = prepare(data, pipeline_context([data]))
            lead = Lead(
                **prepared.fields,
                account=prepared.account,
                channel="form",
                form=form,
                form_session=form_session,
            )
            lead.save(force_insert=True)
            LeadEvent.objects.create(
                lead=lead, kind=LeadEvent.Kind.PARTIAL_CAPTURED, data={"fields": sorted(cleaned)}
            )
            return lead, errors
        changed = {k: v for k, v in cleaned.items() if getattr(lead, k) != v}
        if changed and open_duplicate_of(changed, exclude_pk=lead.pk) is not None:
            # This email or phone belongs to an open lead; the partial must not take it.
            (
                changed.pop("email", None),
                changed.pop("email_domain", None),
                changed.pop("phone", None),
            )
        if changed:
            for name, value in changed.items():
                setattr(lead, name, value)
            lead.save(update_fields=[*changed, "updated_at"])
            LeadEvent.objects.create(
                lead=lead, kind=LeadEvent.Kind.PARTIAL_UPDATED, data={"fields": sorted(changed)}
            )
        return lead, errors


_STAMPS = {"assigned": "assigned_at", "accepted": "accepted_at", "contacted": "first_touch_at"}


def a_lead(status: str) -> str:
    """ "A new lead", "An accepted lead": the status in a sentence."""
    return f"{'An' if status[:1] in 'aeiou' else 'A'} {status} lead"


def lead_transition_refusal(current: str, target: str) -> str | None:
    """Why the lifecycle refuses ``current`` → ``target``; None when it allows it."""
    allowed = TRANSITIONS.get(current, frozenset())
    if target in allowed:
        return None
    options = ", ".join(sorted(allowed)) or "none: it is closed"
    return f"{a_lead(current)} cannot become {target}. Allowed next statuses: {options}."


def lead_transition(*, lead_id: int, status: str, actor=None, reason: str = "") -> Lead:
    """Move a lead to ``status`` if the lifecycle allows it; LeadTransitionError if not.
    The owner's load counters move in the same transaction (lead row first, then the
    rep's load row: routing's lock order)."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        return _transition(lead, status, actor=actor, reason=reason)


def _transition(lead: Lead, status: str, *, actor, reason: str) -> Lead:
    if refusal := lead_transition_refusal(lead.status, status):
        raise LeadTransitionError(refusal)
    previous = lead.status
    lead.status = status
    fields = ["status", "updated_at"]
    now = timezone.now()
    stamp = _STAMPS.get(status)
    if stamp and getattr(lead, stamp) is None:
        setattr(lead, stamp, now)
        fields.append(stamp)
    if status in CLOSED_STATUSES:
        lead.closed_at = now
        fields.append("closed_at")
    lead.save(update_fields=fields)
    if lead.owner_id is not None:
        opened = (status in OPEN_STATUSES) - (previous in OPEN_STATUSES)
        rep_load_open(rep_id=lead.owner_id, delta=opened)
    LeadEvent.objects.create(
        lead=lead,
        kind=LeadEvent.Kind.STATUS_CHANGED,
        at=now,
        actor=actor,
        data={"from": previous, "to": status, "reason": reason},
    )
    announce_change(lead, "status", old=previous, new=status)
    announce_status_change(lead.pk, previous, status)
    return lead


# A lead can be given an owner while it waits (new, triage, nurture), and handed to another
# rep while it is being worked; a closed lead keeps its owner.
ASSIGNABLE_STATUSES = frozenset({"new", "triage", "nurture", "queued"})
REASSIGNABLE_STATUSES = frozenset({"assigned", "accepted", "contacted", "qualified"})


def lead_assign(
    *,
    lead: Lead,
    rep_id: int,
    actor=None,
    data: dict[str, Any] | None = None,
    rep_timezone: str | None = None,
) -> Lead:
    """Give ``lead`` to the rep ``rep_id``; the caller holds the lead's row lock (routing
    locks pool state and the reps' load rows first, then the lead) and has decided who.

    A first assignment moves the lead to ``assigned``; a reassignment moves it back to
    ``assigned`` for the new owner to accept, and records who had it. ``data`` (the
    decision's id, rule, reason) goes into the event. The load counters of both reps move
    in the same transaction (``reps.load``); ``rep_timezone``, when the caller knows it,
    saves looking up the rep's local day.
    """
    if lead.owner_id == rep_id and lead.status == "assigned":
        return lead
    if lead.status in ASSIGNABLE_STATUSES:
        kind, previous = LeadEvent.Kind.ASSIGNED, None
    elif lead.status in REASSIGNABLE_STATUSES:
        kind, previous = LeadEvent.Kind.REASSIGNED, lead.owner_id
    else:
        raise LeadTransitionError(f"{a_lead(lead.status)} cannot be assigned.")
    at = timezone.now()
    from_status, from_assigned_at = lead.status, lead.assigned_at
    from_owner = lead.owner_id
    lead.owner_id, lead.status, lead.assigned_at, lead.accepted_at = rep_id, "assigned", at, None
    lead.save(update_fields=["owner", "status", "assigned_at", "accepted_at", "updated_at"])
    if from_owner is not None:
        rep_load_loss(
            rep_id=from_owner, was_open=from_status in OPEN_STATUSES, assigned_at=from_assigned_at
        )
    if rep_timezone is None:
        rep_timezone = Rep.objects.filter(pk=rep_id).values_list("timezone", flat=True).get()
    rep_load_gain(rep_id=rep_id, zone_name=rep_timezone, at=at)
    LeadEvent.objects.create(
        lead=lead,
        kind=kind,
        at=at,
        actor=actor,
        data={"to": rep_id, "from": previous, "from_status": from_status, **(data or {})},
    )
    return lead


TOUCH_KINDS = ("call", "email", "meeting")


def lead_touch(*, lead_id: int, kind: str, note: str = "", actor=None) -> Lead:
    """Log a touch (a call, an email, a meeting) on an open lead the rep works. The first
    one stamps ``first_touch_at``; an assigned or accepted lead becomes ``contacted`` (an
    assigned one is accepted on the way: touching a lead is taking it)."""
    if kind not in TOUCH_KINDS:
        raise LeadDataError({"kind": [f"Choose one of: {', '.join(TOUCH_KINDS)}."]})
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        if lead.status not in REASSIGNABLE_STATUSES:
            raise LeadTransitionError(f"{a_lead(lead.status)} is not being worked: no touch.")
        now = timezone.now()
        LeadEvent.objects.create(
            lead=lead,
            kind=LeadEvent.Kind.TOUCHED,
            at=now,
            actor=actor,
            data={"kind": kind, "note": note.strip()[:2000]},
        )
        if lead.first_touch_at is None:
            lead.first_touch_at = now
            lead.save(update_fields=["first_touch_at", "updated_at"])
        for step in {"assigned": ("accepted", "contacted"), "accepted": ("contacted",)}.get(
            lead.status, ()
        ):
            _transition(lead, step, actor=actor, reason=f"Touch: {kind}")
        announce_change(lead, "touch", touch=kind)
        return lead


def lead_unassign(
    *, lead: Lead, status: str, actor=None, data: dict[str, Any] | None = None
) -> Lead:
    """Take the lead off its owner and put it back to wait (``queued`` for a claim queue,
    ``new`` to be routed again, ``triage``); the caller holds the lead's row lock. The
    owner's load counters move in the same transaction."""
    if status not in {"queued", "new", "triage", "nurture"}:
        raise LeadTransitionError(f"A lead cannot be put back as {status}.")
    if lead.status not in REASSIGNABLE_STATUSES | {"queued"}:
        raise LeadTransitionError(f"{a_lead(lead.status)} cannot be put back.")
    from_owner, from_status, from_assigned_at = lead.owner_id, lead.status, lead.assigned_at
    lead.owner_id, lead.status, lead.accepted_at = None, status, None
    lead.save(update_fields=["owner", "status", "accepted_at", "updated_at"])
    if from_owner is not None:
        rep_load_loss(
            rep_id=from_owner, was_open=from_status in OPEN_STATUSES, assigned_at=from_assigned_at
        )
    LeadEvent.objects.create(
        lead=lead,
        kind=LeadEvent.Kind.RELEASED,
        actor=actor,
        data={"from": from_owner, "from_status": from_status, "to_status": status, **(data or {})},
    )
    announce_change(lead, "release", old=from_status, new=status)
    return lead


def lead_update(*, lead_id: int, data: Mapping[str, Any], actor=None) -> Lead:
    """Edit a lead's fields (admin, later the lead page): validated like intake, re-scored,
    with an ``updated`` event listing each change."""
    cleaned = clean_lead_data(data, partial=True)
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        changes = {k: v for k, v in cleaned.items() if getattr(lead, k) != v}
        if not changes:
            return lead
        if open_duplicate_of(changes, exclude_pk=lead.pk) is not None and lead.is_open:
            raise LeadDataError({"email": ["Another open lead has this email or phone."]})
        before = {k: getattr(lead, k) for k in changes}
        base = _plain_fields(lead)
        merged = {**base, **changes}
        prepared = prepare(changes, pipeline_context([merged]), base=base)
        for name in ("score", "score_band"):
            changes[name] = prepared.fields[name]
        for name, value in changes.items():
            setattr(lead, name, value)
        lead.save(update_fields=[*changes, "updated_at"])
        LeadEvent.objects.create(
            lead=lead,
            kind=LeadEvent.Kind.UPDATED,
            actor=actor,
            data={"changes": {k: [str(before[k]), str(changes[k])] for k in before}},
        )
        return lead


def lead_note(*, lead_id: int, text: str, actor=None) -> LeadEvent:
    text = text.strip()
    if not text:
        raise LeadDataError({"text": ["Write something."]})
    with transaction.atomic():
        # A note is news on the lead: its updated_at moves (the rep's queue refreshes on it).
        Lead.objects.filter(pk=lead_id).update(updated_at=timezone.now())
        return LeadEvent.objects.create(
            lead_id=lead_id, kind=LeadEvent.Kind.NOTE, actor=actor, data={"text": text}
        )


def account_save(*, account: Account, domains: list[str] | None = None) -> Account:
    """Save an account with its matching key, and optionally replace its domains."""
    with transaction.atomic():
        account.name_key = normalize_company_name(account.name)
        account.save()
        if domains is not None:
            clean = sorted({domain_of(d) for d in domains} - {""})
            taken = AccountDomain.objects.filter(domain__in=clean).exclude(account=account)
            if taken.exists():
                raise LeadDataError(
                    {
                        "domains": [
                            f"{d.domain} belongs to {d.account}."
                            for d in taken.select_related("account")
                        ]
                    }
                )
            account.domains.exclude(domain__in=clean).delete()
            existing = set(account.domains.values_list("domain", flat=True))
            AccountDomain.objects.bulk_create(
                [AccountDomain(account=account, domain=d) for d in clean if d not in existing]
            )
        return account


def idempotency_purge() -> int:
    """Forget Idempotency-Keys older than LEADHUB_IDEMPOTENCY_TTL_HOURS, in batches;
    returns how many."""
    cutoff = timezone.now() - timedelta(hours=settings.LEADHUB_IDEMPOTENCY_TTL_HOURS)
    return delete_in_batches(IdempotencyRecord.objects.filter(created_at__lt=cutoff))
