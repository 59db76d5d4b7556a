"""One validator for every way a lead comes in (API, web form, CSV import).

``clean_lead_data`` takes loosely typed input (JSON, form fields, CSV cells) and returns
normalised model values, or raises LeadDataError with every problem by field name.
"""

from collections.abc import Mapping
from typing import Any, Literal

from leadhub.leads import normalize

TEXT_FIELDS = {
    "first_name": 100,
    "last_name": 100,
    "title": 150,
    "company": 200,
    "industry": 100,
    "state": 100,
    "city": 100,
    "postal_code": 20,
    "source": 100,
    "product_interest": 100,
    "message": 10_000,
    "utm_source": 100,
    "utm_medium": 100,
    "utm_campaign": 100,
}
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
MAX_CUSTOM_BYTES = 16_000


class LeadDataError(ValueError):
    """Every problem found in one submission: {field: [reasons]}."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | list | dict):
        raise ValueError("Must be text.")
    text = str(value).strip()
    if "\x00" in text:
        raise ValueError("Null characters are not allowed.")
    return text


def _list(value: Any, field: str) -> list[str]:
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str | int) for i in items):
        raise ValueError("Must be a list of text items (or one comma-separated text).")
    cleaned = [str(i).strip() for i in items if str(i).strip()]
    if field == "intent_signals":
        cleaned = list(dict.fromkeys(normalize.normalize_signal(i) for i in cleaned))
    if len(cleaned) > MAX_LIST_ITEMS:
        raise ValueError(f"At most {MAX_LIST_ITEMS} items.")
    if any(len(i) > 2000 for i in cleaned):
        raise ValueError("An item is longer than 2,000 characters.")
    return cleaned


def _custom(value: Any) -> dict:
    import json

    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("Must be a JSON object.") from None
    if not isinstance(value, dict):
        raise ValueError("Must be a JSON object.")
    if len(json.dumps(value)) > MAX_CUSTOM_BYTES:
        raise ValueError(f"At most {MAX_CUSTOM_BYTES:,} characters of JSON.")
    return value


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
                errors.setdefault(key, []).append("Unknown field.")

    for field, max_length in TEXT_FIELDS.items():
        if field in raw:
            attempt(field, lambda f=field: _text(raw[f]))
            if len(out.get(field, "")) > max_length:
                errors.setdefault(field, []).append(f"At most {max_length:,} characters.")
    if "source" in out:
        out["source"] = normalize.normalize_signal(out["source"])
    for field in LIST_FIELDS:
        if field in raw:
            attempt(field, lambda f=field: _list(raw[f], f))
    if "custom" in raw or extra:
        attempt("custom", lambda: {**_custom(raw.get("custom")), **extra})

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
        attempt("employees", lambda: normalize.parse_employees(raw["employees"]))
        if "employees" in out:
            out["employee_band"] = normalize.employee_band(out["employees"])
    if "annual_revenue" in raw:
        attempt("annual_revenue", lambda: normalize.parse_money(raw["annual_revenue"]))
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
    if len(out.get("phone", "")) > 40:
        errors.setdefault("phone", []).append("At most 40 characters.")

    no_contact = not out.get("email") and not out.get("phone")
    if not partial and no_contact and "email" not in errors and "phone" not in errors:
        errors["email"] = ["Give an email address or a phone number."]
    if errors:
        raise LeadDataError(errors)
    return out
