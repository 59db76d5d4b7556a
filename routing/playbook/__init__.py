"""Rules as code: the whole set-up as one playbook file (docs/playbook.md).

``playbook_export()`` reads teams, reps, skills, holiday calendars, territories, pools, the
rule set in force, scoring rules and pipeline settings, then the sections other apps
register (the SLA app's business calendars, SLA policies, webhooks and Slack webhooks),
into a dict keyed by names, never database ids, so the file moves between databases;
``playbook_dump`` writes it as YAML in a fixed order, so exporting twice gives the same
bytes.

``playbook_import(data, dry_run=...)`` checks the whole file first (``playbook_check``) and
writes nothing if anything is wrong; every error names the entry and the field
(``pools[2] 'EMEA RR'.members[1]: unknown rep 'jdoe'``). Then, in one transaction, it adds
and updates the entries, replaces the lists inside them, writes the rules into the draft
and publishes it as a new version. A dry run does all of that and rolls it back.

Sections. Every section, routing's own included, is a ``Section`` (its export, check and
write functions) in one registry (``register_section`` in ``base``); the loops that check,
write and export the file run over the registry and know no section by name. Routing
registers its own first, when this package is imported (``sections``).

Layering. The playbook covers every layer, but routing sits below sla and may not import
it. So the playbook stays here, and an upper app registers its sections from its
``AppConfig.ready()`` — as it already connects its models to ``routing.world`` there — and
routing runs them without knowing them: their entries are checked with the same checker
(so their errors read like routing's), may refer by name to routing's entries (teams,
reps, holiday calendars) and to each other's (a ``kind``), are written in the same
transaction after routing's sections, and move the same routing token. The alternative, a
playbook in the composition root that composes routing's sections with sla's, would have
moved the command, its tests and every import for the same result, and kept the two lists
of sections in two places. The package:

- ``base``: the error and report types, the checker, the parsers, the section registry;
- ``export``: routing's sections as data, ``playbook_export``, and YAML in and out;
- ``check``: routing's sections' checkers, and ``playbook_check``: the file read into a
  plan per section, every error collected;
- ``write``: routing's sections' writers, and ``playbook_import``;
- ``sections``: routing's sections, joining the three, registered on import.
"""

from routing.playbook.base import (
    FORMAT,
    Checker,
    ImportReport,
    PlaybookError,
    Refer,
    Section,
    Written,
    convert,
    names_of,
    parse_time,
    register_section,
    sorted_json,
)
from routing.playbook.check import playbook_check
from routing.playbook.export import playbook_dump, playbook_export, playbook_load
from routing.playbook.sections import register_sections
from routing.playbook.write import playbook_import

register_sections()

__all__ = [
    "FORMAT",
    "Checker",
    "ImportReport",
    "PlaybookError",
    "Refer",
    "Section",
    "Written",
    "convert",
    "names_of",
    "parse_time",
    "playbook_check",
    "playbook_dump",
    "playbook_export",
    "playbook_import",
    "playbook_load",
    "register_section",
    "sorted_json",
]
