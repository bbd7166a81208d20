"""The forecasts in a process of their own (salesreport.forecast.process): the same frames and
notes as made in the run's process, errors that reach the run, a process that always stops."""

from __future__ import annotations

import json
import os
import signal
import time

import pandas as pd
import pytest

from salesreport.context import build_context
from salesreport.forecast.process import ForecastProcess, RemoteError, forecast_process
from salesreport.params import load_params

pytestmark = pytest.mark.skipif(os.name == "nt", reason="no forecast process on Windows")


def double(x):
    return 2 * x


def fail_plainly(message):
    raise ValueError(message)


class _Unpicklable(Exception):
    def __init__(self, code, detail):  # two arguments: unpickling calls it with one
        super().__init__(f"{code}: {detail}")


def fail_unpicklably(_):
    raise _Unpicklable(7, "a custom error")


def package_file(_):
    import salesreport

    return salesreport.__file__


def big(n):
    return b"x" * n


def sleep_then(x):
    time.sleep(x)
    return x


def test_forecasts_made_in_their_process_equal_those_made_here(sample_dir):
    """Every frame (values, types, order) and every note (in the same order: the forecasts'
    before the cohorts') equals the run's-process result; a segment column the data lacks
    is noted by both paths in the same place."""
    from salesreport.data import load_tables
    from tests.conftest import REPORT_MONTH

    params = load_params("emea")
    params = params.model_copy(
        update={
            "forecast": params.forecast.model_copy(update={"segments": ["region", "no_such"]}),
            "cohorts": params.cohorts.model_copy(update={"segment_by": ["no_such_either"]}),
        }
    )
    loaded = load_tables(params, str(sample_dir), REPORT_MONTH)
    here = build_context(params, loaded.tables, REPORT_MONTH)
    with forecast_process() as proc:
        there = build_context(params, loaded.tables, REPORT_MONTH, forecaster=proc)
    assert sorted(here.frames) == sorted(there.frames)  # context.json lists them sorted
    for name in here.frames:
        pd.testing.assert_frame_equal(here.frames[name], there.frames[name], check_exact=True)
    assert json.dumps(here.notes, default=str) == json.dumps(there.notes, default=str)
    unavailable = list(there.notes["unavailable"])
    assert unavailable.index("segment forecasts by no_such") < unavailable.index(
        "cohorts by no_such_either"
    )
    assert len(there.frames["segment_forecasts"]) and len(there.frames["forecast_headline"])


def test_results_and_errors_come_back_in_order():
    with ForecastProcess() as proc:
        pending = proc.submit(double, 21)
        deadline = time.monotonic() + 60
        while not pending.ready() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pending.ready() and pending.result() == 42
        import salesreport

        assert proc.submit(package_file, None).result() == salesreport.__file__  # same code
        with pytest.raises(ValueError, match="no revenue") as info:
            proc.submit(fail_plainly, "no revenue").result()
        # the forecast process's traceback is kept for --debug
        assert isinstance(info.value.__cause__, RemoteError)
        assert "fail_plainly" in str(info.value.__cause__)
        with pytest.raises(RemoteError, match="_Unpicklable: 7: a custom error"):
            proc.submit(fail_unpicklably, None).result()
        # a task whose result was never taken (a team whose computation failed) is
        # discarded by the next one
        proc.submit(double, 1)
        assert proc.submit(double, 2).result() == 4


def test_a_reply_is_read_as_it_comes_and_the_process_ends_after_its_last_task():
    """The reply (here larger than a pipe holds: the process would wait in ``send`` until it
    is read) is taken off the pipe at once, so the process ends after its last task even
    before the run asks for the result; the result is then still there."""
    size = 4 * 2**20
    with ForecastProcess(tasks=2) as proc:
        assert proc.submit(big, 10).result() == b"x" * 10
        pending = proc.submit(big, size)
        assert proc._proc.wait(timeout=60) == 0  # ended by itself: the last reply was read
        assert pending.ready() and pending.result() == b"x" * size
    with ForecastProcess() as proc:  # no number of tasks: it waits for the next one
        pending = proc.submit(big, size)
        deadline = time.monotonic() + 60
        while not pending.ready() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pending.ready() and proc._proc.poll() is None
        assert proc.submit(double, 2).result() == 4


def test_a_killed_forecast_process_is_a_clear_error_and_close_always_stops_it():
    proc = ForecastProcess()
    try:
        pending = proc.submit(sleep_then, 30)
        os.kill(proc._proc.pid, signal.SIGKILL)
        with pytest.raises(RuntimeError, match=r"forecast process stopped \(signal 9\).*memory"):
            pending.result()
    finally:
        proc.close()
    assert proc._proc.poll() is not None
    busy = ForecastProcess()
    busy.submit(sleep_then, 30)
    started = time.monotonic()
    busy.close()  # a run that failed or was interrupted does not wait for its forecasts
    assert busy._proc.poll() is not None and time.monotonic() - started < 10


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_the_forecast_process_ends_when_the_run_is_gone():
    """Killed without closing it (the run's process killed): the process reads the end of
    its task pipe and exits by itself."""
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "from salesreport.forecast.process import ForecastProcess\n"
        "p = ForecastProcess()\n"
        "print(p._proc.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 60
    stat = f"/proc/{pid}/stat"
    while time.monotonic() < deadline:
        try:
            with open(stat, encoding="utf-8") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return
        if state == "Z":  # exited, not yet reaped by its new parent
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    pytest.fail("the forecast process outlived the run's process")


def test_the_runs_process_leaves_the_forecasting_libraries_to_the_forecast_process():
    """What the run's own process imports to compute a report (the forecasts' inputs
    included) loads neither scipy, statsmodels nor scikit-learn; every public name of
    salesreport.forecast still resolves, from the module the package names."""
    from tests.conftest import modules_loaded

    code = (
        "import salesreport.cli, salesreport.pipeline, salesreport.context, salesreport.kpis\n"
        "import salesreport.outputs, salesreport.data.load, salesreport.cohorts\n"
        "import salesreport.forecast.process, salesreport.forecast.ledger\n"
        "import salesreport.forecast.pipeline_forecast\n"
    )
    assert modules_loaded(code, ("scipy", "statsmodels", "sklearn")) == []

    import importlib

    import salesreport.forecast as package

    eager = {n: "pipeline_forecast" for n in ("pipeline_backtest", "pipeline_forecast")}
    eager |= {"stage_win_rates": "pipeline_forecast", "reconcile": "reconcile"}
    assert sorted(package.__all__) == sorted([*package._WHERE, *eager])
    for name, module in [*package._WHERE.items(), *eager.items()]:
        real = getattr(importlib.import_module(f"salesreport.forecast.{module}"), name)
        assert getattr(package, name) is real
