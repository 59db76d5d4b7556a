"""Capturing leads: a submission cleaned, scored, deduplicated and stored (or added to the
open lead it repeats), partial form submissions, Idempotency-Keys."""

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
    OPEN_STATUSES,
    IdempotencyRecord,
    Lead,
    LeadEvent,
    WebForm,
)
from leadhub.leads.pipeline import PipelineContext, pipeline_context, prepare
from leadhub.leads.signals import (
    announce_captured,
)

Outcome = Literal["created", "duplicate", "replayed", "completed"]


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


def lead_values(lead: Lead) -> dict[str, Any]:
    """The lead's own column values (no relations), as ``pipeline_context`` and ``prepare``
    read a stored lead: the base the pipeline re-runs on."""
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
    applied = lead_resubmission_apply(lead=lead, data=fill)
    if applied.filled:
        lead.save(update_fields=[*applied.fields, "updated_at"])
    LeadEvent.objects.create(
        lead=lead,
        kind=LeadEvent.Kind.RESUBMITTED,
        actor=actor,
        data={
            "channel": channel,
            "filled": applied.filled,
            "source": data.get("source", ""),
            **applied.event,
            **(extra or {}),
        },
    )
    return lead


@dataclass
class ResubmissionApplied:
    filled: list[str]  # the blank fields the submission filled
    fields: list[str]  # every field changed on the lead: the filled ones, score, band
    event: dict[str, Any]  # the re-score, for the ``resubmitted`` event


def lead_resubmission_apply(
    *, lead: Lead, data: Mapping[str, Any], ctx: PipelineContext | None = None
) -> ResubmissionApplied:
    """What a resubmission does to ``lead``, in memory: fill its blank fields from ``data``
    (never overwriting what is known) and, when one was filled, score the whole lead again
    as capture does (a filled field may match a scoring rule). Nothing is saved: the caller
    saves ``fields`` and writes the event, one lead at a time (``lead_capture``) or a chunk
    at once (the CSV import). ``ctx`` must cover the lead as filled (``pipeline_context``
    over its ``lead_values``); by default one is loaded for it alone."""
    filled = _fill_blanks(lead, data)
    if not filled:
        return ResubmissionApplied(filled=[], fields=[], event={})
    snapshot = lead_values(lead)
    prepared = prepare({}, ctx or pipeline_context([snapshot]), base=snapshot)
    changes = {
        name: [str(getattr(lead, name)), str(prepared.fields[name])]
        for name in ("score", "score_band")
        if getattr(lead, name) != prepared.fields[name]
    }
    for name in changes:
        setattr(lead, name, prepared.fields[name])
    event: dict[str, Any] = {"score": prepared.event["score"]}
    if changes:
        event["changes"] = changes
    return ResubmissionApplied(filled=filled, fields=[*filled, *changes], event=event)


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
    base = lead_values(partial)
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


def idempotency_purge() -> int:
    """Forget Idempotency-Keys older than LEADHUB_IDEMPOTENCY_TTL_HOURS, in batches;
    returns how many."""
    cutoff = timezone.now() - timedelta(hours=settings.LEADHUB_IDEMPOTENCY_TTL_HOURS)
    return delete_in_batches(IdempotencyRecord.objects.filter(created_at__lt=cutoff))
