"""Routing's own sections of the playbook, registered in the file's order when
``routing.playbook`` is imported, through the same ``register_section`` that an upper app
calls from its ``AppConfig.ready()`` (as ``sla.playbook`` does): they come first, and are
checked, written and exported by the same loops as the upper apps' sections."""

from reps.models import HolidayCalendar, Rep, Skill, Team
from routing.models import Pool, Territory
from routing.playbook import check, export, write
from routing.playbook.base import Section, register_section

SECTIONS = (
    Section(
        name="teams",
        export=export.export_teams,
        check=check.check_teams,
        write=write.write_teams,
        kind="team",
        stored=lambda: Team.objects.values_list("name", flat=True),
    ),
    Section(
        name="skills",
        export=export.export_skills,
        check=check.check_skills,
        write=write.write_skills,
        kind="skill",
        stored=lambda: Skill.objects.values_list("name", flat=True),
        count=None,
    ),
    Section(
        name="holiday_calendars",
        export=export.export_holiday_calendars,
        check=check.check_holiday_calendars,
        write=write.write_holiday_calendars,
        kind="holiday calendar",
        stored=lambda: HolidayCalendar.objects.values_list("name", flat=True),
        count=None,
    ),
    Section(
        name="reps",
        export=export.export_reps,
        check=check.check_reps,
        write=write.write_reps,
        kind="rep",
        key="username",
        stored=lambda: Rep.objects.values_list("user__username", flat=True),
    ),
    Section(
        name="pools",
        export=export.export_pools,
        check=check.check_pools,
        write=write.write_pools,
        kind="pool",
        stored=lambda: Pool.objects.values_list("name", flat=True),
    ),
    Section(
        name="territories",
        export=export.export_territories,
        check=check.check_territories,
        write=write.write_territories,
        kind="territory",
        stored=lambda: Territory.objects.values_list("name", flat=True),
    ),
    Section(
        name="rules",
        export=export.export_rules,
        check=check.check_rules,
        write=write.write_rules,
    ),
    Section(
        name="scoring_rules",
        export=export.export_scoring_rules,
        check=check.check_scoring_rules,
        write=write.write_scoring_rules,
        count=None,
    ),
    Section(
        name="pipeline",
        export=export.export_pipeline,
        check=check.check_pipeline,
        write=write.write_pipeline,
        count=None,
    ),
)


def register_sections() -> None:
    """Add routing's sections to the playbook, first (from ``routing.playbook``)."""
    for section in SECTIONS:
        register_section(section)
