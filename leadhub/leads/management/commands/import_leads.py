"""manage.py import_leads FILE.csv: import leads from a CSV file (see docs/import.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadhub.leads.importer import ImportFileError, lead_import_csv, open_csv


class Command(BaseCommand):
    help = (
        "Import leads from a CSV file. Bad rows are reported by row number and skipped; the "
        "command exits with status 1 when any row failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", type=Path, help="The CSV file; its first row names the columns."
        )
        parser.add_argument("--source", default="", help="Lead source for rows without one.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row, report, and save nothing."
        )
        parser.add_argument(
            "--encoding",
            default="utf-8",
            help="The file's encoding: utf-8 (default), or e.g. cp1252 for Excel's plain CSV.",
        )

    def handle(
        self, *args, file: Path, source: str, dry_run: bool, encoding: str, **options
    ) -> None:
        try:
            with file.open("rb") as binary:
                report = lead_import_csv(
                    file=open_csv(binary, encoding=encoding), source=source, dry_run=dry_run
                )
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror or exc}.") from None
        except ImportFileError as exc:
            raise CommandError(f"{file}: {exc}") from None

        for warning in report.warnings:
            self.stdout.write(f"warning: {warning}")
        for error in report.errors:
            self.stdout.write(str(error))
        if report.errors_not_shown:
            self.stdout.write(f"... and {report.errors_not_shown} more problems not shown")
        if dry_run:
            self.stdout.write("dry run: nothing was saved")
        self.stdout.write(f"duplicates {report.duplicates} (added to open leads as resubmissions)")
        self.stdout.write(f"imported {report.imported}, failed {report.failed}")
        if report.failed:
            rows = "row" if report.failed == 1 else "rows"
            raise CommandError(f"{report.failed} {rows} failed; see above.", returncode=1)
