"""The notebook worker (salesreport.execute) starts without what it does not use."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_the_worker_imports_neither_pandas_nor_the_iri_grammar():
    # A worker only drives papermill and converts to HTML: pandas (~1 s) is left to the
    # kernels, and jsonschema's optional rfc3987_syntax (~1 s of grammar building) is skipped.
    code = (
        "import sys\n"
        "from salesreport.execute import _skip_unused_slow_imports\n"
        "_skip_unused_slow_imports()\n"
        "import papermill, nbformat, jsonschema\n"
        "from salesreport.html import export_notebook_html\n"
        "print(sorted({'pandas', 'rfc3987_syntax', 'lark'} & {m for m, v in sys.modules.items() if v}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]", out.stderr
