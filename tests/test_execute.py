"""The notebook worker and the salesreport command start without what they do not use."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def _fresh_process(process: str, code: str) -> list[str]:
    """Lines printed by ``code`` in a new interpreter started as ``process`` starts."""
    prelude = (
        f"from salesreport.execute import skip_unused_imports\nskip_unused_imports({process!r})\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_the_worker_imports_neither_pandas_nor_the_iri_grammar():
    # A worker only drives papermill and converts to HTML: pandas (~1 s) is left to the
    # kernels, and jsonschema's optional rfc3987_syntax (~1 s of grammar building) is skipped.
    code = (
        "import sys, papermill, nbformat, jsonschema\n"
        "from salesreport.html import export_notebook_html\n"
        "print(sorted({'pandas', 'rfc3987_syntax', 'lark'} & {m for m, v in sys.modules.items() if v}))\n"
    )
    assert _fresh_process("worker", code) == ["[]"]


def test_the_report_command_validates_data_without_loading_hypothesis():
    # pandera loads hypothesis (installed for the tests) for data synthesis only; the
    # salesreport command marks it absent, and validation still finds the bad row (index 1).
    code = (
        "import sys, pandas as pd, pandera.pandas as pa\n"
        "import salesreport.data\n"
        "schema = pa.DataFrameSchema({'amount': pa.Column(float, pa.Check.ge(0))})\n"
        "try:\n"
        "    schema.validate(pd.DataFrame({'amount': [1.0, -2.0]}), lazy=True)\n"
        "    print('no error')\n"
        "except pa.errors.SchemaErrors as e:\n"
        "    print('rows', list(e.failure_cases['index']))\n"
        "print(sys.modules.get('hypothesis') is not None)\n"
    )
    assert _fresh_process("report", code) == ["rows [1]", "False"]


def test_the_worker_engine_saves_at_start_and_end_not_around_every_cell(tmp_path, monkeypatch):
    import nbformat
    import papermill as pm
    import papermill.engines

    from salesreport.execute import ensure_kernel, register_engine

    saves: list[int] = []

    def counting_write(nb, path):
        saves.append(sum(1 for c in nb.cells if c.get("outputs")))
        nbformat.write(nb, path)

    monkeypatch.setattr(papermill.engines, "write_ipynb", counting_write)
    counts = {}
    for n_cells in (2, 8):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(f"print({i})") for i in range(n_cells)]
        nbformat.write(nb, tmp_path / "in.ipynb")
        saves.clear()
        out = pm.execute_notebook(
            str(tmp_path / "in.ipynb"),
            str(tmp_path / "out.ipynb"),
            engine_name=register_engine(),
            kernel_name=ensure_kernel(),
            progress_bar=False,
        )
        counts[n_cells] = list(saves)
        assert all(c.outputs for c in out.cells)  # every cell ran
    # one save as the run starts (no output yet), one at the end with every output
    assert counts == {2: [0, 2], 8: [0, 8]}
