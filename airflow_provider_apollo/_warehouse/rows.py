"""Rows to send somewhere: read from a SQL query, a JSON Lines or CSV file, or a list, in chunks.

The reverse of the export's destinations: the warehouse -> Apollo upsert reads its rows here.
Every reader yields lists of at most ``chunk_size`` row dicts (column -> value), so memory holds
one chunk whatever the source's size:

- SQL: one query on any ``common.sql`` connection, read with ``fetchmany`` (a server-side cursor
  on PostgreSQL, so the database streams instead of materialising the result in the client);
- files: JSON Lines (``.jsonl``, ``.json``, optionally ``.gz``) or CSV (``.csv``, ``.csv.gz``)
  through ``ObjectStoragePath`` (any fsspec scheme);
- a list of mappings (an upstream task's XCom).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from airflow_provider_apollo._warehouse.object_storage import storage_path
from airflow_provider_apollo._warehouse.sql import SqlDestination

Row = dict[str, Any]
DEFAULT_CHUNK_SIZE = 1_000


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def sql_rows(conn_id: str, sql: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[list[Row]]:
    """The rows of ``sql`` on ``conn_id``, ``chunk_size`` at a time (column names lower-cased).

    :param conn_id: a ``common.sql`` connection.
    :param sql: one ``SELECT``.
    :param chunk_size: rows per chunk.
    """
    with SqlDestination(conn_id) as source:
        connection = source.connection
        if source.dialect == "postgresql":
            # A named cursor is a server-side cursor: rows come as they are fetched.
            cursor = connection.cursor(name=f"apollo_upsert_{uuid.uuid4().hex[:8]}")
        else:
            cursor = connection.cursor()
        try:
            cursor.execute(sql)
            names: list[str] | None = None
            while batch := cursor.fetchmany(chunk_size):
                if names is None:
                    names = [str(d[0]).lower() for d in cursor.description]
                yield [dict(zip(names, row, strict=True)) for row in batch]
        finally:
            cursor.close()
            connection.rollback()  # a read: leave nothing open


def file_rows(url: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[list[Row]]:
    """The rows of a JSON Lines or CSV file (by its suffix; ``.gz`` read through gzip).

    CSV cells are text; an empty cell reads as ``None`` (left as it is in Apollo).

    :param url: an object-storage URL or absolute path.
    :param chunk_size: rows per chunk.
    """
    path = storage_path(url)
    name = str(path.name).lower()
    compressed = name.endswith(".gz")
    base = name[:-3] if compressed else name
    if not base.endswith((".jsonl", ".json", ".ndjson", ".csv")):
        raise ValueError(f"source_path {url!r} must end in .jsonl, .ndjson, .json or .csv (optionally .gz).")
    with path.open("rb") as raw:
        stream: Any = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
        if base.endswith(".csv"):
            reader = csv.DictReader(text)
            rows: Iterable[Row] = (
                {str(k).strip().lower(): (v if v != "" else None) for k, v in row.items()} for row in reader
            )
            yield from _chunks(rows, chunk_size)
        else:
            yield from _chunks(_json_lines(text, url), chunk_size)


def _json_lines(lines: Iterable[str], url: str) -> Iterator[Row]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise ValueError(f"{url} line {number} is not JSON; each line must be one JSON object.") from None
        if not isinstance(row, dict):
            raise ValueError(f"{url} line {number} is not a JSON object.")
        yield {str(k).lower(): v for k, v in row.items()}


def list_rows(
    rows: Sequence[Mapping[str, Any]], *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Iterator[list[Row]]:
    """The rows of a list (an XCom), checked to be mappings.

    :param rows: the rows.
    :param chunk_size: rows per chunk.
    """
    if isinstance(rows, str | bytes) or not isinstance(rows, Sequence):
        raise ValueError(f"rows must be a list of mappings (column -> value); got {type(rows).__name__}.")
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            kind = type(row).__name__
            raise ValueError(f"rows[{number - 1}] is a {kind}, not a mapping of column -> value.")
    return _chunks(({str(k).lower(): v for k, v in row.items()} for row in rows), chunk_size)
