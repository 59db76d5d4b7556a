"""Where a change to the set-up comes from, and who makes it: a context any app may set
and the audit log (``leadhub.audit``) reads. A leaf module, like ``leadhub.lanes``: every
app may import it, it imports none of them.

A request gets its source from the audit app's middleware (``admin``, ``api`` or ``web``,
the actor its signed-in user or token). Code that changes the set-up outside a request
says what it is with ``change_source``: the playbook import is ``playbook``. Anything
else (a management command, the shell, a task) is recorded as ``command``."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

ADMIN = "admin"
API = "api"
WEB = "web"
PLAYBOOK = "playbook"
COMMAND = "command"
SOURCES = (ADMIN, API, WEB, PLAYBOOK, COMMAND)


@dataclass(frozen=True)
class ChangeSource:
    source: str
    actor: Any = None  # a user, or None (the request's user, if any, or nobody)


_current: ContextVar[ChangeSource | None] = ContextVar("leadhub_change_source", default=None)


@contextmanager
def change_source(source: str, *, actor: Any = None) -> Iterator[ChangeSource]:
    """Record the changes made inside the block as coming from ``source`` (one of
    ``SOURCES``), by ``actor`` when given. Blocks nest; the innermost wins."""
    if source not in SOURCES:
        raise ValueError(f"Unknown change source {source!r}; one of {', '.join(SOURCES)}.")
    current = ChangeSource(source, actor)
    token = _current.set(current)
    try:
        yield current
    finally:
        _current.reset(token)


def current_change_source() -> ChangeSource | None:
    """The innermost ``change_source`` in force, or None."""
    return _current.get()
