"""The Airflow matrix resolves each release as of its upload date (scripts/_matrix_venv.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "_matrix_venv.py"


@pytest.fixture
def matrix_venv() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_matrix_venv_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _files(*uploads: tuple[str, str]) -> list[dict[str, str]]:
    return [{"filename": name, "upload-time": time} for name, time in uploads]


def test_the_cutoff_is_the_newest_file_of_the_release_plus_a_day(
    matrix_venv: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        matrix_venv,
        "_release_files",
        lambda version: _files(
            (f"apache_airflow-{version}-py3-none-any.whl", "2026-05-29T05:19:55.297954Z"),
            (f"apache_airflow-{version}.tar.gz", "2026-05-29T05:20:10.088560Z"),
        ),
    )
    assert matrix_venv.release_cutoff("3.2.2") == "2026-05-30T05:20:10Z"


def test_an_unreachable_index_falls_back_to_the_known_upload_times(
    matrix_venv: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def unreachable(version: str) -> list[dict[str, str]]:
        raise OSError("connection refused")

    monkeypatch.setattr(matrix_venv, "_release_files", unreachable)
    assert matrix_venv.release_cutoff("3.1.8") == "2026-03-12T19:28:09Z"
    assert "the index is unreachable" in capsys.readouterr().out


def test_a_release_with_no_known_date_stops_with_what_to_do(
    matrix_venv: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matrix_venv, "_release_files", lambda version: [])
    with pytest.raises(SystemExit, match="add its upload time there"):
        matrix_venv.release_cutoff("3.9.9")


def test_only_the_release_s_own_files_are_read(
    matrix_venv: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = _files(
        ("apache_airflow-3.2.2-py3-none-any.whl", "2026-05-29T05:19:55Z"),
        ("apache_airflow-3.2.2rc3-py3-none-any.whl", "2026-05-27T04:05:24Z"),
        ("apache_airflow-3.2.20-py3-none-any.whl", "2027-01-01T00:00:00Z"),
    )

    class Answer:
        def __enter__(self) -> Answer:
            return self

        def __exit__(self, *args: object) -> None:
            return None

        def read(self) -> bytes:
            import json

            return json.dumps({"files": index}).encode()

    monkeypatch.setattr(matrix_venv.urllib.request, "urlopen", lambda request, timeout: Answer())
    assert [f["filename"] for f in matrix_venv._release_files("3.2.2")] == [
        "apache_airflow-3.2.2-py3-none-any.whl"
    ]
