"""The one CSV writer of every export (the lead export, the dashboard's tables): rows are
streamed, and every cell is made safe to open in a spreadsheet.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula (CSV injection, OWASP): such a cell is written with a leading ``'`` so it
stays text. Phone numbers (``+4930…``) and negative numbers are left as they are.
"""

import csv
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HARMLESS_NUMBER = re.compile(r"[+-]?[\d .()/-]*")


class _Echo:
    """A file-like object for csv.writer that hands each row back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value: Any) -> Any:
    """One value as a CSV cell: empty for None, ISO 8601 for dates and times, lists joined
    by commas, dicts as JSON, and text a spreadsheet would evaluate kept as text."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder) if value else ""
    elif hasattr(value, "isoformat"):
        return value.isoformat()
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_START)
        and not HARMLESS_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Each row (the header too) as one line of CSV, every cell through ``csv_cell``."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_response(rows: Iterable[Iterable[Any]], *, filename: str) -> StreamingHttpResponse:
    """A streamed CSV download of ``rows``: memory stays flat however many there are."""
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
