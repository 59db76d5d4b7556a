"""Forgiving intake: a body in the shape another tool sends, read as lead fields.

An intake key's sender (a HubSpot form, a Zapier or Make webhook, Marketo) names fields its
own way and may wrap them: ``{"properties": {"email": {"value": …}}}``,
``{"fields": [{"name": "email", "value": …}]}``, flat ``firstname`` or form-encoded
``FirstName``. ``translate`` unwraps those shapes and maps each name to a lead field through
the key's own mapping, then the standard aliases (the CSV importer's ``HEADER_ALIASES``:
one list for both), then the field's own name. What it cannot map is kept in ``custom``
or, for a strict key, refused as today. Every value is then cleaned by
``intake.clean_lead_data`` as usual; ``sender_errors`` names each problem by the sender's
own field (``properties.email``), so the sender can find it.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leadhub.leads import normalize
from leadhub.leads.importer import HEADER_ALIASES, HEADER_FIELDS, normalize_header
from leadhub.leads.intake import (
    LEAD_FIELDS,
    LeadDataError,
    check_custom_value,
    clean_lead_data,
    echo_key,
)

# What a sender's field may be mapped to: a lead field; custom, which keeps it in the
# lead's custom data under its own name (so a standard alias can be turned off, and a strict
# key can accept a field it does not map); or ignore, for the bulk a tool sends that no one
# reads (HubSpot's form-submissions and identity-profiles would fill custom's 16 kB).
KEEP_IN_CUSTOM = "custom"
IGNORE = "ignore"
MAPPABLE_FIELDS = (*(f for f in LEAD_FIELDS if f != "custom"), KEEP_IN_CUSTOM, IGNORE)
MAX_MAP_ENTRIES = 200
MAX_NAME_LENGTH = 200


@dataclass
class Translated:
    """Lead fields by name (``custom`` for unmapped ones), where each came from, and the
    problems found before cleaning."""

    data: dict[str, Any] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def check(self) -> None:
        """Raise LeadDataError (keyed by lead field, as clean_lead_data's) when a problem
        was found here, with whatever cleaning finds too, so the sender sees every problem
        in one answer."""
        if self.errors:
            clean_lead_data(self.data, unknown="custom")
            raise LeadDataError({})

    def sender_errors(self, errors: Mapping[str, list[str]]) -> dict[str, list[str]]:
        """``errors`` from clean_lead_data, keyed by the sender's field names, with the
        problems found here first."""
        out = {key: list(reasons) for key, reasons in self.errors.items()}
        for name, reasons in errors.items():
            out.setdefault(self.origin.get(name, name), []).extend(reasons)
        return out


def default_field_map() -> dict[str, str]:
    """The standard aliases as a mapping (sender name → lead field): what a key without a
    mapping of its own understands, besides the lead fields' own names."""
    return {
        alias: name
        for name, aliases in HEADER_ALIASES.items()
        if name != "custom"
        for alias in aliases
    }


def clean_field_map(value: Any) -> dict[str, str]:
    """A key's mapping as an admin typed it, checked: a JSON object of sender field names
    to lead fields (or "custom", or "ignore"). Raises ValueError with every problem."""
    if not isinstance(value, dict):
        raise ValueError('Must be a JSON object: {"sender field": "lead field"}.')
    if len(value) > MAX_MAP_ENTRIES:
        raise ValueError(f"At most {MAX_MAP_ENTRIES} fields.")
    problems: list[str] = []
    seen: dict[str, str] = {}
    out: dict[str, str] = {}
    for name, target in value.items():
        shown = echo_key(name)
        try:
            normalize.refuse_unstorable(name)
        except ValueError as exc:
            problems.append(f"{shown!r}: {exc}")
            continue
        key = normalize_header(name)
        if not key:
            problems.append("A sender field name is empty.")
        elif len(name) > MAX_NAME_LENGTH:
            problems.append(f"{shown[:40]!r}…: at most {MAX_NAME_LENGTH} characters.")
        elif not isinstance(target, str) or target not in MAPPABLE_FIELDS:
            problems.append(
                f"{shown!r}: {echo_key(target)!r} is not a lead field "
                f"(one of {', '.join(MAPPABLE_FIELDS)})."
            )
        elif key in seen and out[seen[key]] != target:
            problems.append(f"{shown!r} and {seen[key]!r} are the same name mapped twice.")
        else:
            seen[key] = name
            out[name] = target
    if problems:
        raise ValueError(" ".join(problems))
    return out


def _unwrap(body: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """(name, path, value) for each field sent, HubSpot's wrappers removed."""
    items: list[tuple[str, str, Any]] = []
    for key, value in body.items():
        if key == "properties" and isinstance(value, dict):
            # HubSpot contacts: {"email": {"value": "…", "versions": […]}} or {"email": "…"}
            for name, prop in value.items():
                if isinstance(prop, dict) and "value" in prop:
                    prop = prop["value"]
                items.append((name, f"properties.{name}", prop))
        elif key in ("fields", "properties") and _is_name_value_list(value):
            # HubSpot forms: [{"name": "email", "value": "…"}]; contacts v1 writes
            # [{"property": "email", "value": "…"}]. A checkbox sends one item per choice,
            # joined here with ";" as HubSpot itself shows them.
            joined: dict[str, list[Any]] = {}
            for item in value:
                joined.setdefault(item.get("name", item.get("property")), []).append(item["value"])
            for name, values in joined.items():
                one = values[0] if len(values) == 1 else ";".join(map(str, values))
                items.append((name, f"{key}.{name}", one))
        else:
            items.append((key, key, value))
    return items


def _is_name_value_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(item, dict)
            and isinstance(item.get("name", item.get("property")), str)
            and "value" in item
            for item in value
        )
    )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def translate(body: Mapping[str, Any], *, field_map: Mapping[str, str], strict: bool) -> Translated:
    """``body`` as lead fields for clean_lead_data(unknown="custom").

    Names are compared as the CSV import compares headers (case, spaces, dashes and
    underscores ignored). Two of the sender's fields that fill the same lead field with
    different values: the first is kept, the second goes to custom (strict: refused).
    """
    own = (
        {normalize_header(name): target for name, target in field_map.items()}
        if isinstance(field_map, Mapping)  # a row edited by hand in the database: ignored
        else {}
    )
    result = Translated()
    for name, path, value in _unwrap(body):
        try:
            normalize.refuse_unstorable(name)
        except ValueError as exc:
            result.errors.setdefault(echo_key(path), []).append(f"Field name: {exc}")
            continue
        key = normalize_header(name)
        if own.get(key) == IGNORE:
            continue
        kept = own.get(key) == KEEP_IN_CUSTOM
        target = None if kept else own.get(key) or HEADER_FIELDS.get(key)
        if target is not None and target in result.data:
            first = result.data[target]
            if value == first or _blank(value):
                continue
            if _blank(first):
                result.data[target], result.origin[target] = value, path
                continue
            if strict:
                result.errors.setdefault(path, []).append(
                    f"Also sent as {result.origin[target]}; send one."
                )
                continue
            target = None
        if target is not None:
            result.data[target], result.origin[target] = value, path
        elif strict and not kept:
            result.errors.setdefault(echo_key(path), []).append("Unknown field.")
        else:
            custom_key = (
                name if name not in LEAD_FIELDS and name not in result.data else f"also.{path}"
            )
            try:
                check_custom_value(value)
            except ValueError as exc:
                result.errors.setdefault(echo_key(path), []).append(str(exc))
                continue
            result.data[custom_key] = value
            result.origin[custom_key] = path
    return result
