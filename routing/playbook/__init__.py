"""Rules as code: the whole routing set-up as one playbook file (docs/playbook.md).

``playbook_export()`` reads teams, reps, skills, holiday calendars, territories, pools, the
rule set in force, scoring rules and pipeline settings into a dict keyed by names, never
database ids, so the file moves between databases; ``playbook_dump`` writes it as YAML in
a fixed order, so exporting twice gives the same bytes.

``playbook_import(data, dry_run=...)`` checks the whole file first and writes nothing if
anything is wrong; every error names the entry and the field
(``pools[2] 'EMEA RR'.members[1]: unknown rep 'jdoe'``). Then, in one transaction, it adds
and updates the entries, replaces the lists inside them, writes the rules into the draft
and publishes it as a new version. A dry run does all of that and rolls it back.
"""

from routing.playbook.base import FORMAT, ImportReport, PlaybookError
from routing.playbook.check import playbook_check
from routing.playbook.export import playbook_dump, playbook_export, playbook_load
from routing.playbook.write import playbook_import

__all__ = [
    "FORMAT",
    "ImportReport",
    "PlaybookError",
    "playbook_check",
    "playbook_dump",
    "playbook_export",
    "playbook_import",
    "playbook_load",
]
