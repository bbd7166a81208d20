"""One base exception; each failure kind carries what a user needs to fix it.

Exit codes of the command line (documented in the README):
  0 success · 1 unexpected error · 2 bad usage or parameters · 3 bad data ·
  4 a notebook failed · 5 publishing failed · 6 another run holds the lock
"""

from __future__ import annotations

import contextlib
import signal
import threading


class SalesReportError(Exception):
    """Base of every error the suite raises on purpose."""

    exit_code = 1


class ParameterError(SalesReportError):
    """The team's parameters (YAML or command line) are wrong."""

    exit_code = 2


class DataError(SalesReportError):
    """An input table cannot be used: unreadable, a missing column, too many bad rows.

    ``problems`` holds one entry per problem found (lazy validation: all of
    them at once), each a dict with ``file``, ``column``, ``rows`` (the first
    offending row numbers, 1-based as in a spreadsheet with its header on row 1),
    ``reason`` and ``fix``.
    """

    exit_code = 3

    def __init__(self, message: str, problems: list[dict] | None = None):
        super().__init__(message)
        self.problems = problems or []


class EngineError(DataError):
    """The engine that computes the numbers (PostgreSQL, Spark) cannot be reached, or a query
    fails there; the message names the engine (and the table and column where known) with
    the connection URL masked, ``fix`` says what to change."""

    def __init__(self, message: str, fix: str = ""):
        super().__init__(message)
        self.reason = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.reason}. {self.fix}" if self.fix else self.reason


class NotebookError(SalesReportError):
    """A notebook cell raised, the kernel died or a cell timed out."""

    exit_code = 4

    def __init__(self, message: str, notebook: str = "", cell: int | None = None, kept: str = ""):
        super().__init__(message)
        self.notebook = notebook
        self.cell = cell
        self.kept = kept


class PublishError(SalesReportError):
    """Writing the report folder failed; the previous report is untouched."""

    exit_code = 5


class LockedError(SalesReportError):
    """Another run for the same team and month is in progress."""

    exit_code = 6


# --------------------------------------------------------------------------- Ctrl-C

#: set once the command's process receives Ctrl-C (SIGINT) inside :func:`watch_interrupts`.
#: DuckDB turns a Ctrl-C that arrives while a query runs into its own ``RuntimeError("Query
#: interrupted")``, which a loader may word as a data error: whatever error follows an
#: interrupt is the interrupt (exit 130, nothing published), never a team's failure
INTERRUPTED = threading.Event()


@contextlib.contextmanager
def watch_interrupts():
    """Within the block, Ctrl-C sets :data:`INTERRUPTED` and raises ``KeyboardInterrupt`` as
    usual; the previous handler comes back after it. Only in the main thread (the only one
    Python delivers signals to), and not where SIGINT is ignored (a job a shell started in
    the background): it stays ignored."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # a background job ignores it
    ):
        yield
        return
    INTERRUPTED.clear()

    def on_interrupt(signum, frame):
        INTERRUPTED.set()
        signal.default_int_handler(signum, frame)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
