#!/usr/bin/env python3
"""Run the project's checks on a machine that has nothing but Python 3.10+.

Creates ``.venv`` if it is missing, installs the project with its ``dev`` extra (again
only when ``pyproject.toml`` changed), then runs, in order: ruff (lint, then ``format --check``),
mypy strict, the pytest suite (all of it, ``slow`` tests included),
the benchmarks in ``--quick`` mode (so they cannot rot; no timing is asserted), the
deployment test (the example DAGs in a real Airflow, ``tests/deployment``) and the Airflow
version matrix (``scripts/airflow_matrix.py``: the older minors, each in its own venv).
With pytest arguments only ruff, mypy and pytest run; the inner loop while editing is
``python3 scripts/run_tests.py -m "not slow"`` (about 30 s of tests).

Usage::

    python3 scripts/run_tests.py            # everything
    python3 scripts/run_tests.py -k enrich  # extra arguments go to pytest

Only the standard library is used at the top level: this runs before the venv exists.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bootstrap import BIN, PYTHON, ROOT, ensure_environment
from local_services import ensure_installed

#: What ruff checks and ruff format keeps formatted.
LINTED_PATHS = ("airflow_provider_apollo", "tests", "example_dags", "benchmarks", "scripts")
# pytest's exit code when it collected no test: a run that tests nothing is a failure here.
PYTEST_NO_TESTS = 5


def run_step(name: str, args: list[str]) -> int:
    print(f"==> {name}: {' '.join(args)}", flush=True)
    started = time.monotonic()
    code = subprocess.run(args, cwd=ROOT).returncode
    print(f"==> {name} finished in {time.monotonic() - started:.1f}s with exit code {code}", flush=True)
    return code


def main(pytest_args: list[str]) -> int:
    ensure_environment()
    # PostgreSQL (warehouse tests, the multi-host deployment's database) and Redis (the shared
    # quota store, Celery's broker) come from Debian's packages; installed here when root.
    still_missing = ensure_installed()
    if still_missing:
        print(
            f"==> not installed: {', '.join(still_missing)}; the tests that need them skip locally"
            " (and fail on CI): apt-get install " + " ".join(still_missing),
            flush=True,
        )
    steps: list[tuple[str, list[str]]] = [
        # Lint (including the complexity limit and the imports banned at DAG-parse time) and
        # formatting, on the same paths; mypy strict (its settings are in pyproject.toml).
        ("ruff", [str(BIN / "ruff"), "check", *LINTED_PATHS]),
        ("ruff format", [str(BIN / "ruff"), "format", "--check", *LINTED_PATHS]),
        ("mypy", [str(BIN / "mypy")]),
        ("pytest", [str(PYTHON), "-m", "pytest", *pytest_args]),
    ]
    if not pytest_args:  # sdist + wheel built and checked, docs site built with warnings as errors
        steps.append(("dist and docs", [str(PYTHON), str(ROOT / "scripts" / "check_release.py")]))
    if (ROOT / "benchmarks" / "__main__.py").exists() and not pytest_args:
        steps.append(("benchmarks --quick", [str(PYTHON), "-m", "benchmarks", "--quick"]))
    if not pytest_args:
        # A real Airflow (api-server, scheduler, dag-processor, triggerer) runs the example DAGs;
        # -s shows each run's credits, contacts and tasks as the sandbox counted them.
        steps.append(
            ("deployment", [str(PYTHON), "-m", "pytest", "-m", "deployment", "-s", "tests/deployment"])
        )
        # The older Airflow minors CI proves, each in its own .venv-afXY (see the script).
        steps.append(("airflow matrix", [sys.executable, str(ROOT / "scripts" / "airflow_matrix.py")]))
    failed = []
    for name, args in steps:
        code = run_step(name, args)
        if name in ("pytest", "deployment") and code == PYTEST_NO_TESTS:
            print("==> pytest collected no tests: treating that as a failure", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"==> FAILED: {', '.join(failed)}", flush=True)
        return 1
    print("==> all checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
