import codecs
import io
import math
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.db import connection
from django.urls import reverse

from leadhub.leads import importer
from leadhub.leads.importer import (
    HEADER_ALIASES,
    HEADER_FIELDS,
    ImportFileError,
    RowError,
    lead_import_csv,
    normalize_header,
    open_csv,
)
from leadhub.leads.intake import LEAD_FIELDS
from leadhub.leads.models import Lead, LeadEvent, PipelineSettings
from leadhub.leads.services import lead_capture, lead_transition
from leadhub.leads.tests.factories import LeadFactory, ScoringRuleFactory
from reps.tests.factories import UserFactory

DOCS = Path(__file__).resolve().parents[3] / "docs" / "import.md"


def run(text: str, **kwargs) -> importer.ImportReport:
    return lead_import_csv(file=io.StringIO(text, newline=""), **kwargs)


def csv_of(*lines: str) -> str:
    return "".join(f"{line}\r\n" for line in lines)


# --- Header mapping -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("EMAIL", "email"),
        (" e_mail ", "email"),
        ("E-Mail Address", "email"),
        ("First-Name", "first_name"),
        ("firstname", "first_name"),
        ("Company  Name", "company"),
        ("utm_campaign", "utm_campaign"),
        ("UTM-Source", "utm_source"),
        ("No. of Employees", "employees"),
        ("state/province", "state"),
    ],
)
def test_header_matching_ignores_case_spaces_dashes_and_underscores(header, field):
    assert HEADER_FIELDS[normalize_header(header)] == field


def test_every_alias_maps_to_its_own_field_and_every_field_name_works():
    for name, aliases in HEADER_ALIASES.items():
        assert name in LEAD_FIELDS
        for alias in aliases:
            assert HEADER_FIELDS[normalize_header(alias)] == name, alias
    for name in LEAD_FIELDS:
        assert HEADER_FIELDS[normalize_header(name)] == name


def test_the_docs_list_exactly_the_aliases_in_the_code():
    documented = {}
    for line in DOCS.read_text().splitlines():
        match = re.fullmatch(r"\| `(\w+)` \| (.*) \|", line)
        if match:
            documented[match[1]] = re.findall(r"`([^`]+)`", match[2])
    assert documented == {name: list(aliases) for name, aliases in HEADER_ALIASES.items()}


# --- Rows: good, bad, aliases, custom ----------------------------------------------------


@pytest.mark.django_db
def test_good_rows_are_kept_and_bad_rows_are_reported_by_row_field_and_reason():
    report = run(
        csv_of(
            "email,company,country,employees",
            "ana@initech.com,Initech,US,51-200",
            "not-an-email,Initech,US,10",
            "ben@initech.com,Initech,Atlantis,many",
            "cleo@globex.com,Globex,DE,",
            ",Nobody Inc,US,",
        )
    )
    assert (report.imported, report.duplicates, report.failed) == (2, 0, 3)
    assert report.errors == [
        RowError(3, "email", "Enter a valid email address."),
        RowError(4, "employees", "Enter a number of employees, e.g. 250 or 51-200."),
        RowError(
            4, "country", "Unknown country 'Atlantis': use a name or an ISO code such as DE or DEU."
        ),
        RowError(6, "email", "Give an email address or a phone number."),
    ]
    assert sorted(Lead.objects.values_list("email", "country", "employees")) == [
        ("ana@initech.com", "US", 51),
        ("cleo@globex.com", "DE", None),
    ]
    assert all(lead.channel == "import" for lead in Lead.objects.all())


@pytest.mark.django_db
def test_errors_name_the_column_as_headed_in_the_file():
    report = run(csv_of("E-mail,Country/Region", "nope,DE", "a@x.com,Narnia"))
    assert [str(e) for e in report.errors] == [
        "row 2: E-mail: Enter a valid email address.",
        "row 3: Country/Region: Unknown country 'Narnia': use a name or an ISO code such as "
        "DE or DEU.",
    ]


@pytest.mark.django_db
def test_aliased_headers_fill_the_right_fields():
    report = run(
        csv_of(
            "Work Email,Given Name,Surname,Mobile,Job Title,Organisation,Web Site,"
            "No. of Employees,Annual Revenue,Country Code,State/Province,Postcode,Time Zone,"
            "Lead Source,Intent Signals,UTM Campaign,Comments",
            "ana@initech.com,Ana,Lopez,(415) 555-2671,CTO,Initech,https://www.initech.com/,"
            "1001-5000,$1.2M,us,California,94105,america/los_angeles,Trade Show,"
            '"Demo Request, Pricing Page",spring,Call me',
        )
    )
    assert (report.imported, report.failed, report.warnings) == (1, 0, [])
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.last_name, lead.phone, lead.title) == (
        "ana@initech.com",
        "Ana",
        "Lopez",
        "+14155552671",
        "CTO",
    )
    assert (lead.company, lead.website, lead.employees, lead.employee_band) == (
        "Initech",
        "initech.com",
        1001,
        "1001-5000",
    )
    assert (str(lead.annual_revenue), lead.country, lead.state, lead.postal_code) == (
        "1200000.00",
        "US",
        "CA",
        "94105",
    )
    assert (lead.timezone, lead.source, lead.intent_signals) == (
        "America/Los_Angeles",
        "trade_show",
        ["demo_request", "pricing_page"],
    )
    assert (lead.utm_campaign, lead.message, lead.custom) == ("spring", "Call me", {})
    assert report.columns[0] == ("Work Email", "email")


@pytest.mark.django_db
def test_unknown_columns_go_to_custom_under_their_header_and_are_warned_about_once():
    report = run(
        csv_of(
            "email,Favourite Colour,Shoe size",
            "a@x.com,blue,42",
            "b@x.com,,43",
            "c@x.com,,",
        )
    )
    assert report.imported == 3
    assert report.warnings == [
        "Columns not recognised, stored under custom by their header: Favourite Colour, Shoe size."
    ]
    custom = dict(Lead.objects.values_list("email", "custom"))
    assert custom == {
        "a@x.com": {"Favourite Colour": "blue", "Shoe size": "42"},
        "b@x.com": {"Shoe size": "43"},
        "c@x.com": {},
    }
    assert ("Favourite Colour", "custom") in report.columns


@pytest.mark.django_db
def test_source_option_is_set_only_where_the_row_has_none():
    run(csv_of("email,source", "a@x.com,Webinar", "b@x.com,"), source="Trade Show 2025")
    assert dict(Lead.objects.values_list("email", "source")) == {
        "a@x.com": "webinar",
        "b@x.com": "trade_show_2025",
    }


@pytest.mark.django_db
def test_a_captured_event_is_written_like_an_api_capture():
    run(csv_of("email,company,country", "a@initech.com,Initech,US"))
    lead_capture(
        data={"email": "b@initech.com", "company": "Initech", "country": "US"}, channel="api"
    )
    imported = LeadEvent.objects.get(lead__email="a@initech.com")
    api = LeadEvent.objects.get(lead__email="b@initech.com")
    assert imported.kind == api.kind == "captured"
    assert imported.data == {**api.data, "channel": "import"}
    assert imported.at == imported.lead.captured_at


# --- File shape ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_blank_rows_are_skipped_but_keep_spreadsheet_row_numbers():
    report = run(csv_of("", "email", "a@x.com", "", ",", "bad", "b@x.com"))
    assert report.imported == 2
    assert report.errors == [RowError(6, "email", "Enter a valid email address.")]


@pytest.mark.django_db
def test_a_quoted_cell_over_several_lines_is_one_row():
    report = run(csv_of("email,message", 'a@x.com,"line one', 'line two"', "nope,"))
    assert report.errors == [RowError(3, "email", "Enter a valid email address.")]
    assert Lead.objects.get().message.splitlines() == ["line one", "line two"]


@pytest.mark.django_db
def test_short_rows_are_padded_and_long_rows_are_reported():
    report = run(csv_of("email,company,country", "a@x.com", "b@x.com,B,DE,", "c@x.com,C,DE,oops"))
    assert report.imported == 2
    assert report.errors == [
        RowError(
            4,
            "",
            "The row has 4 cells but the header has 3 columns "
            "(a comma in a value without quotes?).",
        )
    ]
    assert str(report.errors[0]).startswith("row 4: The row has 4 cells")


@pytest.mark.django_db
def test_an_unreadable_row_is_reported_and_the_rows_after_it_are_imported():
    report = run(csv_of("email,message", "a@x.com,hi", "b@x.com," + "x" * 200_000, "c@x.com,ok"))
    assert report.errors == [
        RowError(3, "", "Cannot read this row: field larger than field limit (131072).")
    ]
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["a@x.com", "c@x.com"]


@pytest.mark.django_db
def test_semicolon_separated_files_from_european_excel_are_read():
    report = run(csv_of("E-Mail;Firma;Country", "a@x.de;Beispiel GmbH;Deutschland"))
    assert report.imported == 1
    assert Lead.objects.get().country == "DE"


@pytest.mark.django_db
def test_a_utf8_byte_order_mark_is_dropped():
    data = codecs.BOM_UTF8 + "Email,Last Name\r\nana@x.com,Müller\r\n".encode()
    report = lead_import_csv(file=open_csv(io.BytesIO(data)))
    assert (report.imported, report.warnings) == (1, [])
    assert Lead.objects.get().last_name == "Müller"


@pytest.mark.django_db
def test_a_file_in_another_encoding_is_refused_whole_unless_the_encoding_is_named():
    data = "email,last_name\r\n" + "".join(f"a{i}@x.com,Müller\r\n" for i in range(3000))
    encoded = data.encode("cp1252")
    with pytest.raises(ImportFileError, match=r"not UTF-8 text .*cp1252"):
        lead_import_csv(file=open_csv(io.BytesIO(encoded)))
    assert not Lead.objects.exists()
    report = lead_import_csv(file=open_csv(io.BytesIO(encoded), encoding="cp1252"))
    assert report.imported == 3000
    assert set(Lead.objects.values_list("last_name", flat=True)) == {"Müller"}


def test_utf16_files_are_read_by_their_byte_order_mark():
    assert open_csv(io.BytesIO("email\r\n".encode("utf-16"))).read(10) == "email\r\n"


def test_an_unknown_encoding_is_refused():
    with pytest.raises(ImportFileError, match="Unknown encoding 'klingon'"):
        open_csv(io.BytesIO(b"email\r\n"), encoding="klingon")


@pytest.mark.django_db
def test_an_empty_file_is_refused():
    with pytest.raises(ImportFileError, match="The file is empty"):
        run("\r\n\r\n")


@pytest.mark.django_db
def test_a_header_only_file_imports_nothing_and_says_so():
    report = run(csv_of("email,company"))
    assert (report.imported, report.failed) == (0, 0)
    assert report.warnings == ["The file has a header but no data rows."]


@pytest.mark.django_db
def test_a_file_without_an_email_or_phone_column_is_refused_before_anything_is_stored():
    with pytest.raises(ImportFileError, match=r"No email or phone column.*Name, Company"):
        run(csv_of("Name,Company", "Ana,Initech"))
    assert not Lead.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Email,Work Email", "Notes X,email,Notes X"])
def test_two_columns_for_one_field_are_refused(header):
    with pytest.raises(ImportFileError, match="both hold"):
        run(csv_of(header, "a@x.com,b@x.com"))


@pytest.mark.django_db
def test_a_column_without_a_header_is_ignored_with_a_warning():
    report = run(csv_of("email,,company", "a@x.com,stray,Acme"))
    assert report.warnings == ["Columns without a header are ignored: B."]
    assert Lead.objects.get().custom == {}


# --- Dedupe ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_two_rows_for_one_person_in_a_file_make_one_lead_and_a_resubmission():
    report = run(
        csv_of(
            "email,title,phone,country,source",
            "ana@x.com,CTO,,,web",
            "ANA@x.com,Intern,+1 415 555 2671,US,fair",
            "bob@x.com,,,,",
        )
    )
    assert (report.imported, report.duplicates, report.failed) == (2, 1, 0)
    ana = Lead.objects.get(email="ana@x.com")
    assert (ana.title, ana.phone, ana.country) == ("CTO", "+14155552671", "US")
    events = list(ana.events.values_list("kind", "data"))
    assert [kind for kind, _ in events] == ["captured", "resubmitted"]
    assert events[1][1] == {
        "channel": "import",
        "filled": ["country", "phone"],
        "source": "fair",
        "score": {"total": 0, "band": "standard", "rules": []},
    }


@pytest.mark.django_db
def test_rows_for_one_person_in_different_chunks_are_still_one_lead():
    report = run(csv_of("email,city", "a@x.com,", "b@x.com,", "A@X.COM,Lyon"), chunk_size=2)
    assert (report.imported, report.duplicates) == (2, 1)
    assert Lead.objects.get(email="a@x.com").city == "Lyon"


@pytest.mark.django_db
def test_a_row_for_an_open_lead_resubmits_it_and_fills_only_blanks():
    existing = LeadFactory(email="ana@initech.com", title="CTO", city="")
    report = run(csv_of("email,title,city", "Ana@Initech.com,Intern,Paris"))
    assert (report.imported, report.duplicates) == (0, 1)
    existing.refresh_from_db()
    assert (existing.title, existing.city) == ("CTO", "Paris")
    event = existing.events.get()
    assert event.kind == "resubmitted"
    assert {k: event.data[k] for k in ("channel", "filled", "source")} == {
        "channel": "import",
        "filled": ["city"],
        "source": "",
    }
    assert event.data["score"] == {"total": 0, "band": "standard", "rules": []}


def rewarding_titles() -> None:
    settings = PipelineSettings.load()
    settings.sales_ready_score, settings.nurture_below_score = 50, 10
    settings.save()
    ScoringRuleFactory(field="employees", operator="gte", value="1000", points=20)
    ScoringRuleFactory(field="title", operator="contains", value="VP", points=40)


@pytest.mark.django_db
def test_an_imported_row_that_fills_a_rewarded_title_rescores_the_open_lead_as_capture_does():
    rewarding_titles()
    lead = lead_capture(
        data={"email": "ana@initech.com", "employees": 5000, "country": "US"}, channel="api"
    ).lead
    assert (lead.score, lead.score_band) == (20, "standard")

    report = run(csv_of("email,title", "ana@initech.com,VP Sales"))

    assert (report.imported, report.duplicates) == (0, 1)
    lead.refresh_from_db()
    assert (lead.title, lead.score, lead.score_band) == ("VP Sales", 60, "sales_ready")
    event = lead.events.get(kind="resubmitted")
    assert event.data["filled"] == ["title"]
    assert event.data["changes"] == {
        "score": ["20", "60"],
        "score_band": ["standard", "sales_ready"],
    }
    assert [r["points"] for r in event.data["score"]["rules"]] == [20, 40]


@pytest.mark.django_db
def test_a_later_row_of_the_file_that_fills_a_rewarded_title_rescores_the_new_lead():
    rewarding_titles()

    run(csv_of("email,employees,title,country", "ana@x.com,5000,,US", "ana@x.com,,VP Sales,"))

    lead = Lead.objects.get(email="ana@x.com")
    assert (lead.title, lead.score, lead.score_band) == ("VP Sales", 60, "sales_ready")
    captured, resubmitted = lead.events.order_by("pk")
    assert captured.data["score"]["total"] == 20
    assert resubmitted.data["changes"]["score"] == ["20", "60"]


@pytest.mark.django_db
def test_a_phone_written_differently_finds_the_open_lead():
    existing = LeadFactory(email="", phone="+14155552671")
    report = run(csv_of("phone,country,email", "(415) 555-2671,US,ana@x.com"))
    assert (report.imported, report.duplicates) == (0, 1)
    existing.refresh_from_db()
    assert existing.email == "ana@x.com"


@pytest.mark.django_db
def test_an_email_match_does_not_take_the_phone_of_another_open_lead():
    by_email = LeadFactory(email="ana@x.com", phone="")
    by_phone = LeadFactory(email="other@x.com", phone="+14155552671")
    report = run(csv_of("email,phone,city", "ana@x.com,+1 415 555 2671,Paris"))
    assert (report.imported, report.duplicates, report.failed) == (0, 1, 0)
    by_email.refresh_from_db()
    assert (by_email.phone, by_email.city) == ("", "Paris")
    assert by_email.events.get().data["filled"] == ["city"]
    assert not by_phone.events.exists()


@pytest.mark.django_db
def test_a_closed_lead_does_not_swallow_an_imported_row():
    old = LeadFactory(email="ana@x.com")
    lead_transition(lead_id=old.pk, status="junk")
    report = run(csv_of("email", "ana@x.com"))
    assert (report.imported, report.duplicates) == (1, 0)
    assert Lead.objects.filter(email="ana@x.com").count() == 2


@pytest.mark.django_db
def test_importing_the_same_file_twice_creates_no_second_leads():
    text = csv_of("email,phone", "a@x.com,", ",+44 20 7946 0958", "b@x.com,")
    run(text)
    again = run(text)
    assert (again.imported, again.duplicates) == (0, 3)
    assert Lead.objects.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_concurrent_capture_mid_chunk_is_caught_and_the_chunk_redone_row_by_row(monkeypatch):
    real_context = importer.pipeline_context
    errors = []

    def capture_elsewhere() -> None:
        try:
            lead_capture(data={"email": "b@x.com", "title": "CEO"}, channel="api")
        except Exception as exc:  # reported by the assertion on errors below
            errors.append(exc)
        finally:
            connection.close()

    def context_while_someone_else_captures(batch):
        # Another request, on its own connection, commits one of this chunk's people
        # after the chunk's dedupe lookup and before its insert.
        other = threading.Thread(target=capture_elsewhere)
        other.start()
        other.join(timeout=30)
        return real_context(batch)

    monkeypatch.setattr(importer, "pipeline_context", context_while_someone_else_captures)
    report = run(csv_of("email,city", "a@x.com,Oslo", "b@x.com,Rome", "c@x.com,Kyiv"))
    assert errors == []
    assert (report.imported, report.duplicates, report.failed) == (2, 1, 0)
    b = Lead.objects.get(email="b@x.com")
    assert (b.channel, b.title, b.city) == ("api", "CEO", "Rome")
    assert list(b.events.values_list("kind", flat=True)) == ["captured", "resubmitted"]
    assert Lead.objects.count() == 3
    assert LeadEvent.objects.filter(data__channel="import", kind="captured").count() == 2


# --- Report, dry run, streaming, queries -----------------------------------------------------


@pytest.mark.django_db
def test_the_error_list_is_capped_but_every_failure_is_counted(monkeypatch):
    monkeypatch.setattr(importer, "MAX_ERRORS", 4)
    report = run(csv_of("email", *(f"bad{i}" for i in range(10)), "ok@x.com"))
    assert (report.imported, report.failed) == (1, 10)
    assert [e.row for e in report.errors] == [2, 3, 4, 5]
    assert report.errors_not_shown == 6


@pytest.mark.django_db
def test_dry_run_counts_everything_and_stores_nothing():
    LeadFactory(email="old@x.com")
    report = run(
        csv_of("email", "a@x.com", "A@x.com", "old@x.com", "bad"), dry_run=True, chunk_size=1
    )
    assert (report.imported, report.duplicates, report.failed) == (1, 2, 1)
    assert report.dry_run
    assert list(Lead.objects.values_list("email", flat=True)) == ["old@x.com"]
    assert not LeadEvent.objects.exists()


class NoWholeRead(io.StringIO):
    """A text file that refuses to be read whole."""

    def read(self, size=-1):
        if size is None or size < 0:
            raise AssertionError("the importer read the whole file")
        return super().read(size)

    def readlines(self, hint=-1):
        raise AssertionError("the importer read every line at once")


class NoWholeReadBytes(io.BytesIO):
    def read(self, size=-1):
        if size is None or size < 0:
            raise AssertionError("the whole upload was read")
        return super().read(size)

    def read1(self, size=-1):
        if size is None or size < 0:
            raise AssertionError("the whole upload was read")
        return super().read1(size)


@pytest.mark.django_db
def test_the_importer_never_reads_the_whole_file():
    text = csv_of("email", *(f"p{i}@x.com" for i in range(1200)))
    assert lead_import_csv(file=NoWholeRead(text, newline="")).imported == 1200
    binary = NoWholeReadBytes(csv_of("email", *(f"q{i}@x.com" for i in range(1200))).encode())
    assert lead_import_csv(file=open_csv(binary)).imported == 1200


@pytest.mark.django_db
def test_rows_are_stored_chunk_by_chunk_while_the_file_is_still_being_read():
    stored_when_read: dict[int, int] = {}

    def lines() -> Iterator[str]:
        yield "email\r\n"
        for i in range(1, 1501):
            if i in (1, 501, 1001, 1500):
                stored_when_read[i] = Lead.objects.count()
            yield f"p{i}@x.com\r\n"

    report = lead_import_csv(file=lines(), chunk_size=500)
    assert report.imported == 1500
    assert stored_when_read == {1: 0, 501: 500, 1001: 1000, 1500: 1000}


# A chunk's queries: savepoint, dedupe lookup, pipeline context (settings, created on first
# use, scoring rules, enrichment, account domains, account names: the context also covers
# the leads rows resubmit to, which are re-scored), lead insert, blank-filling update,
# event insert, release.
QUERIES_PER_CHUNK = 14


def extra_insert_statements(model, rows: int) -> int:
    """Statements beyond one that the backend needs to insert ``rows`` rows: SQLite allows
    999 parameters per statement, so 500 leads of ~40 columns take 22; PostgreSQL one."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    return math.ceil(rows / connection.ops.bulk_batch_size(fields, [None] * rows)) - 1


@pytest.mark.django_db
def test_queries_per_chunk_do_not_grow_with_its_rows(django_assert_max_num_queries):
    existing = [LeadFactory(email=f"old{i}@x.com", city="") for i in range(50)]

    def new_rows(start: int, count: int) -> list[str]:
        return [
            f"new{i}@x{i % 7}.com,+1 212 200 {i:04d},Rome,US" for i in range(start, start + count)
        ]

    small = csv_of(
        "email,phone,city,country",
        *new_rows(0, 5),
        *(f"{lead.email},,Paris,US" for lead in existing[:2]),
        "new0@x0.com,,Oslo,US",
    )
    with django_assert_max_num_queries(QUERIES_PER_CHUNK):
        run(small)
    full = csv_of(
        "email,phone,city,country",
        *new_rows(100, 400),
        *(f"{lead.email},,Paris,US" for lead in existing),
        *(f"new{i}@x{i % 7}.com,,Oslo,US" for i in range(100, 150)),
    )
    splits = extra_insert_statements(Lead, 400) + extra_insert_statements(LeadEvent, 500)
    with django_assert_max_num_queries(QUERIES_PER_CHUNK + splits):
        report = run(full)
    assert (report.imported, report.duplicates, report.failed) == (400, 100, 0)
    assert Lead.objects.filter(city="Paris").count() == 50


# --- Admin upload ----------------------------------------------------------------------------


@pytest.fixture
def import_url() -> str:
    return reverse("admin:leads_lead_import")


@pytest.mark.django_db
def test_the_admin_page_shows_a_labelled_upload_form(admin_client, import_url):
    response = admin_client.get(import_url)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert "csrfmiddlewaretoken" in html
    assert '<label for="id_file">CSV file:</label>' in html
    assert 'type="file" name="file"' in html
    assert "Import leads from CSV" in html


@pytest.mark.django_db
def test_an_admin_upload_imports_and_shows_counts_and_escaped_errors(admin_client, import_url):
    LeadFactory(email="old@x.com")
    upload = SimpleUploadedFile(
        "leads.csv",
        csv_of("E-mail,Country", "a@x.com,DE", "old@x.com,DE", "b@x.com,<b>Oz</b>").encode(),
        content_type="text/csv",
    )
    response = admin_client.post(
        import_url, {"file": upload, "source": "Fair", "encoding": "utf-8"}
    )
    assert response.status_code == 200
    report = response.context["report"]
    assert (report.imported, report.duplicates, report.failed) == (1, 1, 1)
    html = response.content.decode()
    assert '<td id="imported">1</td>' in html
    assert '<td id="failed">1</td>' in html
    assert "<td>4</td><td>Country</td>" in html
    assert "&lt;b&gt;Oz&lt;/b&gt;" in html
    assert "<b>Oz</b>" not in html
    lead = Lead.objects.get(email="a@x.com")
    assert (lead.source, lead.channel) == ("fair", "import")
    assert lead.events.get().actor == response.wsgi_request.user


@pytest.mark.django_db
def test_an_upload_kept_in_a_temporary_file_is_streamed_from_it(admin_client, import_url, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    upload = SimpleUploadedFile("leads.csv", csv_of("email", "a@x.com", "b@x.com").encode())
    response = admin_client.post(import_url, {"file": upload, "encoding": "utf-8"})
    assert isinstance(response.wsgi_request.FILES["file"], TemporaryUploadedFile)
    assert response.context["report"].imported == 2


@pytest.mark.django_db
def test_an_admin_check_only_upload_stores_nothing(admin_client, import_url):
    upload = SimpleUploadedFile("leads.csv", csv_of("email", "a@x.com").encode())
    response = admin_client.post(import_url, {"file": upload, "encoding": "utf-8", "dry_run": "on"})
    assert response.context["report"].imported == 1
    assert "nothing was saved" in response.content.decode()
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_a_refused_file_shows_the_reason_on_the_form(admin_client, import_url):
    upload = SimpleUploadedFile("leads.csv", csv_of("Name", "Ana").encode())
    response = admin_client.post(import_url, {"file": upload, "encoding": "utf-8"})
    assert response.status_code == 200
    assert response.context["report"] is None
    assert "No email or phone column" in response.context["form"].errors["file"][0]


@pytest.mark.django_db
def test_staff_without_the_add_lead_permission_get_403(client, import_url):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_lead"))
    client.force_login(user)
    upload = SimpleUploadedFile("leads.csv", csv_of("email", "a@x.com").encode())
    assert client.get(import_url).status_code == 403
    assert client.post(import_url, {"file": upload, "encoding": "utf-8"}).status_code == 403
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_staff_with_the_add_lead_permission_may_import(client, import_url):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_lead"))
    client.force_login(user)
    upload = SimpleUploadedFile("leads.csv", csv_of("email", "a@x.com").encode())
    response = client.post(import_url, {"file": upload, "encoding": "utf-8"})
    assert response.context["report"].imported == 1
