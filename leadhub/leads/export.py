"""Leads as CSV: streaming rows safe to open in a spreadsheet."""

import csv
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from leadhub.leads.intake import LEAD_FIELDS
from leadhub.leads.models import Lead

EXPORT_COLUMNS = [
    "id",
    *LEAD_FIELDS,
    "email_domain",
    "employee_band",
    "status",
    "score",
    "score_band",
    "owner",
    "account",
    "channel",
    "is_partial",
    "captured_at",
]
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HARMLESS_NUMBER = re.compile(r"[+-]?[\d .()/-]*")


class Echo:
    """A file-like object for csv.writer that hands each row back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder) if value else ""
    elif hasattr(value, "isoformat"):
        return value.isoformat()
    # Phone numbers (+4930…) and negative numbers stay as they are; anything else that a
    # spreadsheet would evaluate is kept as text.
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_START)
        and not HARMLESS_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def lead_csv_rows(leads: Iterable[Lead]) -> Iterator[list[Any]]:
    yield EXPORT_COLUMNS
    for lead in leads:
        row = []
        for column in EXPORT_COLUMNS:
            if column == "owner":
                row.append(lead.owner.display_name if lead.owner else "")
            elif column == "account":
                row.append(lead.account.name if lead.account else "")
            else:
                row.append(csv_cell(getattr(lead, column)))
        yield row


def leads_csv_response(leads: QuerySet[Lead]) -> StreamingHttpResponse:
    """A streamed CSV download of ``leads``: memory stays flat however many there are."""
    leads = leads.select_related("owner__user", "account").order_by("pk")
    writer = csv.writer(Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in lead_csv_rows(leads.iterator(chunk_size=500))),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
    return response
