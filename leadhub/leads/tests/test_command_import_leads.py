import io
from pathlib import Path

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.db import connections

from leadhub.leads.models import Lead, LeadEvent
from leadhub.leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def csv_file(tmp_path):
    def write(*lines: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / "leads.csv"
        path.write_bytes("".join(f"{line}\r\n" for line in lines).encode(encoding))
        return path

    return write


def import_leads(*args: str) -> tuple[list[str], list[str]]:
    """Run the command; return (stdout lines, stderr lines). Raises what the command raises."""
    out, err = io.StringIO(), io.StringIO()
    call_command("import_leads", *args, stdout=out, stderr=err)
    return out.getvalue().splitlines(), err.getvalue().splitlines()


def import_leads_failing(*args: str) -> tuple[list[str], CommandError]:
    out = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_leads", *args, stdout=out)
    return out.getvalue().splitlines(), exc.value


def test_good_rows_are_imported_and_bad_ones_listed_and_the_command_fails(csv_file):
    LeadFactory(email="old@initech.com")
    path = csv_file(
        "E-mail,Company Name,Country",
        "ana@initech.com,Initech,US",
        "nope,Initech,US",
        "old@initech.com,Initech,US",
        "ben@initech.com,Initech,Atlantis",
    )
    lines, error = import_leads_failing(str(path))
    assert lines == [
        "row 3: E-mail: Enter a valid email address.",
        "row 5: Country: Unknown country 'Atlantis': use a name or an ISO code such as DE or DEU.",
        "duplicates 1 (added to open leads as resubmissions)",
        "imported 1, failed 2",
    ]
    assert error.returncode == 1
    assert str(error) == "2 rows failed; see above."
    assert set(Lead.objects.values_list("email", flat=True)) == {
        "old@initech.com",
        "ana@initech.com",
    }


def test_a_clean_file_succeeds_and_the_last_line_is_the_summary(csv_file):
    path = csv_file("email,Favourite colour", "a@x.com,blue", "b@x.com,", "A@X.com,")
    lines, errors = import_leads(str(path), "--source", "Webinar")
    assert lines == [
        "warning: Columns not recognised, stored under custom by their header: Favourite colour.",
        "duplicates 1 (added to open leads as resubmissions)",
        "imported 2, failed 0",
    ]
    assert errors == []
    assert set(Lead.objects.values_list("source", flat=True)) == {"webinar"}


def test_the_exit_status_is_1_when_a_row_failed_and_0_otherwise(csv_file, capsys, monkeypatch):
    # Run as from the shell. run_from_argv closes every connection when it ends, which would
    # end the test's transaction: keep the connection open instead.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    bad = csv_file("email", "a@x.com", "nope")
    with pytest.raises(SystemExit) as exc:
        ManagementUtility(["manage.py", "import_leads", str(bad)]).execute()
    assert exc.value.code == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == "imported 1, failed 1"
    assert "1 row failed" in err

    good = csv_file("email", "b@x.com")
    ManagementUtility(["manage.py", "import_leads", str(good)]).execute()
    assert capsys.readouterr().out.splitlines()[-1] == "imported 1, failed 0"


def test_dry_run_reports_what_would_happen_and_stores_nothing(csv_file):
    path = csv_file("email", "a@x.com", "b@x.com", "nope")
    lines, error = import_leads_failing(str(path), "--dry-run")
    assert lines[-3:] == [
        "dry run: nothing was saved",
        "duplicates 0 (added to open leads as resubmissions)",
        "imported 2, failed 1",
    ]
    assert error.returncode == 1
    assert not Lead.objects.exists()
    assert not LeadEvent.objects.exists()


def test_a_refused_file_fails_with_the_reason_and_stores_nothing(csv_file):
    path = csv_file("Name,Company", "Ana,Initech")
    lines, error = import_leads_failing(str(path))
    assert lines == []
    assert error.returncode == 1
    assert f"{path}: No email or phone column" in str(error)
    assert not Lead.objects.exists()


def test_a_missing_file_fails_clearly(tmp_path):
    _, error = import_leads_failing(str(tmp_path / "nowhere.csv"))
    assert str(error) == f"Cannot read {tmp_path / 'nowhere.csv'}: No such file or directory."


def test_a_windows_encoded_file_needs_its_encoding_named(csv_file):
    path = csv_file("email,last_name", "ana@x.com,Müller", encoding="cp1252")
    _, error = import_leads_failing(str(path))
    assert "not UTF-8 text" in str(error)
    assert not Lead.objects.exists()
    lines, _ = import_leads(str(path), "--encoding", "cp1252")
    assert lines[-1] == "imported 1, failed 0"
    assert Lead.objects.get().last_name == "Müller"


def test_only_the_first_thousand_problems_are_listed(csv_file):
    path = csv_file("email", *(f"bad{i}" for i in range(1005)))
    lines, _ = import_leads_failing(str(path))
    assert len([line for line in lines if line.startswith("row ")]) == 1000
    assert lines[-3:] == [
        "... and 5 more problems not shown",
        "duplicates 0 (added to open leads as resubmissions)",
        "imported 0, failed 1005",
    ]
