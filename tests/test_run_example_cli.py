"""``scripts/run_example.py`` reaches the real Apollo API only with ``--live``.

A key left in the environment (a shell profile, a CI secret) must not spend credits by
surprise. These tests run the argument parsing and the target selection only: nothing is
installed, started or sent.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "run_example.py"


@pytest.fixture(scope="module")
def run_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_example_cli", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_key_in_the_environment_alone_runs_on_the_sandbox(run_example: ModuleType) -> None:
    args = run_example.parse_arguments([])
    assert args.live is False
    assert run_example.select_api_key(args.live, {"APOLLO_API_KEY": "real-key"}) is None


def test_live_with_a_key_runs_against_apollo_with_that_key(run_example: ModuleType) -> None:
    args = run_example.parse_arguments(["--live", "--dag", "example_apollo_hiring_signals"])
    assert args.live is True
    assert run_example.select_api_key(args.live, {"APOLLO_API_KEY": "  real-key \n"}) == "real-key"


@pytest.mark.parametrize("environ", [{}, {"APOLLO_API_KEY": ""}, {"APOLLO_API_KEY": "   "}])
def test_live_without_a_key_is_refused_naming_the_variable(
    run_example: ModuleType, environ: dict[str, str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        run_example.select_api_key(True, environ)
    message = str(refused.value.code)
    assert "APOLLO_API_KEY" in message and "--live" in message
    assert "sandbox" in message  # says how to run without a key


def test_live_without_a_key_fails_at_once_from_the_command_line(tmp_path: Path) -> None:
    """The refusal comes before the venv bootstrap: no install, no Airflow, no sandbox."""
    environ = {name: value for name, value in os.environ.items() if name != "APOLLO_API_KEY"}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--live", "--airflow-home", str(tmp_path / "home")],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "needs your key in APOLLO_API_KEY" in result.stderr
    assert not (tmp_path / "home").exists()
