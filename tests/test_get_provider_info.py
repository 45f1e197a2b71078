"""Provider discovery: what `airflow providers list` / `airflow providers hooks` show."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_apollo.get_provider_info import get_provider_info


def test_every_declared_module_imports() -> None:
    info = get_provider_info()
    modules = [
        m
        for section in ("hooks", "operators", "sensors", "triggers")
        for entry in info[section]
        for m in entry["python-modules"]
    ]
    for module in modules:
        importlib.import_module(module)
    hook_path = info["connection-types"][0]["hook-class-name"]
    module_name, class_name = hook_path.rsplit(".", 1)
    hook_class = getattr(importlib.import_module(module_name), class_name)
    assert hook_class.conn_type == "apollo"
    assert hook_class.default_conn_name == "apollo_default"


def test_connection_form_matches_hook_classmethods() -> None:
    """Airflow 3.2+ reads provider info; 3.0/3.1 read the hook's classmethods: they must agree."""
    from airflow_provider_apollo.hooks.apollo import ApolloHook

    conn = get_provider_info()["connection-types"][0]
    behaviour = ApolloHook.get_ui_field_behaviour()
    assert (
        behaviour["relabeling"]["password"]
        == conn["ui-field-behaviour"]["relabeling"]["password"]
        == "API Key"
    )
    assert set(behaviour["hidden_fields"]) == set(conn["ui-field-behaviour"]["hidden-fields"])
    # WTForms fields when the UI toolkit is installed, else nothing (test_connection_form.py
    # checks the form Airflow really builds).
    widgets = ApolloHook.get_connection_form_widgets()
    assert set(widgets) in (set(), set(conn["conn-fields"]))


def _airflow_cli(*args: str, tmp_path: Path) -> str:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run([str(airflow), *args], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.slow  # a fresh interpreter (or server) starts: over a second
def test_airflow_cli_lists_provider_and_connection_type(tmp_path: Path) -> None:
    providers = _airflow_cli("providers", "list", "-o", "plain", tmp_path=tmp_path)
    assert "airflow-provider-apollo" in providers
    hooks = _airflow_cli("providers", "hooks", "-o", "plain", tmp_path=tmp_path)
    apollo_rows = [line for line in hooks.splitlines() if line.split() and line.split()[0] == "apollo"]
    assert apollo_rows, hooks[-2000:]
    assert "ApolloHook" in apollo_rows[0]
