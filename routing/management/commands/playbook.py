"""``manage.py playbook export [--output FILE]``, ``manage.py playbook diff FILE`` and
``manage.py playbook import FILE [--dry-run] [--actor USERNAME]``: the whole set-up (routing
and the sections other apps register, such as SLA policies) as one YAML file
(docs/playbook.md).

``diff`` prints what importing FILE would change, section by section, and exits with 1 when
something would (0 when nothing would), as diff(1) does; an import prints the same diff.

``lint [FILE] [--sample N]`` lists what is wrong with the rule set and the set-up
(routing.lint): with FILE, the set-up the file describes (imported and rolled back); without,
the draft and the version in force. It exits with 1 when there is an error.

An import's changes are recorded in the audit log as coming from the playbook, made by
``--actor`` (a user's username) or by nobody."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadhub.changes import PLAYBOOK, change_source
from routing.lint import MAX_SAMPLE, SAMPLE_SIZE, database_lint, playbook_lint
from routing.playbook import (
    PlaybookError,
    playbook_dump,
    playbook_export,
    playbook_load,
)
from routing.playbook.diff import playbook_diff, playbook_import_diff


class Command(BaseCommand):
    help = "Export, diff, lint or import the whole set-up as a playbook file (YAML)."

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
        diff = sub.add_parser(
            "diff", help="Print what importing a playbook would change; exit 1 if anything would."
        )
        diff.add_argument("file")
        lint = sub.add_parser(
            "lint", help="List what is wrong with the rules and the set-up; exit 1 on an error."
        )
        lint.add_argument("file", nargs="?", help="Lint this playbook instead of the database's.")
        lint.add_argument(
            "--sample",
            type=int,
            default=SAMPLE_SIZE,
            help=f"Recent leads to decide with the rules (default {SAMPLE_SIZE}; 0: none).",
        )

    def handle(self, *args, **options) -> None:
        if options["action"] == "export":
            text = playbook_dump(playbook_export())
            if options["output"]:
                Path(options["output"]).write_text(text, encoding="utf-8")
            else:
                self.stdout.write(text, ending="")
            return
        if options["action"] == "diff":
            self._diff(options["file"])
            return
        if options["action"] == "lint":
            self._lint(options["file"], options["sample"])
            return
        text = self._read(options["file"])
        actor = None
        if options["actor"] is not None:
            users = get_user_model()._default_manager
            actor = users.filter(**{users.model.USERNAME_FIELD: options["actor"]}).first()
            if actor is None:
                raise CommandError(f"No user {options['actor']!r} (--actor).")
        try:
            with change_source(PLAYBOOK, actor=actor):
                changes, report = playbook_import_diff(
                    playbook_load(text), dry_run=options["dry_run"], actor=actor
                )
        except PlaybookError as exc:
            raise CommandError(str(exc)) from None
        if changes is None:
            raise CommandError("\n".join(report.lines()))
        for line in [*changes.lines(), *report.lines()]:
            self.stdout.write(line)

    def _read(self, path: str) -> str:
        try:
            return Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from None

    def _diff(self, path: str) -> None:
        text = self._read(path)
        try:
            with change_source(PLAYBOOK):
                changes = playbook_diff(playbook_load(text))
        except PlaybookError as exc:
            count = f"{len(exc.errors)} error(s): the file does not import."
            raise CommandError("\n".join([*exc.errors, count])) from None
        for line in changes.lines():
            self.stdout.write(line)
        if changes.changed:
            raise SystemExit(1)

    def _lint(self, path: str | None, sample: int) -> None:
        if not 0 <= sample <= MAX_SAMPLE:
            raise CommandError(f"--sample must be between 0 and {MAX_SAMPLE}, not {sample}.")
        if path is not None:
            text = self._read(path)
            try:
                with change_source(PLAYBOOK):
                    reports = [playbook_lint(playbook_load(text), sample=sample)]
            except PlaybookError as exc:
                count = f"{len(exc.errors)} error(s): the file does not import."
                raise CommandError("\n".join([*exc.errors, count])) from None
            setup: list = []
        else:
            setup, reports = database_lint(sample=sample)
        failed = False
        if setup:
            self.stdout.write("The set-up:")
            for finding in setup:
                self.stdout.write(f"  {finding.line()}")
            failed = any(f.severity == "error" for f in setup)
        if not reports:
            self.stdout.write("No rule set to lint: there is no draft and none in force.")
        for report in reports:
            self.stdout.write("")
            self.stdout.write(report.heading())
            for finding in report.findings:
                self.stdout.write(f"  {finding.line()}")
            failed = failed or bool(report.errors)
        if failed:
            raise SystemExit(1)
