"""manage.py import_holidays "CALENDAR" FILE.ics: add a holiday file to a holiday calendar."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reps.models import HolidayCalendar
from sla.calendar_services import holidays_import


class Command(BaseCommand):
    help = (
        "Import holidays from an iCalendar (.ics) file into a holiday calendar, all or "
        "nothing: a file with errors is reported by line and nothing is saved (exit status 1)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("calendar", help="The holiday calendar's name.")
        parser.add_argument("file", type=Path, help="The .ics file.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file, report, and save nothing."
        )
        parser.add_argument(
            "--create", action="store_true", help="Create the calendar if there is none."
        )

    def handle(
        self, *args, calendar: str, file: Path, dry_run: bool, create: bool, **options
    ) -> None:
        target = HolidayCalendar.objects.filter(name=calendar).first()
        if target is None:
            if not create:
                raise CommandError(
                    f"No holiday calendar named {calendar!r}; --create makes a new one."
                )
            target = HolidayCalendar(name=calendar)
        try:
            text = file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror or exc}.") from None
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file} is not UTF-8 text: {exc.reason}.") from None

        report = holidays_import(calendar=target, text=text, dry_run=dry_run)
        for error in report.errors:
            self.stdout.write(f"{file}: {error}")
        if report.errors:
            problems = "error" if len(report.errors) == 1 else "errors"
            raise CommandError(f"{len(report.errors)} {problems}; nothing was saved.", returncode=1)
        if dry_run:
            self.stdout.write("dry run: nothing was saved")
        self.stdout.write(
            f"{target.name}: added {report.added}, updated {report.updated}, "
            f"unchanged {report.unchanged}"
        )
