"""Developer tasks: keep environment.yml in step with requirements.lock; write generated docs.

``python -m salesreport.devtools sync-environment-yml`` rewrites environment.yml
from requirements.in (the top-level packages) with the versions pinned in
requirements.lock; a test fails when the two drift apart. :func:`write_generated` is the
command of the generated pages (``python -m salesreport.kpis.docs``,
``python -m salesreport.data.docs``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(path: Path = ROOT / "requirements.lock") -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if m:
            pins[_norm(m.group(1))] = m.group(2)
    return pins


def top_level(path: Path = ROOT / "requirements.in") -> list[str]:
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(_norm(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0]))
    return names


def environment_yml() -> str:
    pins = lock_pins()
    lines = [
        "# conda users: `conda env create -f environment.yml`, then `pip install --no-deps -e .`",
        "# Generated from requirements.in + requirements.lock by `make lock`; a test checks they agree.",
        "name: salesreport",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        "  - python=3.11",
        "  - pip",
        "  - pip:",
    ]
    lines += [f"      - {n}=={pins[n]}" for n in top_level()]
    return "\n".join(lines) + "\n"


def environment_yml_pins(path: Path = ROOT / "environment.yml") -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\s*-\s*([A-Za-z0-9_.\-]+)==(\S+)\s*$", line)
        if m:
            pins[_norm(m.group(1))] = m.group(2)
    return pins


def generated_path(name: str) -> Path:
    """Where a generated page lives: ``docs/<name>`` of the project."""
    from salesreport.params import project_root

    return project_root() / "docs" / name


def write_generated(render, name: str, argv: list[str] | None = None) -> int:
    """Write ``render()`` to ``docs/<name>`` (or to the path given as the only argument)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and (argv[0].startswith("-") or len(argv) > 1):  # `--help` is not a file to write
        print(f"usage: python -m ... [PATH]  (writes docs/{name}, or PATH)", file=sys.stderr)
        return 0 if argv[0] in ("-h", "--help") else 2
    path = Path(argv[0]) if argv else generated_path(name)
    path.write_text(render(), encoding="utf-8")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["sync-environment-yml"]:
        (ROOT / "environment.yml").write_text(environment_yml(), encoding="utf-8")
        print("environment.yml updated")
        return 0
    print("usage: python -m salesreport.devtools sync-environment-yml", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
