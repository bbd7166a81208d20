"""The committed audience notebooks as papermill and an analyst see them."""

from __future__ import annotations

import ast
import logging

import nbformat
import papermill as pm
import pytest

from salesreport.params import project_root

NOTEBOOKS = sorted((project_root() / "notebooks").glob("*.ipynb"))


def _parameters_cell(path) -> str:
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one cell tagged parameters"
    return tagged[0].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_reads_every_parameter_with_its_type_and_help(path, caplog):
    """``papermill --help-notebook`` lists each parameter. Papermill's reader skips, with a
    warning, any line holding two ``=`` (an ``=`` in the comment), and then warns at every
    run that the pipeline passes an unknown parameter; the names here come from Python's
    own parser."""
    source = _parameters_cell(path)
    expected = {
        node.target.id: ast.unparse(node.annotation)
        for node in ast.parse(source).body
        if isinstance(node, ast.AnnAssign)
    }
    assert {"team", "month", "run_dir", "data_dir", "params_file"} <= set(expected)
    with caplog.at_level(logging.WARNING, logger="papermill"):
        found = pm.inspect_notebook(str(path))
    assert not [r.getMessage() for r in caplog.records if r.name.startswith("papermill")]
    assert {name: p["inferred_type_name"] for name, p in found.items()} == expected
    assert all(p["help"] for p in found.values()), "every parameter has a comment"


def test_a_notebook_runs_top_to_bottom_as_an_analyst_opens_it(tmp_path, sample_dir):
    """JupyterLab: no ``run_dir``, so the kernel loads the team's data and computes every
    number itself with the pipeline's functions; the page's sections all come out."""
    from salesreport.execute import ensure_kernel
    from tests.conftest import REPORT_MONTH

    out = tmp_path / "executive.ipynb"
    pm.execute_notebook(
        str(project_root() / "notebooks" / "executive.ipynb"),
        str(out),
        parameters={"month": REPORT_MONTH, "data_dir": str(sample_dir)},
        kernel_name=ensure_kernel(),
        cwd=str(project_root() / "notebooks"),
        progress_bar=False,
    )
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "target year to date" in html and "forecast at" in html
    # each section one HTML output, its charts embedded as PNG images
    assert "data:image/png;base64," in html
    assert html.count('<section class="sr-section') == len(
        [o for o in outputs if "text/html" in o.get("data", {})]
    )
