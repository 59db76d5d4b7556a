"""Reads for SLA: business calendars as the plain data ``sla.calendars`` computes with."""

from reps.models import Holiday
from sla.calendars import BusinessCalendarSpec, BusinessInterval
from sla.models import BusinessCalendar


def calendar_spec(calendar: BusinessCalendar | None) -> BusinessCalendarSpec:
    """The calendar as a ``BusinessCalendarSpec``, in two queries (hours, holidays; one
    without a holiday calendar). No calendar: open around the clock.

    All the holidays of the holiday calendar are loaded, not those of a window around
    now. A calendar holds a few dozen a year, so that costs little, and the spec is then
    right for any instant: a deadline weeks out or a clock paused across New Year cannot
    run past a window and silently count a holiday as a business day.
    """
    if calendar is None:
        return BusinessCalendarSpec.twenty_four_seven()
    hours = calendar.hours.order_by("weekday", "start").values_list("weekday", "start", "end")
    holidays = (
        frozenset(
            Holiday.objects.filter(calendar_id=calendar.holiday_calendar_id).values_list(
                "date", flat=True
            )
        )
        if calendar.holiday_calendar_id is not None
        else frozenset()
    )
    return BusinessCalendarSpec(
        timezone=calendar.timezone,
        intervals=tuple(BusinessInterval(*row) for row in hours),
        holidays=holidays,
    )
