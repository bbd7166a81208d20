"""The environment files agree: environment.yml pins what requirements.lock pins."""

from __future__ import annotations

from salesreport.devtools import environment_yml_pins, lock_pins, top_level


def test_environment_yml_lists_every_top_level_package_at_the_locked_version():
    lock = lock_pins()
    env = environment_yml_pins()
    assert set(env) == set(top_level()), (
        "environment.yml and requirements.in list different packages"
    )
    drift = {n: (env[n], lock.get(n)) for n in env if env[n] != lock.get(n)}
    assert not drift, f"environment.yml drifted from requirements.lock (run `make lock`): {drift}"


def test_every_dependency_is_pinned_exactly():
    from salesreport.devtools import ROOT

    text = (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
    reqs = [ln for ln in text if ln and not ln.startswith((" ", "#"))]
    assert reqs and all("==" in ln for ln in reqs)
