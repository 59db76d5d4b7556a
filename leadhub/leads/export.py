"""Leads as CSV, written by the one CSV writer (leadhub.csv_export)."""

from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from leadhub.csv_export import csv_response
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
                row.append(getattr(lead, column))
        yield row


def leads_csv_response(leads: QuerySet[Lead]) -> StreamingHttpResponse:
    """A streamed CSV download of ``leads``: memory stays flat however many there are."""
    leads = leads.select_related("owner__user", "account").order_by("pk")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return csv_response(
        lead_csv_rows(leads.iterator(chunk_size=500)), filename=f"leads-{stamp}.csv"
    )
