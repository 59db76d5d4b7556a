"""``manage.py playbook export [--output FILE]`` and ``manage.py playbook import FILE
[--dry-run] [--actor USERNAME]``: the whole set-up (routing and the sections other apps
register, such as SLA policies) as one YAML file (docs/playbook.md).

An import's changes are recorded in the audit log as coming from the playbook, made by
``--actor`` (a user's username) or by nobody."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadhub.changes import PLAYBOOK, change_source
from routing.playbook import (
    PlaybookError,
    playbook_dump,
    playbook_export,
    playbook_import,
    playbook_load,
)


class Command(BaseCommand):
    help = "Export or import the whole set-up as a playbook file (YAML)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="Write the playbook to stdout or a file.")
        export.add_argument("--output", "-o", help="Write here instead of stdout.")
        load = sub.add_parser("import", help="Check a playbook, write it and publish its rules.")
        load.add_argument("file")
        load.add_argument("--dry-run", action="store_true", help="Check and report; write nothing.")
        load.add_argument(
            "--actor", help="Username the import is recorded as made by (audit log, publication)."
        )

    def handle(self, *args, **options) -> None:
        if options["action"] == "export":
            text = playbook_dump(playbook_export())
            if options["output"]:
                Path(options["output"]).write_text(text, encoding="utf-8")
            else:
                self.stdout.write(text, ending="")
            return
        try:
            text = Path(options["file"]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc}") from None
        actor = None
        if options["actor"] is not None:
            users = get_user_model()._default_manager
            actor = users.filter(**{users.model.USERNAME_FIELD: options["actor"]}).first()
            if actor is None:
                raise CommandError(f"No user {options['actor']!r} (--actor).")
        try:
            with change_source(PLAYBOOK, actor=actor):
                report = playbook_import(
                    playbook_load(text), dry_run=options["dry_run"], actor=actor
                )
        except PlaybookError as exc:
            raise CommandError(str(exc)) from None
        if not report.ok:
            raise CommandError("\n".join(report.lines()))
        for line in report.lines():
            self.stdout.write(line)
