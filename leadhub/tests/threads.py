"""Running one function in several threads at once, each with its own database connection,
as several processes would: for the tests of claims that must hold under concurrency."""

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def at_once(count: int, run: Callable[[], T], *, timeout: float = 120) -> list[T]:
    """Start ``count`` threads that each call ``run()`` as soon as all are ready; return
    their results. The first error raised in a thread is raised here."""
    barrier = threading.Barrier(count)
    results: list[T] = []
    errors: list[BaseException] = []

    def thread() -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            results.append(run())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=thread) for _ in range(count)]
    for each in threads:
        each.start()
    for each in threads:
        each.join(timeout=timeout)
    if errors:
        raise errors[0]
    assert len(results) == count, "a thread did not finish in time"
    return results
