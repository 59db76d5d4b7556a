"""Issue 12: a bad row, a broken file structure or an odd encoding never costs the good
rows, and is always reported (service, command and admin upload), never a traceback."""

import codecs
import csv
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadhub.leads.importer import ImportFileError, ImportReport, lead_import_csv, open_csv
from leadhub.leads.models import Lead

HEADER = ["Email", "Company", "Website", "Revenue", "Pages", "custom"]
BAD_ROW = 7  # the sixth data row: the header is row 1


def csv_text(rows: list[list[str]], *, newline: str = "\r\n") -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows(rows)
    return out.getvalue()


def ten_rows(bad: dict[str, str] | None = None) -> list[list[str]]:
    """The header and ten data rows; the sixth (row 7) made of ``bad``'s cells."""
    rows = [HEADER]
    for i in range(1, 11):
        cells = {"Email": f"p{i}@x.com", "Company": f"Co {i}"}
        if i == BAD_ROW - 1 and bad is not None:
            cells.update(bad)
        rows.append([cells.get(name, "") for name in HEADER])
    return rows


def run(text: str) -> ImportReport:
    return lead_import_csv(file=io.StringIO(text, newline=""))


def good_emails_but(*rows: int) -> set[str]:
    return {f"p{i}@x.com" for i in range(1, 11) if i + 1 not in rows}


# A cell the database refuses (or that broke the cleaning) in one row of ten.
BAD_CELLS = {
    "website longer than its column": ({"Website": "w" * 250 + ".com"}, "Website"),
    "email of 300 characters": (
        {"Email": "a" * 64 + "@" + ".".join(["b" * 58] * 4) + ".com"},
        "Email",
    ),
    "NUL byte in a list cell": ({"Pages": "/pricing\x00"}, "Pages"),
    "NaN revenue": ({"Revenue": "NaN"}, "Revenue"),
    "infinite revenue": ({"Revenue": "Infinity"}, "Revenue"),
    "JSON nested too deep": ({"custom": '{"a":' * 5000 + "1" + "}" * 5000}, "custom"),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("cells", "column"), BAD_CELLS.values(), ids=BAD_CELLS.keys())
def test_a_bad_cell_costs_only_its_own_row_and_is_reported_by_row_column_and_reason(cells, column):
    report = run(csv_text(ten_rows(cells)))
    assert (report.imported, report.failed, report.rows) == (9, 1, 10)
    assert {(e.row, e.field) for e in report.errors} == {(BAD_ROW, column)}
    assert all(e.reason.strip() for e in report.errors)
    assert set(Lead.objects.values_list("email", flat=True)) == good_emails_but(BAD_ROW)


@pytest.mark.django_db
def test_a_lone_surrogate_in_a_value_costs_only_its_row():
    # Only a text stream can carry one: no byte encoding decodes to a lone surrogate.
    report = run(csv_text(ten_rows({"Company": "Acme \ud800"})))
    assert (report.imported, report.failed) == (9, 1)
    assert [(e.row, e.field) for e in report.errors] == [(BAD_ROW, "Company")]
    assert "surrogate" in report.errors[0].reason


@pytest.mark.django_db
def test_a_nul_in_a_column_the_importer_does_not_know_is_reported_under_that_column():
    text = csv_text([["Email", "Favourite colour"], ["a@x.com", "red"], ["b@x.com", "bl\x00ue"]])
    report = run(text)
    assert (report.imported, report.failed) == (1, 1)
    assert [(e.row, e.field) for e in report.errors] == [(3, "Favourite colour")]


@pytest.mark.django_db
def test_several_bad_rows_in_one_chunk_keep_every_good_row(monkeypatch):
    rows = [HEADER]
    for i in range(1, 41):
        bad = i % 10 == 0
        rows.append([f"p{i}@x.com", "Co", "w" * 300 + ".com" if bad else "", "", "", ""])
    report = lead_import_csv(file=io.StringIO(csv_text(rows), newline=""), chunk_size=25)
    assert (report.imported, report.failed) == (36, 4)
    assert [e.row for e in report.errors] == [11, 21, 31, 41]


@pytest.mark.django_db
def test_a_database_error_in_one_row_is_reported_and_the_rest_of_the_chunk_kept(monkeypatch):
    """Whatever the checks miss, the database refusing one row loses only that row: the
    chunk is redone row by row, each in a savepoint, and the transaction stays usable."""
    from django.db import DataError

    from leadhub.leads.services import capture as services

    real_insert = services._insert

    def refuse_one(cleaned, *args, **kwargs):
        if cleaned.get("email") == "p4@x.com":
            raise DataError("value too long for type character varying(200)")
        return real_insert(cleaned, *args, **kwargs)

    real_bulk_create = Lead.objects.bulk_create

    def refuse_batches(objs, *args, **kwargs):
        if any(lead.email == "p4@x.com" for lead in objs):
            raise DataError("value too long for type character varying(200)")
        return real_bulk_create(objs, *args, **kwargs)

    monkeypatch.setattr(services, "_insert", refuse_one)
    monkeypatch.setattr(Lead.objects, "bulk_create", refuse_batches)
    report = run(csv_text(ten_rows()))
    assert (report.imported, report.failed) == (9, 1)
    assert [(e.row, e.field) for e in report.errors] == [(5, "")]
    assert "value too long" in report.errors[0].reason
    assert Lead.objects.count() == 9


# --- Structure: quotes and column counts ----------------------------------------------------


@pytest.mark.django_db
def test_an_unterminated_quote_in_the_last_row_is_reported_not_imported():
    text = csv_text(ten_rows()[:-1]) + 'p10@x.com,"Acme,,,,\r\n'
    report = run(text)
    assert (report.imported, report.failed) == (9, 1)
    assert [(e.row, e.field) for e in report.errors] == [(11, "")]
    assert "quote" in report.errors[0].reason
    assert not Lead.objects.filter(email="p10@x.com").exists()


@pytest.mark.django_db
def test_an_unterminated_quote_mid_file_loses_only_its_own_row():
    lines = csv_text(ten_rows()).splitlines(keepends=True)
    lines[BAD_ROW - 1] = 'p6@x.com,"Acme,,,,\r\n'
    report = run("".join(lines))
    assert (report.imported, report.failed, report.rows) == (9, 1, 10)
    assert [e.row for e in report.errors] == [BAD_ROW]
    assert set(Lead.objects.values_list("email", flat=True)) == good_emails_but(BAD_ROW)


@pytest.mark.django_db
def test_a_stray_quote_that_swallows_rows_until_another_quote_is_reported_and_they_are_kept():
    lines = csv_text(ten_rows()).splitlines(keepends=True)
    lines[3] = 'p3@x.com,"Acme,,,,\r\n'
    lines[8] = 'p8@x.com,Co 8,,,"a,b" c,\r\n'
    report = run("".join(lines))
    assert [e.row for e in report.errors] == [4, 9]
    assert set(Lead.objects.values_list("email", flat=True)) == good_emails_but(4, 9)


@pytest.mark.django_db
def test_a_row_with_more_cells_than_the_header_is_reported_and_the_others_kept():
    rows = ten_rows()
    rows[BAD_ROW - 1] = [*rows[BAD_ROW - 1], "extra"]
    report = run(csv_text(rows))
    assert (report.imported, report.failed) == (9, 1)
    assert [(e.row, e.field) for e in report.errors] == [(BAD_ROW, "")]
    assert "7 cells but the header has 6 columns" in report.errors[0].reason


@pytest.mark.django_db
def test_a_row_with_fewer_cells_is_a_trailing_omission_and_is_imported():
    rows = ten_rows()
    rows[BAD_ROW - 1] = rows[BAD_ROW - 1][:2]
    report = run(csv_text(rows))
    assert (report.imported, report.failed) == (10, 0)


@pytest.mark.django_db
def test_an_unterminated_quote_in_the_header_refuses_the_file():
    with pytest.raises(ImportFileError, match="header row"):
        run('Email,"Company\r\na@x.com,Acme\r\n')


# --- Encodings and files that are not CSV ----------------------------------------------------


def encoded(text: str, encoding: str) -> io.BytesIO:
    return io.BytesIO(text.encode(encoding))


def import_bytes(data: bytes, **kwargs) -> ImportReport:
    return lead_import_csv(file=open_csv(io.BytesIO(data), **kwargs))


GOOD_FILE = csv_text([["Email", "Last Name"], *([f"p{i}@x.com", "Müller"] for i in range(10))])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        GOOD_FILE.encode("utf-16"),  # with its byte-order mark, as Python and Excel write it
        codecs.BOM_UTF16_BE + GOOD_FILE.encode("utf-16-be"),
        codecs.BOM_UTF16_LE + GOOD_FILE.replace(",", "\t").encode("utf-16-le"),
        GOOD_FILE.encode("utf-32"),
        codecs.BOM_UTF8 + GOOD_FILE.encode(),
        GOOD_FILE.encode(),
        GOOD_FILE.replace("\r\n", "\n").encode(),
        GOOD_FILE.replace("\r\n", "\r").encode(),
    ],
    ids=["utf-16", "utf-16-be", "utf-16-tabs", "utf-32", "utf-8-bom", "utf-8", "lf", "cr"],
)
def test_unicode_files_with_a_byte_order_mark_and_any_line_ends_are_imported(data):
    report = import_bytes(data)
    assert (report.imported, report.failed, report.warnings) == (10, 0, [])
    assert set(Lead.objects.values_list("last_name", flat=True)) == {"Müller"}


@pytest.mark.django_db
def test_a_byte_order_mark_wins_over_the_encoding_chosen():
    report = import_bytes(GOOD_FILE.encode("utf-16"), encoding="cp1252")
    assert report.imported == 10


@pytest.mark.django_db
def test_a_latin1_file_is_refused_with_the_line_and_a_hint_unless_its_encoding_is_named():
    data = GOOD_FILE.encode("latin-1")
    with pytest.raises(ImportFileError, match=r"not UTF-8 text .*line 2.*cp1252"):
        import_bytes(data)
    assert not Lead.objects.exists()
    assert import_bytes(data, encoding="latin-1").imported == 10


@pytest.mark.django_db
def test_a_nul_byte_in_a_row_is_reported_for_that_row():
    data = GOOD_FILE.replace("p3@x.com,Müller", "p3@x.com,Mül\x00ler").encode()
    report = import_bytes(data)
    assert (report.imported, report.failed) == (9, 1)
    assert [(e.row, e.field) for e in report.errors] == [(5, "Last Name")]


NOT_CSV = {
    "xlsx": (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4, "Excel workbook"),
    "xls": (bytes.fromhex("d0cf11e0a1b11ae1") + bytes(range(256)) * 4, "Excel workbook"),
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not UTF-8 text"),
    "utf-16 without a byte-order mark": (GOOD_FILE.encode("utf-16-le"), "NUL bytes"),
    "prose": (b"Dear team,\nplease find the leads attached.\n", "No email or phone"),
    "empty": (b"", "The file is empty"),
    "blank lines": (b"\r\n \r\n\n", "The file is empty"),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "message"), NOT_CSV.values(), ids=NOT_CSV.keys())
def test_a_file_that_is_not_a_csv_of_leads_is_refused_with_a_reason(data, message):
    with pytest.raises(ImportFileError, match=message):
        import_bytes(data)


@pytest.mark.django_db
def test_a_header_only_file_imports_nothing_and_says_so():
    report = import_bytes(b"Email,Company\r\n")
    assert (report.imported, report.failed, report.rows) == (0, 0, 0)
    assert report.warnings == ["The file has a header but no data rows."]


# --- The same through the command and the admin upload ---------------------------------------


CASES = {
    **{name: (csv_text(ten_rows(cells)).encode(), 9, 1) for name, (cells, _) in BAD_CELLS.items()},
    "unterminated quote in the last row": (
        (csv_text(ten_rows()[:-1]) + 'p10@x.com,"Acme,,,,\r\n').encode(),
        9,
        1,
    ),
    "more cells than the header": (
        csv_text([*ten_rows()[:6], [*ten_rows()[6], "extra"], *ten_rows()[7:]]).encode(),
        9,
        1,
    ),
    "nul byte": (GOOD_FILE.replace("p3@x.com,Müller", "p3@x.com,M\x00").encode(), 9, 1),
    "utf-16": (GOOD_FILE.encode("utf-16"), 10, 0),
    "utf-8-bom": (codecs.BOM_UTF8 + GOOD_FILE.encode(), 10, 0),
    "lf": (GOOD_FILE.replace("\r\n", "\n").encode(), 10, 0),
    "header only": (b"Email\n", 0, 0),
}
REFUSED = {
    "latin-1": (GOOD_FILE.encode("latin-1"), "not UTF-8 text"),
    "xlsx": NOT_CSV["xlsx"],
    "utf-16 without a byte-order mark": NOT_CSV["utf-16 without a byte-order mark"],
    "blank lines": NOT_CSV["blank lines"],
    "broken header": (b'Email,"Company\r\na@x.com,Acme\r\n', "header row"),
}


@pytest.fixture
def csv_path(tmp_path):
    def write(data: bytes) -> Path:
        path = tmp_path / "leads.csv"
        path.write_bytes(data)
        return path

    return write


def command(path: Path) -> tuple[int, list[str], str]:
    """(exit status, standard output lines, error message) of import_leads."""
    out = io.StringIO()
    try:
        call_command("import_leads", str(path), stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue().splitlines(), str(exc)
    return 0, out.getvalue().splitlines(), ""


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "imported", "failed"), CASES.values(), ids=CASES.keys())
def test_the_command_reports_each_case_and_exits_1_only_when_a_row_failed(
    csv_path, data, imported, failed
):
    status, lines, _ = command(csv_path(data))
    assert lines[-1] == f"imported {imported}, failed {failed}"
    assert status == (1 if failed else 0)
    if failed:
        assert lines[0].startswith(("row 7: ", "row 5: ", "row 11: "))
    assert Lead.objects.count() == imported


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_the_command_refuses_a_bad_file_with_the_reason_and_exit_1(csv_path, data, message):
    status, _, error = command(csv_path(data))
    assert status == 1
    assert message in error
    assert not Lead.objects.exists()


@pytest.fixture
def upload(admin_client):
    def post(data: bytes, encoding: str = "utf-8"):
        file = SimpleUploadedFile("leads.csv", data, content_type="text/csv")
        return admin_client.post(
            reverse("admin:leads_lead_import"), {"file": file, "encoding": encoding}
        )

    return post


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "imported", "failed"), CASES.values(), ids=CASES.keys())
def test_the_admin_upload_shows_the_report_for_each_case(upload, data, imported, failed):
    response = upload(data)
    assert response.status_code == 200
    report = response.context["report"]
    assert (report.imported, report.failed) == (imported, failed)
    html = response.content.decode()
    assert f'<td id="failed">{failed}</td>' in html
    assert f'<td id="rows">{imported + failed}</td>' in html
    if failed:
        row = report.errors[0]
        assert f"<td>{row.row}</td><td>{row.field or '(whole row)'}</td>" in html


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_the_admin_upload_shows_why_a_file_was_refused(upload, data, message):
    response = upload(data)
    assert response.status_code == 200
    assert response.context["report"] is None
    assert message in response.context["form"].errors["file"][0]


@pytest.mark.django_db
def test_an_empty_upload_is_refused_by_the_form(upload):
    response = upload(b"")
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["The submitted file is empty."]


# --- Properties -------------------------------------------------------------------------------

# Any character, lone surrogates, NUL and line breaks included.
cells = st.text(st.characters(), max_size=12) | st.sampled_from(
    ["a@x.com", "b@x.com", "+44 20 7946 0958", "", " ", '"', "\r\n", "\x00", "\ud800", "DE"]
)


def rolled_back(fn):
    """Run ``fn`` in a transaction that is rolled back, so each example starts clean."""
    with transaction.atomic():
        result = fn()
        transaction.set_rollback(True)
    return result


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(cells, max_size=5), max_size=8))
def test_any_text_every_data_row_is_either_stored_or_reported(rows):
    text = csv_text([["Email", "Phone", "Company", "Country"], *rows])
    data_rows = sum(1 for row in rows if any(cell.strip() for cell in row))

    def check() -> None:
        report = run(text)
        assert report.rows == data_rows
        assert report.imported + report.duplicates + report.failed == data_rows
        assert Lead.objects.count() == report.imported
        assert len({e.row for e in report.errors}) == report.failed

    rolled_back(check)


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=200)
    | st.lists(cells, max_size=12).map(lambda c: "\n".join(c).encode("utf-8", "surrogatepass")),
    encoding=st.sampled_from(["utf-8", "cp1252", "latin-1"]),
)
def test_any_bytes_are_imported_or_refused_and_nothing_else_escapes(body, encoding):
    data = b"Email,Company\r\n" + body

    def check() -> None:
        try:
            report = import_bytes(data, encoding=encoding)
        except ImportFileError as exc:
            assert str(exc)
            return
        assert report.imported + report.duplicates + report.failed == report.rows
        assert Lead.objects.count() == report.imported

    rolled_back(check)
