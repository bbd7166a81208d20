"""The notebook jobs the run (:mod:`salesreport.pipeline`) hands to its workers
(:mod:`salesreport.execute`): one :class:`NotebookJob` per page, written as a JSON file the
workers read.

A job says which notebook to run with which parameters, where its executed copy, its HTML
page and its error and done markers go, and what the page's frame shows (title, month,
footer, the links to the run's other pages). Reading a job checks its keys and types, so a
job written by another version of the package fails with a message naming the key, not with
a ``KeyError`` deep in a worker. Standard library only: the workers start before pandas or
pydantic are imported anywhere.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import MISSING, asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

#: the offline copy of the KPI definitions (docs/kpis.md) published beside a run's pages
DEFINITIONS_PAGE = "kpis.html"


@dataclass(frozen=True)
class PageLink:
    """A link from one page of a run to another (the pages' top bar)."""

    href: str  # a file beside the page: ``manager.html``, ``kpis.html``
    title: str  # as the reader sees it: ``Sales manager``


@dataclass(frozen=True)
class NotebookJob:
    """One page of a run: a notebook executed with papermill, then converted to HTML."""

    page: str  # the page's name, the stem of its HTML file: ``executive``, ``rep-R0291``
    input: str  # the notebook to run
    output: str  # the executed notebook, kept for audit
    html: str  # the page written for readers
    error: str  # JSON written when the job fails (notebook, cell, exception, message)
    done: str  # touched when the page is written
    parameters: dict[str, str]  # the notebook's parameters (team, month, run_dir ...)
    cwd: str  # the kernel's working folder
    title: str  # the HTML page's <title>
    team_title: str  # the team as readers know it: ``EMEA``
    month: str  # the month as the top bar writes it: ``November 2026``
    footer: str
    label: str = ""  # a page of one AE: ``Grace Kelly (R0291)``
    timeout: int | None = None  # seconds a cell may run (``notebook_timeout``)
    kernel: str = "salesreport"
    #: pages with the same pool share one kernel per worker, cleared between pages
    #: (the per-AE pages, one notebook run many times); empty: a kernel of its own
    kernel_pool: str = ""
    links: tuple[PageLink, ...] = ()  # the run's pages, for the top bar
    job_file: str = ""  # where this job is written (set by :meth:`write`)

    @property
    def notebook(self) -> str:
        """The notebook's file name (``executive.ipynb``), as messages name it."""
        return Path(self.input).name

    @property
    def audience(self) -> str:
        """The audience notebook the page comes from (``rep`` for ``rep-R0291``)."""
        return Path(self.input).stem

    def write(self, path: str | Path) -> NotebookJob:
        """Write the job to ``path`` (JSON); returns the job with ``job_file`` set."""
        job = replace(self, job_file=str(path))
        Path(path).write_text(json.dumps(asdict(job)), encoding="utf-8")
        return job

    @classmethod
    def read(cls, path: str | Path) -> NotebookJob:
        """The job written to ``path`` by :meth:`write`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NotebookJob:
        """A job from its JSON form; an unknown or missing key, or a value of the wrong
        type, raises ``ValueError`` naming it."""
        hints = typing.get_type_hints(cls)
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"notebook job: unknown keys {unknown}")
        required = [n for n, f in known.items() if _required(f) and n not in data]
        if required:
            raise ValueError(f"notebook job: missing keys {required}")
        values = dict(data)
        if "links" in values:
            values["links"] = tuple(PageLink(**link) for link in values["links"])
        for name, value in values.items():
            if not _is(value, hints[name]):
                raise ValueError(f"notebook job: {name} = {value!r} is not {hints[name]}")
        return cls(**values)


def _required(f) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def _is(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits the (simple) type ``hint`` of a job field."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is dict:
        k, v = typing.get_args(hint)
        return isinstance(value, dict) and all(_is(a, k) and _is(b, v) for a, b in value.items())
    if origin is tuple:
        (item, _) = typing.get_args(hint)
        return isinstance(value, tuple) and all(_is(x, item) for x in value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


__all__ = ["DEFINITIONS_PAGE", "NotebookJob", "PageLink"]
