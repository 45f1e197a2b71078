#!/usr/bin/env python3
"""Run the project's checks on a machine that has nothing but Python 3.10+.

Creates ``.venv`` if it is missing, installs the project with its ``dev`` extra (again
only when ``pyproject.toml`` changed), then runs, in order: ruff, mypy, the pytest suite
and the benchmarks in ``--quick`` mode (so they cannot rot; no timing is asserted).

Usage::

    python3 scripts/run_tests.py            # everything
    python3 scripts/run_tests.py -k enrich  # extra arguments go to pytest

Only the standard library is used at the top level: this runs before the venv exists.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed-pyproject-sha256"

# pytest's exit code when it collected no test: a run that tests nothing is a failure here.
PYTEST_NO_TESTS = 5


def _pyproject_digest() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_environment() -> None:
    """Create the venv and install the project into it, unless that is already done."""
    if not PYTHON.exists():
        print(f"==> creating virtual environment in {VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    digest = _pyproject_digest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    print("==> installing airflow-provider-apollo[dev] (first run takes about a minute)", flush=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", f"{ROOT}[dev]"],
        check=True,
        cwd=ROOT,
    )
    STAMP.write_text(digest)


def run_step(name: str, args: list[str]) -> int:
    print(f"==> {name}: {' '.join(args)}", flush=True)
    started = time.monotonic()
    code = subprocess.run(args, cwd=ROOT).returncode
    print(f"==> {name} finished in {time.monotonic() - started:.1f}s with exit code {code}", flush=True)
    return code


def main(pytest_args: list[str]) -> int:
    ensure_environment()
    steps: list[tuple[str, list[str]]] = [
        (
            "ruff",
            [
                str(BIN / "ruff"),
                "check",
                "airflow_provider_apollo",
                "tests",
                "example_dags",
                "benchmarks",
                "scripts",
            ],
        ),
        ("mypy", [str(BIN / "mypy")]),
        ("pytest", [str(PYTHON), "-m", "pytest", *pytest_args]),
    ]
    if (ROOT / "benchmarks" / "__main__.py").exists() and not pytest_args:
        steps.append(("benchmarks --quick", [str(PYTHON), "-m", "benchmarks", "--quick"]))
    failed = []
    for name, args in steps:
        code = run_step(name, args)
        if name == "pytest" and code == PYTEST_NO_TESTS:
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
