"""The lowest supported Airflow is stated once per place, and the same everywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import airflow_provider_apollo
from airflow_provider_apollo import _MINIMUM_AIRFLOW, _major_minor

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_guard_and_pyproject_name_the_same_floor() -> None:
    tomllib = pytest.importorskip("tomllib")
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    airflow = next(d for d in dependencies if re.match(r"apache-airflow\s*>=", d))
    assert _major_minor(airflow.split(">=")[1].strip()) == _MINIMUM_AIRFLOW


def test_the_floor_is_the_lowest_minor_the_matrix_proves() -> None:
    matrix = (ROOT / "scripts" / "airflow_matrix.py").read_text()
    proven = [tuple(int(n) for n in minor.split(".")) for minor in re.findall(r'"(3\.\d+)": Target', matrix)]
    assert min(proven) == _MINIMUM_AIRFLOW


@pytest.mark.parametrize(
    ("version", "supported"),
    [
        ("3.1.8", True),
        ("3.0.0rc1", True),
        ("3.0.6", True),
        ("3.10.0", True),
        ("2.11.0", False),
        ("2.10.5", False),
    ],
)
def test_versions_below_the_floor_are_told_apart(version: str, supported: bool) -> None:
    assert (_major_minor(version) >= _MINIMUM_AIRFLOW) is supported
    assert airflow_provider_apollo.__version__
