"""CSV import: stream a spreadsheet of leads through the same validation, dedupe and
pipeline as the API, in chunks, with a per-row error report.

The file is never held in memory: rows are read one at a time and stored ``CHUNK_SIZE`` at
a time, each chunk in its own transaction with a fixed number of queries (one dedupe
lookup, one ``pipeline_context``, bulk inserts). A bad row is reported by its spreadsheet
row number (the header is row 1) and skipped; the good rows are kept, whatever went wrong
in the bad one: a cell the cleaning refuses or cannot read, a broken quote, too many
cells, or a value the database refuses (the chunk is then redone one row at a time, each
in a savepoint, so that only that row is lost and the transaction stays usable).

Dedupe follows ``services.lead_capture`` row for row: a row whose email (any case) or
phone belongs to an open lead, or to an earlier row of the same file, creates no lead but
a ``resubmitted`` event on that lead, fills its blank fields and re-scores it
(``services.lead_resubmission_apply``, the path ``lead_capture`` takes).
"""

import codecs
import csv
import io
import itertools
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from leadhub.leads.intake import LEAD_FIELDS, LeadDataError, clean_lead_data
from leadhub.leads.models import OPEN_STATUSES, Lead, LeadEvent
from leadhub.leads.normalize import normalize_signal
from leadhub.leads.pipeline import pipeline_context, prepare
from leadhub.leads.services import lead_capture, lead_resubmission_apply, lead_values
from leadhub.leads.signals import announce_captured

logger = logging.getLogger(__name__)

CHUNK_SIZE = 500
# The report keeps this many (row, field, reason) entries; further ones are only counted.
MAX_ERRORS = 1_000
CHANNEL = "import"

# The header names people use for each lead field, besides the field's own name. Matching
# ignores case, surrounding spaces, and spaces, dashes and underscores inside the name, so
# "E-mail", "e_mail" and "EMAIL" are the same header. docs/import.md lists this table.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("E-mail", "Email Address", "E-mail Address", "Work Email", "Business Email"),
    "first_name": ("First Name", "Given Name", "Forename"),
    "last_name": ("Last Name", "Surname", "Family Name"),
    "phone": (
        "Phone Number",
        "Mobile",
        "Mobile Phone",
        "Mobile Number",
        "Cell",
        "Cell Phone",
        "Telephone",
        "Tel",
        "Work Phone",
    ),
    "title": ("Job Title", "Position", "Job Position"),
    "company": (
        "Company Name",
        "Organisation",
        "Organization",
        "Organisation Name",
        "Organization Name",
        "Account Name",
        "Account",
    ),
    "website": ("Web Site", "Company Website", "Website URL", "URL", "Homepage"),
    "industry": ("Sector", "Vertical"),
    "employees": (
        "No. of Employees",
        "Number of Employees",
        "Employee Count",
        "Company Size",
        "Headcount",
    ),
    "annual_revenue": ("Annual Revenue", "Revenue"),
    "country": ("Country Code", "Country/Region", "Country or Region"),
    "state": ("State/Province", "State or Province", "Province", "Region"),
    "city": ("Town", "Locality"),
    "postal_code": ("Zip", "Zip Code", "Postcode", "Postal Code"),
    "timezone": ("Time Zone", "TZ"),
    "language": ("Preferred Language", "Language Code"),
    "source": ("Lead Source",),
    "product_interest": ("Product Interest", "Product", "Interested In"),
    "message": ("Comments", "Comment", "Notes", "Note", "Description"),
    "pages": ("Pages Viewed", "Page Views"),
    "intent_signals": ("Intent Signals", "Intent", "Signals"),
    "utm_source": ("UTM Source", "Campaign Source"),
    "utm_medium": ("UTM Medium", "Campaign Medium"),
    "utm_campaign": ("UTM Campaign", "Campaign Name", "Campaign"),
    "custom": ("Custom Fields",),
}

_HEADER_NOISE = re.compile(r"[\s_\-]+")


def normalize_header(header: str) -> str:
    """'  E-mail Address ' → 'emailaddress': the form headers are compared in."""
    return _HEADER_NOISE.sub("", header.replace("\ufeff", "").strip().lower())


HEADER_FIELDS: dict[str, str] = {
    **{
        normalize_header(alias): name
        for name, aliases in HEADER_ALIASES.items()
        for alias in aliases
    },
    # A field's own name always works, whatever the aliases say.
    **{normalize_header(name): name for name in LEAD_FIELDS},
}


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (not text, no header, no contact column...);
    nothing was written."""


class RowError(NamedTuple):
    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        if self.field:
            return f"row {self.row}: {self.field}: {self.reason}"
        return f"row {self.row}: {self.reason}"


@dataclass
class ImportReport:
    # Data rows read (blank rows not counted): imported + duplicates + failed.
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_not_shown: int = 0
    warnings: list[str] = field(default_factory=list)
    # (header as written, where its values go: a lead field or "custom").
    columns: list[tuple[str, str]] = field(default_factory=list)
    dry_run: bool = False

    def add_failure(self, row: int, problems: Iterable[tuple[str, str]]) -> None:
        self.failed += 1
        for field_name, reason in problems:
            if len(self.errors) < MAX_ERRORS:
                self.errors.append(RowError(row, field_name, reason))
            else:
                self.errors_not_shown += 1


@dataclass
class _Row:
    number: int
    raw: dict[str, str]
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class _Target:
    """A lead rows can be resubmissions of: an open lead already stored, or a new row of
    this chunk (``lead`` is then built after the pipeline ran)."""

    email: str
    phone: str
    lead: Lead | None = None
    row: _Row | None = None


@dataclass
class _Columns:
    # (cell index, key in the row dict: a lead field, or the header for custom)
    keys: list[tuple[int, str]]
    # lead field → header as written, to name the column in errors
    headers: dict[str, str]
    width: int
    # headers of the columns stored under custom
    custom: frozenset[str] = frozenset()


# Encodings come from the standard library's codecs. A byte-order mark is read as what it
# says (it is unambiguous, and Excel writes one for "CSV UTF-8" and "Unicode Text"); any
# other encoding than UTF-8 must be named. A statistical detector (charset-normalizer,
# chardet) was considered and left out: on a short file of names it cannot tell cp1252,
# Latin-1 and Mac Roman apart, and a wrong guess would store every accented name garbled
# without a word, where a refusal that names the line costs the user one choice in a form.
_BOMS = (
    # UTF-32's marks first: UTF-32-LE's begins with UTF-16-LE's.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# What people upload instead of a CSV file, by the bytes it starts with.
_NOT_CSV = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zip archive"),
    (bytes.fromhex("d0cf11e0a1b11ae1"), "an old Excel workbook (.xls)"),
)
_SAVE_AS = "In Excel use Save As, 'CSV UTF-8 (Comma delimited)', and import that file."


def open_csv(binary: IO[bytes], *, encoding: str = "utf-8") -> IO[str]:
    """Text stream over an uploaded or opened file, checked to decode first.

    A seekable file is decoded once in blocks before the import starts, so a wrongly
    encoded file is refused whole instead of failing half-way with some chunks stored.
    A byte-order mark (UTF-8, UTF-16 or UTF-32) decides the encoding, whatever was named,
    and is dropped. A spreadsheet workbook, or a file full of NUL bytes (UTF-16 without
    a byte-order mark, or not text at all), is refused with a hint.
    """
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise ImportFileError(f"Unknown encoding {encoding!r}.") from None
    name = "utf-8-sig" if codec.name in ("utf-8", "utf-8-sig") else codec.name
    if binary.seekable():
        name = _sniff(binary.read(4096), name)
        binary.seek(0)
        _check_decodes(binary, name)
        binary.seek(0)
    return io.TextIOWrapper(binary, encoding=name, newline="")


def _sniff(start: bytes, encoding: str) -> str:
    """The encoding to read a file starting with ``start`` in, or ImportFileError."""
    for bom, bom_encoding in _BOMS:
        if start.startswith(bom):
            return bom_encoding
    for magic, what in _NOT_CSV:
        if start.startswith(magic):
            raise ImportFileError(f"The file is {what}, not CSV text. {_SAVE_AS}")
    wide = encoding.startswith(("utf-16", "utf-32"))
    if not wide and start.count(0) > len(start) // 4:
        raise ImportFileError(
            "The file is full of NUL bytes, so it is not CSV text: it is UTF-16 without a "
            f"byte-order mark, or not a text file at all. {_SAVE_AS}"
        )
    return encoding


def _check_decodes(binary: IO[bytes], encoding: str) -> None:
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    line = 1
    while block := binary.read(1 << 16):
        try:
            decoder.decode(block)
        except UnicodeDecodeError as exc:
            line += block.count(b"\n", 0, exc.start)
            raise ImportFileError(_decode_message(encoding, offset + exc.start, line)) from None
        offset += len(block)
        line += block.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ImportFileError(_decode_message(encoding, offset, line)) from None


def _decode_message(encoding: str, offset: int, line: int) -> str:
    label = "UTF-8" if encoding == "utf-8-sig" else encoding
    return (
        f"The file is not {label} text (a byte it cannot read on line {line:,}, at offset "
        f"{offset:,}). Save it as 'CSV UTF-8', or name its encoding (e.g. cp1252 for "
        "Excel's plain 'CSV' on Windows, latin-1 for ISO-8859-1)."
    )


def lead_import_csv(
    *,
    file: Iterable[str],
    source: str = "",
    actor=None,
    dry_run: bool = False,
    chunk_size: int = CHUNK_SIZE,
) -> ImportReport:
    """Import every row of a CSV text stream; see the module docstring.

    ``file`` is iterated line by line (a text file opened with ``newline=""``, or
    ``open_csv``'s stream); it is never read whole. ``source`` is set on rows without one.
    ``dry_run`` runs everything, counts what would happen, and rolls it all back.
    Raises ImportFileError, with nothing written, when the file cannot be imported at all.
    """
    report = ImportReport(dry_run=dry_run)
    default_source = normalize_signal(source) if source else ""
    if len(default_source) > 100:
        raise ImportFileError("The source is longer than 100 characters.")
    lines = iter(file)
    try:
        header, header_number, delimiter = _header(lines)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The file's header cannot be decoded as text: {exc.reason}."
        ) from None
    columns = _map_columns(header, report)
    if not any(key in ("email", "phone") for _, key in columns.keys):
        raise ImportFileError(
            "No email or phone column: a lead needs one of them. Columns found: "
            f"{', '.join(h.strip() for h in header if h.strip())}. "
            "See docs/import.md for the header names that are recognised."
        )
    rows = _rows(lines, delimiter, columns, header_number, report)
    with transaction.atomic() if dry_run else nullcontext():
        while chunk := list(itertools.islice(rows, chunk_size)):
            _import_chunk(chunk, columns, default_source=default_source, actor=actor, report=report)
        if not report.rows:
            report.warnings.append("The file has a header but no data rows.")
        if dry_run:
            transaction.set_rollback(True)
    return report


def _header(lines: Iterator[str]) -> tuple[list[str], int, str]:
    """The header cells, its row number and the delimiter; ``lines`` is left on the first
    data row. The delimiter is the header's most frequent of , ; and tab (European Excel
    writes ;)."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            delimiter = max((",", ";", "\t"), key=line.count)
            if not line.count(delimiter):
                delimiter = ","
            # csv.reader takes one line at a time, so ``lines`` is not read past the header.
            reader = csv.reader(itertools.chain([line], lines), delimiter=delimiter, strict=True)
            try:
                header = next(reader)
            except csv.Error as exc:
                raise ImportFileError(
                    f"The header row cannot be read ({exc}): is a quote in it not closed?"
                ) from None
            if any("\x00" in cell for cell in header):
                raise ImportFileError(
                    "The header row has NUL characters in it: is the file really CSV text? "
                    + _SAVE_AS
                )
            return header, number, delimiter
    raise ImportFileError("The file is empty: it needs a header row and one row per lead.")


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _map_columns(header: list[str], report: ImportReport) -> _Columns:
    keys: list[tuple[int, str]] = []
    headers: dict[str, str] = {}
    seen: dict[str, int] = {}
    unknown: list[str] = []
    unnamed: list[str] = []
    for index, cell in enumerate(header):
        text = cell.replace("\ufeff", "").strip()
        if not text:
            unnamed.append(_column_letter(index))
            continue
        name = HEADER_FIELDS.get(normalize_header(text))
        # Two columns for one field, or two with one header, would make one of them
        # silently lose its values: refuse and say which.
        key = name or text
        if key in seen:
            first = seen[key]
            raise ImportFileError(
                f"Columns {_column_letter(first)} ({header[first].strip()}) and "
                f"{_column_letter(index)} ({text}) both hold {key}. Remove or rename one."
            )
        seen[key] = index
        keys.append((index, key))
        if name:
            headers[name] = text
            report.columns.append((text, name))
        else:
            unknown.append(text)
            report.columns.append((text, "custom"))
    if unknown:
        report.warnings.append(
            f"Columns not recognised, stored under custom by their header: {', '.join(unknown)}."
        )
    if unnamed:
        report.warnings.append(f"Columns without a header are ignored: {', '.join(unnamed)}.")
    return _Columns(keys=keys, headers=headers, width=len(header), custom=frozenset(unknown))


class _RecordLines:
    """The file's lines for csv.reader, keeping those of the row being read: when a quote
    that is never closed has swallowed the lines after it, they are read again as rows."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.record: list[str] = []
        self.ended = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        try:
            line = next(self.lines)
        except StopIteration:
            self.ended = True
            raise
        self.record.append(line)
        return line


def _rows(
    lines: Iterator[str],
    delimiter: str,
    columns: _Columns,
    header_number: int,
    report: ImportReport,
) -> Iterator[_Row]:
    """Data rows as {key: stripped non-blank cell}, numbered as a spreadsheet shows them.
    Blank rows are skipped; a row that cannot be read (a quote not closed, a character
    after a closing quote) or that has more cells than the header is reported and counted
    in ``report.rows`` like every other data row."""
    source = _RecordLines(lines)
    # strict: a broken quote is an error to report, not a cell that runs on silently.
    reader = csv.reader(source, delimiter=delimiter, strict=True)
    number = header_number
    while True:
        number += 1
        source.record = []
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.rows += 1
            report.add_failure(number, [("", _unreadable(exc, source))])
            if swallowed := source.record[1:]:
                source = _RecordLines(itertools.chain(swallowed, source.lines))
                reader = csv.reader(source, delimiter=delimiter, strict=True)
            continue
        except UnicodeDecodeError as exc:
            # Only a stream open_csv could not check ahead (not seekable) gets here.
            report.rows += 1
            report.add_failure(
                number,
                [
                    (
                        "",
                        f"The file cannot be decoded as text from here on ({exc.reason}), so "
                        "the rest of it was not imported. Save it as 'CSV UTF-8' and import "
                        "it again: rows already imported will count as duplicates.",
                    )
                ],
            )
            return
        if not any(c.strip() for c in cells):
            continue
        report.rows += 1
        # A short row is taken as cells left off at the end (many programs write rows so):
        # the missing ones are blank. A long row cannot be matched to the columns.
        if len(cells) > columns.width and any(c.strip() for c in cells[columns.width :]):
            report.add_failure(
                number,
                [
                    (
                        "",
                        f"The row has {len(cells)} cells but the header has "
                        f"{columns.width} columns (a comma in a value without quotes?).",
                    )
                ],
            )
            continue
        raw = {}
        for index, key in columns.keys:
            if index < len(cells) and (value := cells[index].strip()):
                raw[key] = value
        yield _Row(number, raw)


def _unreadable(exc: csv.Error, source: _RecordLines) -> str:
    if source.ended:
        reason = "A quote opens a cell in this row and is never closed."
    else:
        reason = f"Cannot read this row: {exc}."
    if len(source.record) > 1:
        reason += (
            f" The {len(source.record) - 1:,} lines after its first were read again as rows "
            "of their own."
        )
    return reason


def _import_chunk(
    chunk: list[_Row], columns: _Columns, *, default_source: str, actor, report: ImportReport
) -> None:
    valid = []
    for row in chunk:
        if problems := _clean(row, columns):
            report.add_failure(row.number, problems)
            continue
        if default_source and not row.data.get("source"):
            row.data["source"] = default_source
        valid.append(row)
    if not valid:
        return
    try:
        with transaction.atomic():
            created, duplicates = _store(valid, actor=actor)
    except Exception as exc:
        # IntegrityError: another intake stored one of these people between our lookup and
        # our insert. Anything else: a row the checks above let through and the database
        # (or its driver) refused. The chunk was rolled back; redo it one row at a time,
        # as the API would, so that only the row to blame is lost.
        if not isinstance(exc, IntegrityError):
            logger.warning("Import chunk refused, redone row by row: %r", exc)
        created, duplicates = _store_one_by_one(
            valid, default_source=default_source, actor=actor, report=report
        )
    report.imported += created
    report.duplicates += duplicates


def _clean(row: _Row, columns: _Columns) -> list[tuple[str, str]]:
    """Fill ``row.data`` from its cells; the row's problems as (column, reason)."""
    try:
        row.data = clean_lead_data(row.raw, unknown="custom")
    except LeadDataError as exc:
        problems = []
        for name, reasons in exc.errors.items():
            column = columns.headers.get(name, name)
            if name == "custom":
                # custom also holds the columns the importer does not know: name the one
                # to blame when a single one is.
                custom = [key for key in row.raw if key == "custom" or key in columns.custom]
                column = _column_to_blame(row.raw, custom, columns) or column
            problems += [(column, reason) for reason in reasons]
        return problems
    except Exception as exc:
        # A cell the cleaning did not expect is this row's problem, not the file's. Logged:
        # the cleaning should have said what is wrong with it.
        logger.exception("Import row %s: the cleaning raised", row.number)
        column = _column_to_blame(row.raw, list(row.raw), columns)
        return [(column, f"Cannot read this value ({exc!r:.80}).")]
    return []


def _column_to_blame(raw: dict[str, str], keys: list[str], columns: _Columns) -> str:
    """The header of the first of ``keys`` whose cell alone fails the cleaning; "" if none
    does by itself (then the row as a whole is to blame)."""
    for key in keys:
        try:
            clean_lead_data({key: raw[key]}, partial=True, unknown="custom")
        except Exception:
            return columns.headers.get(key, key)
    return ""


def _store(rows: list[_Row], *, actor) -> tuple[int, int]:
    """Store one chunk of valid rows in a fixed number of queries: (created, duplicates)."""
    emails = {row.data["email"].lower() for row in rows if row.data.get("email")}
    phones = {row.data["phone"] for row in rows if row.data.get("phone")}
    match = Q()
    if emails:
        match |= Q(email_lower__in=emails) & ~Q(email="")
    if phones:
        match |= Q(phone__in=phones) & ~Q(phone="")
    existing = (
        Lead.objects.alias(email_lower=Lower("email"))
        .filter(match, status__in=OPEN_STATUSES)
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    by_email: dict[str, _Target] = {}
    by_phone: dict[str, _Target] = {}
    for lead in existing:
        target = _Target(email=lead.email.lower(), phone=lead.phone, lead=lead)
        if target.email:
            by_email.setdefault(target.email, target)
        if target.phone:
            by_phone.setdefault(target.phone, target)

    new: list[_Target] = []
    resubmissions: list[tuple[_Row, _Target, dict[str, Any]]] = []
    for row in rows:
        email = (row.data.get("email") or "").lower()
        phone = row.data.get("phone") or ""
        target = (by_email.get(email) if email else None) or (
            by_phone.get(phone) if phone else None
        )
        if target is None:
            target = _Target(email=email, phone=phone, row=row)
            new.append(target)
            if email:
                by_email[email] = target
            if phone:
                by_phone[phone] = target
            continue
        fill = dict(row.data)
        # Matched by email, the phone may be another open lead's: never give it a second.
        if phone and by_phone.get(phone, target) is not target:
            fill.pop("phone")
        if email and not target.email:
            target.email = by_email[email] = email
        if "phone" in fill and phone and not target.phone:
            target.phone = by_phone[phone] = phone
        resubmissions.append((row, target, fill))

    # One pipeline context for the chunk: the new rows, and the leads rows resubmit to with
    # what the rows may fill in, which a resubmission is re-scored on.
    stored = {t.lead.pk: t.lead for _row, t, _fill in resubmissions if t.lead is not None}
    ctx = pipeline_context(
        [
            *(t.row.data for t in new),
            *(lead_values(lead) for lead in stored.values()),
            *(fill for _row, _target, fill in resubmissions),
        ]
    )
    prepared = [prepare(t.row.data, ctx) for t in new]
    for target, p in zip(new, prepared, strict=True):
        target.lead = Lead(**p.fields, account=p.account, channel=CHANNEL)
    # Resubmit in file order, before the insert, as ``lead_capture`` does: fill blanks and
    # re-score. A later row of the file for a lead this chunk creates fills the unsaved
    # lead, exactly as if the first row had been stored.
    changed: dict[int, Lead] = {}
    changed_fields: set[str] = set()
    applied_by_row = []
    for _row, target, fill in resubmissions:
        applied = lead_resubmission_apply(lead=target.lead, data=fill, ctx=ctx)
        applied_by_row.append(applied)
        if applied.filled and target.lead.pk is not None:
            changed[target.lead.pk] = target.lead
            changed_fields.update(applied.fields)
    Lead.objects.bulk_create([t.lead for t in new])
    if changed:
        now = timezone.now()
        for lead in changed.values():
            lead.updated_at = now
        Lead.objects.bulk_update(list(changed.values()), [*sorted(changed_fields), "updated_at"])
    events = [
        LeadEvent(
            lead=t.lead,
            kind=LeadEvent.Kind.CAPTURED,
            at=t.lead.captured_at,
            actor=actor,
            data={"channel": CHANNEL, "status": t.lead.status, **p.event},
        )
        for t, p in zip(new, prepared, strict=True)
    ]
    events += [
        LeadEvent(
            lead=target.lead,
            kind=LeadEvent.Kind.RESUBMITTED,
            actor=actor,
            data={
                "channel": CHANNEL,
                "filled": applied.filled,
                "source": fill.get("source", ""),
                **applied.event,
            },
        )
        for (_row, target, fill), applied in zip(resubmissions, applied_by_row, strict=True)
    ]
    LeadEvent.objects.bulk_create(events)
    announce_captured([t.lead.pk for t in new])
    return len(new), len(resubmissions)


def _store_one_by_one(
    rows: list[_Row], *, default_source: str, actor, report: ImportReport
) -> tuple[int, int]:
    created = duplicates = 0
    for row in rows:
        try:
            # A savepoint per row (a transaction outside one): whatever the database
            # refuses, PostgreSQL's transaction stays usable for the rows after it.
            with transaction.atomic():
                result = lead_capture(
                    data=row.raw,
                    channel=CHANNEL,
                    actor=actor,
                    default_source=default_source,
                    unknown="custom",
                )
        except IntegrityError:
            report.add_failure(
                row.number,
                [("", "Clashed with a submission stored at the same moment; import it again.")],
            )
            continue
        except DatabaseError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            report.add_failure(row.number, [("", f"The database refused this row: {reason}")])
            continue
        except Exception as exc:
            logger.exception("Import row %s could not be stored", row.number)
            report.add_failure(row.number, [("", f"Cannot store this row ({exc!r:.80}).")])
            continue
        if result.created:
            created += 1
        else:
            duplicates += 1
    return created, duplicates
