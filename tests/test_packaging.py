"""Release metadata: one version, a changelog entry for it, and the wheel checks that CI runs."""

from __future__ import annotations

import importlib.util
import re
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from airflow_provider_apollo import __version__
from airflow_provider_apollo.get_provider_info import get_provider_info

ROOT = Path(__file__).resolve().parent.parent


def _load(script: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_{script}", ROOT / "scripts" / f"{script}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and friends look their module up
    spec.loader.exec_module(module)
    return module


def _pyproject() -> dict[str, Any]:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return dict(tomllib.loads((ROOT / "pyproject.toml").read_text()))


def test_the_version_is_written_once() -> None:
    pyproject = _pyproject()
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "airflow_provider_apollo.__version__"
    }
    assert get_provider_info()["versions"] == [__version__]


def test_the_changelog_has_an_entry_for_the_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    assert re.search(rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, flags=re.M)


def test_licence_is_declared_as_spdx_with_its_files() -> None:
    project = _pyproject()["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE", "NOTICE"]
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    # setuptools refuses a licence classifier next to an SPDX expression
    assert not any("License ::" in classifier for classifier in project["classifiers"])


def _wheel(tmp_path: Path, names: list[str], version: str = __version__) -> Path:
    dist_info = f"airflow_provider_apollo-{version}.dist-info"
    path = tmp_path / f"airflow_provider_apollo-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, "")
        archive.writestr(f"{dist_info}/METADATA", f"Version: {version}\nLicense-Expression: Apache-2.0\n")
        archive.writestr(
            f"{dist_info}/entry_points.txt",
            "[apache_airflow_provider]\n"
            "provider_info = airflow_provider_apollo.get_provider_info:get_provider_info\n",
        )
    return path


_COMPLETE = [
    "airflow_provider_apollo/__init__.py",
    "airflow_provider_apollo/py.typed",
    "airflow_provider_apollo/get_provider_info.py",
    f"airflow_provider_apollo-{__version__}.dist-info/licenses/LICENSE",
    f"airflow_provider_apollo-{__version__}.dist-info/licenses/NOTICE",
]


def test_check_dist_accepts_a_complete_wheel(tmp_path: Path) -> None:
    assert _load("check_dist").wheel_problems(_wheel(tmp_path, _COMPLETE), __version__) == []


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        (
            [n for n in _COMPLETE if not n.endswith("py.typed")],
            "wheel lacks airflow_provider_apollo/py.typed",
        ),
        ([n for n in _COMPLETE if not n.endswith("LICENSE")], "licenses/LICENSE"),
        ([*_COMPLETE, "tests/test_hook.py"], "outside the package: tests/test_hook.py"),
        ([*_COMPLETE, "example_dags/example_apollo_prospecting.py"], "outside the package: example_dags/"),
        (
            [*_COMPLETE, "airflow_provider_apollo/tests/test_x.py"],
            "wheel holds airflow_provider_apollo/tests/",
        ),
    ],
)
def test_check_dist_names_what_a_wheel_lacks_or_should_not_hold(
    tmp_path: Path, names: list[str], problem: str
) -> None:
    problems = _load("check_dist").wheel_problems(_wheel(tmp_path, names), __version__)
    assert any(problem in line for line in problems), problems
