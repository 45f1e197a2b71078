"""The README's main command, ``python3 scripts/run_example.py``, run as a user would."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "run_example.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_example", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _user_environment() -> dict[str, str]:
    """This process's environment without the test session's Airflow settings or any real key."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AIRFLOW", "_AIRFLOW")) and name != "APOLLO_API_KEY"
    }


def _printed_summary(output: str) -> dict[str, object]:
    """The JSON object printed after the ``--- summary of ...`` header."""
    start = output.index("--- summary of example_apollo_prospecting")
    body = output[output.index("{", start) :]
    summary, _ = json.JSONDecoder().raw_decode(body)
    assert isinstance(summary, dict)
    return summary


@pytest.mark.skipif(
    Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(),
    reason="the script installs into the project's .venv when run from any other interpreter",
)
def test_main_command_runs_prospecting_on_the_sandbox_and_prints_what_it_cost(tmp_path: Path) -> None:
    """No key, no network: sandbox, ``airflow dags test``, then the summary and the sandbox's stats."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--airflow-home", str(tmp_path / "airflow-home"), "--timeout", "120"],
        env=_user_environment(),
        cwd=tmp_path,  # the script finds the project from its own location
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    output = result.stdout
    assert "==> Apollo sandbox on http://127.0.0.1:" in output
    assert "run state success" in output

    summary = _printed_summary(output)
    assert summary["found"] == 25
    assert summary["credits_spent"] == summary["enriched"] == summary["contacts_created"]
    # The sandbox's own ledger agrees with the DAG's summary.
    credits = re.search(r"credits spent\s+(\d+)", output)
    assert credits is not None and int(credits.group(1)) == summary["credits_spent"]
    assert re.search(r"duplicate contacts \(by email\)\s+0\b", output)
    assert (tmp_path / "airflow-home" / "airflow.db").exists()
    assert (tmp_path / "airflow-home" / "logs" / "run_example" / "example_apollo_prospecting.log").exists()


def test_failure_reasons_are_the_exceptions_of_the_log() -> None:
    script = _load_script()
    log = "\n".join(
        [
            "2026-01-01T00:00:00Z [error    ] Task failed with exception",
            "Traceback (most recent call last):",
            '  File "x.py", line 1, in <module>',
            "airflow_provider_apollo.exceptions.ApolloConfigurationError: params.label: no label 'x'.",
            "Traceback (most recent call last):",
            "airflow_provider_apollo.exceptions.ApolloConfigurationError: params.label: no label 'x'.",
            "DagRun failed",
        ]
    )
    assert script.failure_reasons(log) == [
        "airflow_provider_apollo.exceptions.ApolloConfigurationError: params.label: no label 'x'."
    ]


def test_failure_reasons_fall_back_to_the_end_of_the_log() -> None:
    script = _load_script()
    log = "\n".join(f"line {number}" for number in range(100))
    assert script.failure_reasons(log) == [f"line {number}" for number in range(80, 100)]


@pytest.mark.parametrize("bad", [["--dag", "example_nope"], ["--conf", "not json"]])
def test_bad_arguments_are_refused_before_anything_is_installed_or_started(bad: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *bad],
        env=_user_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "error:" in result.stderr
    assert "==>" not in result.stdout
