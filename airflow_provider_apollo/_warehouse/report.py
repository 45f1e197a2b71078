"""The per-row report of a write to Apollo: JSON Lines or CSV on object storage, or a SQL table.

One line (or table row) per input row, written as each chunk finishes so memory stays flat:
``row`` (1-based position in the input), ``key`` (the match key), ``status`` (``created``,
``updated``, ``unchanged``, ``invalid``, ``failed``; in a dry run ``would_create`` and
``would_update``), ``id`` (Apollo's), ``changed`` (the fields sent), ``column`` and ``reason``
(invalid rows), ``error`` (Apollo's answer for failed rows).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from airflow_provider_apollo._warehouse.object_storage import storage_path
from airflow_provider_apollo._warehouse.sql import SqlDestination

COLUMNS = ("row", "key", "status", "id", "changed", "column", "reason", "error")


class ReportWriter(Protocol):
    """Where a run's per-row results go."""

    target: str

    def write(self, results: Sequence[Mapping[str, Any]]) -> None:
        """Append one chunk's results."""

    def close(self) -> None:
        """Finish (flush and close)."""


def _cell(result: Mapping[str, Any], name: str) -> Any:
    value = result.get(name)
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return value


class FileReport:
    """JSON Lines (``.jsonl``) or CSV (``.csv``) at ``url`` (any fsspec scheme), streamed.

    :param url: the report's URL or absolute path.
    """

    def __init__(self, url: str) -> None:
        if not str(url).lower().endswith((".jsonl", ".csv")):
            raise ValueError(f"report_path {url!r} must end in .jsonl or .csv.")
        self.target = str(url)
        path = storage_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._raw = path.open("wb")
        self._csv = str(url).lower().endswith(".csv")
        if self._csv:
            self._raw.write((",".join(COLUMNS) + "\n").encode("utf-8"))

    def write(self, results: Sequence[Mapping[str, Any]]) -> None:
        """Append one chunk's results."""
        if self._csv:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerows([[_cell(r, c) for c in COLUMNS] for r in results])
            self._raw.write(buffer.getvalue().encode("utf-8"))
        else:
            lines = "".join(json.dumps({c: r.get(c) for c in COLUMNS}, default=str) + "\n" for r in results)
            self._raw.write(lines.encode("utf-8"))

    def close(self) -> None:
        """Close the file."""
        self._raw.close()


class TableReport:
    """Rows of ``table`` on a ``common.sql`` connection, one per input row, tagged with the task.

    The table is created when missing. Results are spooled to a local file and inserted when the
    run ends, in one transaction that first deletes the rows an earlier try of the same task in
    the same run left, so a retried task leaves one report (its ``try_number`` says which).

    :param conn_id: the connection.
    :param table: the table (``schema.table`` allowed).
    :param run_id: the DAG run's id.
    :param task_id: the task's id (with its map index when mapped).
    :param try_number: the task's try.
    """

    def __init__(self, conn_id: str, table: str, run_id: str, task_id: str, try_number: int) -> None:
        if not table.replace("_", "a").replace(".", "a").isalnum():
            raise ValueError(f"report_table must be an identifier (schema.table allowed); got {table!r}.")
        self.target = f"{conn_id}:{table}"
        self.table = table
        self.tag = (run_id, task_id, try_number)
        self.db = SqlDestination(conn_id)
        text = ("match_key", "status", "apollo_id", "changed", "column_name", "reason", "error")
        columns = ", ".join(
            ["run_id TEXT", "task_id TEXT", "try_number INTEGER", "row_number INTEGER"]
            + [f"{name} TEXT" for name in text]
        )
        self.db.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        self._spool: Any = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed by close())

    def write(self, results: Sequence[Mapping[str, Any]]) -> None:
        """Spool one chunk's results to a local file (inserted by :meth:`close`).

        The rows may come from a query on the same database, still being read: SQLite refuses
        a write from another connection while a read is open, so nothing is inserted before
        the read is over.
        """
        for result in results:
            self._spool.write(json.dumps([_cell(result, c) for c in COLUMNS], default=str) + "\n")

    def _insert(self, values: list[tuple[Any, ...]]) -> None:
        marks = ", ".join([self.db.placeholder] * 11)
        sql = (
            f"INSERT INTO {self.table} (run_id, task_id, try_number, row_number, match_key, status, "
            f"apollo_id, changed, column_name, reason, error) VALUES ({marks})"
        )
        cursor = self.db.connection.cursor()
        try:
            cursor.executemany(sql, values)
        finally:
            cursor.close()

    def close(self) -> None:
        """Insert the spooled results in one transaction (batches of 1,000), then close."""
        try:
            mark = self.db.placeholder
            cursor = self.db.connection.cursor()
            try:
                cursor.execute(
                    f"DELETE FROM {self.table} WHERE run_id = {mark} AND task_id = {mark}", self.tag[:2]
                )
            finally:
                cursor.close()
            self._spool.seek(0)
            batch: list[tuple[Any, ...]] = []
            for line in self._spool:
                batch.append((*self.tag, *json.loads(line)))
                if len(batch) >= 1_000:
                    self._insert(batch)
                    batch = []
            if batch:
                self._insert(batch)
            self.db.connection.commit()
        except Exception:
            self.db.connection.rollback()
            raise
        finally:
            self._spool.close()
            self.db.close()
