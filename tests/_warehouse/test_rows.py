"""Row readers for the upsert: SQL in chunks, JSON Lines and CSV files (gzip too), lists."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import pytest

from airflow_provider_apollo._warehouse.rows import file_rows, list_rows, sql_rows


def test_sql_rows_come_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "w.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE t (Email TEXT, score INTEGER)")
        db.executemany("INSERT INTO t VALUES (?, ?)", [(f"p{n}@x.io", n) for n in range(25)])
    monkeypatch.setenv("AIRFLOW_CONN_W", json.dumps({"conn_type": "sqlite", "host": str(database)}))
    chunks = list(sql_rows("w", "SELECT * FROM t ORDER BY score", chunk_size=10))
    assert [len(c) for c in chunks] == [10, 10, 5]
    assert chunks[2][-1] == {"email": "p24@x.io", "score": 24}


def test_csv_and_gzip_json_lines(tmp_path: Path) -> None:
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("Email,Title\na@b.co,CTO\nc@d.co,\n")
    assert list(file_rows(str(csv_file))) == [
        [{"email": "a@b.co", "title": "CTO"}, {"email": "c@d.co", "title": None}]
    ]
    jsonl = tmp_path / "rows.jsonl.gz"
    with gzip.open(jsonl, "wt") as out:
        out.write('{"email": "a@b.co", "score": 3}\n\n{"email": "c@d.co"}\n')
    assert list(file_rows(f"file://{jsonl}", chunk_size=1)) == [
        [{"email": "a@b.co", "score": 3}],
        [{"email": "c@d.co"}],
    ]


def test_bad_sources_say_what_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "rows.jsonl"
    bad.write_text('{"email": "a@b.co"}\n[1, 2]\n')
    with pytest.raises(ValueError, match="line 2 is not a JSON object"):
        list(file_rows(str(bad)))
    with pytest.raises(ValueError, match=r"must end in \.jsonl"):
        list(file_rows(str(tmp_path / "rows.parquet")))
    with pytest.raises(ValueError, match=r"rows\[1\] is a str"):
        list(list_rows([{"a": 1}, "b"]))
