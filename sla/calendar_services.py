"""Writes for business calendars: importing holidays from an iCalendar file."""

from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils import timezone

from reps.models import Holiday, HolidayCalendar
from sla.ical import IcalError, read_holidays

# Rules without an end are expanded this many years ahead (to the end of that year).
HORIZON_YEARS = 10
_NAME_LENGTH = Holiday._meta.get_field("name").max_length


@dataclass
class HolidayImportReport:
    added: int = 0
    updated: int = 0  # a date the calendar had, under another name
    unchanged: int = 0
    errors: list[IcalError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def import_horizon(today: date) -> date:
    """The last date a recurring holiday is expanded to: the end of the year
    ``HORIZON_YEARS`` from ``today``."""
    return date(today.year + HORIZON_YEARS, 12, 31)


@transaction.atomic
def holidays_import(
    *, calendar: HolidayCalendar, text: str, dry_run: bool = False
) -> HolidayImportReport:
    """Add the holidays of an iCalendar text to ``calendar``, all or nothing.

    A file with any error writes nothing (the report lists every error with its line), so
    a calendar is never left half-imported. A date the calendar has already is updated to
    the file's name, never added twice; holidays the file does not mention are kept. An
    unsaved ``calendar`` is created here with its holidays, so a failed import leaves no
    empty calendar behind. ``dry_run`` counts the same way and writes nothing.

    Names longer than the column are cut to fit rather than failing the import.
    """
    result = read_holidays(text, horizon=import_horizon(timezone.localdate()))
    report = HolidayImportReport(errors=result.errors, dry_run=dry_run)
    if result.errors:
        return report

    existing: dict[date, Holiday] = {}
    if calendar.pk is not None:
        # Lock the calendar row: two imports into one calendar run one after the other
        # rather than both inserting the same new date.
        HolidayCalendar.objects.select_for_update().filter(pk=calendar.pk).first()
        existing = {h.date: h for h in Holiday.objects.filter(calendar_id=calendar.pk)}
    added, changed = [], []
    for holiday in result.holidays:
        name = holiday.name[:_NAME_LENGTH]
        row = existing.get(holiday.day)
        if row is None:
            added.append(Holiday(date=holiday.day, name=name))
        elif row.name != name:
            row.name = name
            changed.append(row)
        else:
            report.unchanged += 1
    report.added, report.updated = len(added), len(changed)
    if dry_run:
        return report
    if calendar.pk is None:
        calendar.save()
    # Row by row (a calendar holds a few hundred at most): each is recorded in the audit log.
    for row in added:
        row.calendar = calendar
        row.save()
    for row in changed:
        row.save(update_fields=["name"])
    return report
