"""One validator for every way a lead comes in (API, web form, CSV import).

``clean_lead_data`` takes loosely typed input (JSON, form fields, CSV cells) and returns
normalised model values, or raises LeadDataError with every problem by field name.
"""

import json
import math
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal

from leadhub.leads import normalize

# Text fields kept as written (after trimming and dropping control characters).
TEXT_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "company",
    "industry",
    "state",
    "city",
    "postal_code",
    "source",
    "product_interest",
    "message",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)
# Text that may run over several lines; all other text is one line.
MULTILINE_FIELDS = frozenset({"message"})
MAX_MESSAGE_LENGTH = 10_000
LIST_FIELDS = ("pages", "intent_signals")
SPECIAL_FIELDS = (
    "email",
    "phone",
    "website",
    "employees",
    "annual_revenue",
    "country",
    "timezone",
    "language",
    "custom",
)
# Every field a sender may set, in the order forms and exports show them.
LEAD_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "title",
    "company",
    "website",
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "state",
    "city",
    "postal_code",
    "timezone",
    "language",
    "source",
    "product_interest",
    "message",
    "pages",
    "intent_signals",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "custom",
)
# Fields a hosted web form may show (structured ones are set by the form itself).
FORM_FIELDS = tuple(
    f for f in LEAD_FIELDS if f not in {"custom", "pages", "intent_signals", "source"}
)
# Fields a comparison (scoring rule, later routing rule) may name besides custom.*.
CONDITION_FIELDS = frozenset(
    {*LEAD_FIELDS, "email_domain", "employee_band", "score", "score_band", "is_partial", "channel"}
) - {"custom"}

MAX_LIST_ITEMS = 200
MAX_LIST_ITEM_LENGTH = 2_000
MAX_CUSTOM_BYTES = 16_000
# custom is the sender's own JSON: a few levels of structure, not a document. The limit
# also keeps every walk over it (ours, json.dumps, the database driver's) far from
# Python's recursion limit.
MAX_CUSTOM_DEPTH = 10
TOO_DEEP = f"Must be nested at most {MAX_CUSTOM_DEPTH} levels deep."
MAX_CUSTOM_INTEGER = 10**18  # 18 digits
# Values derived from another field: a problem with one is reported on the field sent.
DERIVED_FROM = {"email_domain": "email", "employee_band": "employees"}


@cache
def max_lengths() -> dict[str, int]:
    """The longest text each lead field can keep: its column's max_length (read from the
    model, so a migration that changes a column changes the check), and for the message,
    a TextField, MAX_MESSAGE_LENGTH. Every value clean_lead_data returns is checked
    against this, whichever field it is."""
    from django.db.models import CharField

    from leadhub.leads.models import Lead

    lengths = {
        f.name: f.max_length
        for f in Lead._meta.concrete_fields
        if isinstance(f, CharField) and f.max_length
    }
    return {**lengths, "message": MAX_MESSAGE_LENGTH}


class LeadDataError(ValueError):
    """Every problem found in one submission: {field: [reasons]}."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def _text(value: Any, *, multiline: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | list | dict):
        raise ValueError("Must be text.")
    try:
        text = str(value)
    except ValueError:  # an integer too long to print
        raise ValueError("Must be text.") from None
    return normalize.clean_text(text, multiline=multiline)


def _scalar(value: Any) -> Any:
    """A value for a parser that also takes numbers: text is checked like any text."""
    return _text(value) if isinstance(value, str) else value


def _list(value: Any, field: str) -> list[str]:
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str | int) for i in items):
        raise ValueError("Must be a list of text items (or one comma-separated text).")
    cleaned = [text for text in map(_text, items) if text]
    if field == "intent_signals":
        cleaned = list(dict.fromkeys(normalize.normalize_signal(i) for i in cleaned))
    if len(cleaned) > MAX_LIST_ITEMS:
        raise ValueError(f"At most {MAX_LIST_ITEMS} items.")
    if any(len(i) > MAX_LIST_ITEM_LENGTH for i in cleaned):
        raise ValueError(f"An item is longer than {MAX_LIST_ITEM_LENGTH:,} characters.")
    return cleaned


def _check_json(value: Any, depth: int = 1) -> None:
    """Refuse what a JSON column cannot keep or give back: non-text keys, NUL and lone
    surrogates, NaN and infinities, integers past MAX_CUSTOM_INTEGER (Python will not
    parse very long ones back), and nesting past MAX_CUSTOM_DEPTH."""
    if isinstance(value, dict | list) and depth > MAX_CUSTOM_DEPTH:
        raise ValueError(TOO_DEEP)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("Keys must be text.")
            normalize.refuse_unstorable(key)
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)
    elif isinstance(value, str):
        normalize.refuse_unstorable(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("Numbers must be finite (no NaN or Infinity).")
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= MAX_CUSTOM_INTEGER:
            raise ValueError("Whole numbers may have at most 18 digits.")
    elif value is not None and not isinstance(value, bool):
        raise ValueError("Must hold only JSON values.")


def check_custom_value(value: Any) -> None:
    """Refuse a value that could not be kept as one key of ``custom`` (the same rules as
    the whole of custom, one level down)."""
    _check_json(value, depth=2)


def _custom(value: Any, extra: dict[str, Any]) -> dict:
    if value is None or value == "":
        value = {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except RecursionError:
            raise ValueError(TOO_DEEP) from None
        except ValueError:
            raise ValueError("Must be a JSON object.") from None
    if not isinstance(value, dict):
        raise ValueError("Must be a JSON object.")
    value = {**value, **extra}
    _check_json(value)
    if len(json.dumps(value)) > MAX_CUSTOM_BYTES:
        raise ValueError(f"At most {MAX_CUSTOM_BYTES:,} characters of JSON.")
    return value


def _check_lengths(out: Mapping[str, Any], errors: dict[str, list[str]]) -> None:
    """The one length rule: no value may be longer than its column keeps."""
    limits = max_lengths()
    for field, value in out.items():
        limit = limits.get(field)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            reasons = errors.setdefault(DERIVED_FROM.get(field, field), [])
            reason = f"At most {limit:,} characters."
            if reason not in reasons:
                reasons.append(reason)


def echo_key(key: Any) -> Any:
    """A sender's key as it can be echoed in an error (lone surrogates escaped)."""
    if isinstance(key, str):
        return key.encode("utf-8", "backslashreplace").decode()
    return key


def clean_lead_data(
    raw: Mapping[str, Any],
    *,
    partial: bool = False,
    unknown: Literal["error", "custom"] = "error",
) -> dict[str, Any]:
    """Validate and normalise one submission.

    Only fields present in ``raw`` appear in the result (so a partial update touches only
    what was sent), plus the derived ``email_domain`` and ``employee_band``. Unless
    ``partial``, a lead needs an email or a phone number: without one nobody can answer it.
    ``unknown="custom"`` files unrecognised keys under ``custom`` (CSV columns) instead of
    rejecting them (API).
    """
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    extra: dict[str, Any] = {}

    def attempt(field: str, fn) -> None:
        try:
            out[field] = fn()
        except ValueError as exc:
            errors.setdefault(field, []).append(str(exc))

    for key in raw:
        if key not in LEAD_FIELDS:
            if unknown == "custom":
                extra[key] = raw[key]
            else:
                errors.setdefault(echo_key(key), []).append("Unknown field.")

    for field in TEXT_FIELDS:
        if field in raw:
            attempt(field, lambda f=field: _text(raw[f], multiline=f in MULTILINE_FIELDS))
    if "source" in out:
        out["source"] = normalize.normalize_signal(out["source"])
    for field in LIST_FIELDS:
        if field in raw:
            attempt(field, lambda f=field: _list(raw[f], f))
    if "custom" in raw or extra:
        attempt("custom", lambda: _custom(raw.get("custom"), extra))

    if "email" in raw:
        attempt(
            "email",
            lambda: normalize.normalize_email(_text(raw["email"])) if _text(raw["email"]) else "",
        )
        if "email" in out:
            out["email_domain"] = normalize.email_domain(out["email"])
    if "website" in raw:
        attempt("website", lambda: normalize.normalize_website(_text(raw["website"])))
    if "employees" in raw:
        attempt("employees", lambda: normalize.parse_employees(_scalar(raw["employees"])))
        if "employees" in out:
            out["employee_band"] = normalize.employee_band(out["employees"])
    if "annual_revenue" in raw:
        attempt("annual_revenue", lambda: normalize.parse_money(_scalar(raw["annual_revenue"])))
    if "country" in raw:
        attempt("country", lambda: normalize.normalize_country(_text(raw["country"])))
    if "timezone" in raw:
        attempt("timezone", lambda: normalize.normalize_timezone(_text(raw["timezone"])))
    if "language" in raw:
        attempt("language", lambda: normalize.normalize_language(_text(raw["language"])))
    country = out.get("country", "")
    if "state" in out and country:
        out["state"] = normalize.normalize_state(out["state"], country)
    if "phone" in raw:
        attempt("phone", lambda: normalize.normalize_phone(_text(raw["phone"]), country))
    _check_lengths(out, errors)

    no_contact = not out.get("email") and not out.get("phone")
    if not partial and no_contact and "email" not in errors and "phone" not in errors:
        errors["email"] = ["Give an email address or a phone number."]
    if errors:
        raise LeadDataError(errors)
    return out
