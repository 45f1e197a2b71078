"""JSON Lines parts through ObjectStoragePath: streamed parts, a manifest only when complete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_apollo._warehouse.object_storage import JsonLinesWriter, read_jsonl, storage_path


def test_parts_roll_over_and_the_manifest_lists_them(tmp_path: Path) -> None:
    writer = JsonLinesWriter(str(tmp_path), "contacts", "20260101T000000", records_per_part=3)
    writer.write({"id": f"c{n}", "n": n} for n in range(4))
    writer.write([{"id": "c4", "n": 4}])
    manifest = writer.finish({"cursor": "2026-01-01T00:00:00.000Z"})
    folder = tmp_path / "contacts" / "20260101T000000"
    assert sorted(p.name for p in folder.iterdir()) == [
        "_manifest.json",
        "part-00001.jsonl.gz",
        "part-00002.jsonl.gz",
    ]
    records = [
        r
        for part in ("part-00001.jsonl.gz", "part-00002.jsonl.gz")
        for r in read_jsonl(storage_path(str(folder / part)))
    ]
    assert [r["n"] for r in records] == [0, 1, 2, 3, 4]
    summary = json.loads(Path(manifest.removeprefix("file://")).read_text())
    assert summary["records_this_run"] == 5 and summary["cursor"] == "2026-01-01T00:00:00.000Z"


def test_a_cut_run_has_no_manifest_and_the_next_appends_parts(tmp_path: Path) -> None:
    cut = JsonLinesWriter(f"file://{tmp_path}", "accounts", "run1")
    cut.write([{"id": "a1"}])
    cut.abort()
    folder = tmp_path / "accounts" / "run1"
    assert not (folder / "_manifest.json").exists()
    resumed = JsonLinesWriter(f"file://{tmp_path}", "accounts", "run1")
    resumed.write([{"id": "a2"}])
    resumed.finish({})
    manifest = json.loads((folder / "_manifest.json").read_text())
    assert manifest["parts"] == ["part-00001.jsonl.gz", "part-00002.jsonl.gz"]


def test_a_relative_path_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="export_path"):
        storage_path("relative/dir")
