"""A SQL destination on any ``common.sql`` connection: tables, upsert by key, delete marks.

The connection is an ordinary Airflow connection whose hook is a ``DbApiHook`` (SQLite,
PostgreSQL, MySQL...): ``BaseHook.get_connection(conn_id).get_hook()``. One DB-API connection
is held for the destination's life; every batch is one transaction (``executemany`` then
``commit``), so a run killed between batches leaves whole batches, never half of one.

Upsert: ``INSERT ... ON CONFLICT (id) DO UPDATE`` (SQLite >= 3.24, PostgreSQL) or
``ON DUPLICATE KEY UPDATE`` (MySQL). Before writing, a batch reads the stored hashes of its
ids, so rows whose content did not change are not written again and the counts tell created,
updated (content changed, or back from deleted) and unchanged apart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from airflow_provider_apollo._warehouse.records import KEY, Row, TableSpec, column_names

log = logging.getLogger(__name__)

#: The dialects this destination writes, by connection type, with their column types.
_TYPES: dict[str, dict[str, str]] = {
    "sqlite": {
        "key": "TEXT",
        "text": "TEXT",
        "integer": "INTEGER",
        "number": "REAL",
        "boolean": "INTEGER",
        "timestamp": "TEXT",  # ISO-8601 UTC text: sorts and compares like the time it names
    },
    "postgresql": {
        "key": "TEXT",
        "text": "TEXT",
        "integer": "BIGINT",
        "number": "DOUBLE PRECISION",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMPTZ",
    },
    "mysql": {
        "key": "VARCHAR(64)",
        "text": "LONGTEXT",
        "integer": "BIGINT",
        "number": "DOUBLE",
        "boolean": "BOOLEAN",
        "timestamp": "VARCHAR(32)",
    },
}
_DIALECT_OF_CONN_TYPE = {
    "sqlite": "sqlite",
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "mysql": "mysql",
}
#: Ids per ``SELECT ... WHERE id IN (...)``: under SQLite's oldest bound-parameter limit (999).
_LOOKUP_CHUNK = 500


@dataclass
class UpsertCounts:
    """What a write did: rows created, updated (content changed or back from deleted), unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: UpsertCounts) -> None:
        """Add ``other``'s counts to these."""
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged

    @property
    def total(self) -> int:
        """Rows seen."""
        return self.created + self.updated + self.unchanged


class SqlDestination:
    """Tables ``apollo_<object>`` on the connection ``conn_id``.

    :param conn_id: an Airflow connection whose hook is a ``DbApiHook``.
    :param schema: a schema (PostgreSQL) to create and write the tables in; default the connection's.
    """

    def __init__(self, conn_id: str, *, schema: str | None = None) -> None:
        if not isinstance(conn_id, str) or not conn_id.strip():
            raise ValueError(f"sql_conn_id must name an Airflow connection; got {conn_id!r}.")
        if schema is not None and not schema.replace("_", "a").isalnum():
            raise ValueError(f"schema must be an identifier; got {schema!r}.")
        self.conn_id = conn_id
        self.schema = schema

    # ------------------------------------------------------------------ connection
    @cached_property
    def hook(self) -> Any:
        """The connection's ``DbApiHook``."""
        from airflow.providers.common.compat.sdk import BaseHook
        from airflow.providers.common.sql.hooks.sql import DbApiHook

        hook = BaseHook.get_connection(self.conn_id).get_hook()
        if not isinstance(hook, DbApiHook):
            raise ValueError(
                f"Connection {self.conn_id!r} has a {type(hook).__name__}, not a SQL (common.sql DbApiHook) "
                "hook: use a SQLite, PostgreSQL or MySQL connection for sql_conn_id."
            )
        return hook

    @cached_property
    def dialect(self) -> str:
        """``sqlite``, ``postgresql`` or ``mysql``."""
        conn_type = str(getattr(self.hook, "conn_type", "") or "").lower()
        dialect = _DIALECT_OF_CONN_TYPE.get(conn_type) or _DIALECT_OF_CONN_TYPE.get(
            str(self.hook.dialect_name).lower()
        )
        if dialect is None:
            raise ValueError(
                f"Connection {self.conn_id!r} is of type {conn_type!r}: the export writes SQLite, PostgreSQL "
                "and MySQL. Use one of those, or export to object storage (export_path) and load from there."
            )
        return dialect

    @cached_property
    def connection(self) -> Any:
        """The DB-API connection, opened once (autocommit off: the destination commits per batch)."""
        conn = self.hook.get_conn()
        if self.dialect == "postgresql" and getattr(conn, "autocommit", False):
            conn.autocommit = False
        return conn

    @property
    def placeholder(self) -> str:
        """The driver's parameter marker (``?`` for sqlite3, ``%s`` for psycopg and MySQL)."""
        return "?" if self.dialect == "sqlite" else "%s"

    def close(self) -> None:
        """Close the DB-API connection, when one was opened."""
        if "connection" in self.__dict__:
            self.__dict__.pop("connection").close()

    def __enter__(self) -> SqlDestination:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def qualified(self, table: str) -> str:
        """``schema.table`` when a schema was given, else ``table``."""
        return f"{self.schema}.{table}" if self.schema else table

    # ------------------------------------------------------------------ statements
    def execute(self, sql: str, params: Sequence[Any] = (), *, commit: bool = True) -> list[tuple[Any, ...]]:
        """Run one statement; its rows when it returns some."""
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, tuple(params))
            rows = cursor.fetchall() if cursor.description else []
        except Exception:
            self.connection.rollback()
            raise
        finally:
            cursor.close()
        if commit:
            self.connection.commit()
        return [tuple(row) for row in rows]

    def ensure_schema(self) -> None:
        """Create the schema when one was given and the dialect has schemas."""
        if self.schema and self.dialect == "postgresql" and not self.__dict__.get("_schema_ready"):
            self.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            self.__dict__["_schema_ready"] = True

    def ensure_table(self, spec: TableSpec) -> None:
        """Create ``spec``'s table when missing, and add the columns a newer spec has (never drops one)."""
        types = _TYPES[self.dialect]
        self.ensure_schema()
        table = self.qualified(spec.name)
        columns = [f"{KEY} {types['key']} PRIMARY KEY"]
        columns += [f"{c.name} {types[c.type]}" for c in spec.all_columns]
        self.execute(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(columns)})")
        existing = self._column_names(table)
        for column in spec.all_columns:
            if column.name not in existing:
                log.info("Adding column %s to %s.", column.name, table)
                self.execute(f"ALTER TABLE {table} ADD COLUMN {column.name} {types[column.type]}")
        if "updated_at" in existing or any(c.name == "updated_at" for c in spec.columns):
            self.execute(f"CREATE INDEX IF NOT EXISTS {spec.name}_updated_at ON {table} (updated_at)")

    def _column_names(self, table: str) -> set[str]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(f"SELECT * FROM {table} WHERE 1 = 0")
            return {str(d[0]).lower() for d in cursor.description or ()}
        finally:
            cursor.close()
            self.connection.commit()

    def _upsert_sql(self, spec: TableSpec) -> str:
        names = column_names(spec)
        marks = ", ".join([self.placeholder] * len(names))
        table = self.qualified(spec.name)
        if self.dialect == "mysql":
            sets = ", ".join(f"{n} = VALUES({n})" for n in names if n != KEY)
            return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks}) ON DUPLICATE KEY UPDATE {sets}"
        sets = ", ".join(f"{n} = excluded.{n}" for n in names if n != KEY)
        insert = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"
        return f"{insert} ON CONFLICT ({KEY}) DO UPDATE SET {sets}"

    def commit(self) -> None:
        """Commit what was written with ``commit=False``."""
        self.connection.commit()

    def upsert(
        self, spec: TableSpec, rows: Sequence[Row], *, extracted_at: str, commit: bool = True
    ) -> UpsertCounts:
        """Write ``rows`` by ``id`` in one transaction; rows whose content is unchanged are not rewritten.

        A row that was marked deleted and is seen again is written (``deleted_at`` back to NULL)
        and counted as updated. Duplicate ids in ``rows`` keep the last one.

        :param spec: the table.
        :param rows: the rows (one page or batch).
        :param extracted_at: when they were read (ISO-8601 UTC).
        :param commit: commit at once; ``False`` leaves the transaction open for the caller to add
            to (the export saves its progress in the same transaction) and :meth:`commit`.
        """
        latest = {row.id: row for row in rows}
        stored = self._stored_state(spec, list(latest))
        counts = UpsertCounts()
        to_write: list[tuple[Any, ...]] = []
        for row in latest.values():
            before = stored.get(row.id)
            if before is None:
                counts.created += 1
            elif before[0] == row.content_hash and before[1] is None:
                counts.unchanged += 1
                continue
            else:
                counts.updated += 1
            to_write.append((row.id, *row.values, row.raw, row.content_hash, extracted_at, None))
        if to_write:
            cursor = self.connection.cursor()
            try:
                cursor.executemany(self._upsert_sql(spec), to_write)
                if commit:
                    self.connection.commit()
            except Exception:
                self.connection.rollback()
                raise
            finally:
                cursor.close()
        return counts

    def _stored_state(self, spec: TableSpec, ids: Sequence[str]) -> dict[str, tuple[str | None, Any]]:
        """``id -> (content_hash, deleted_at)`` of the stored rows among ``ids``."""
        found: dict[str, tuple[str | None, Any]] = {}
        table = self.qualified(spec.name)
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            chunk = ids[start : start + _LOOKUP_CHUNK]
            marks = ", ".join([self.placeholder] * len(chunk))
            rows = self.execute(
                f"SELECT {KEY}, content_hash, deleted_at FROM {table} WHERE {KEY} IN ({marks})",
                chunk,
                commit=False,
            )
            found.update({str(r[0]): (r[1], r[2]) for r in rows})
        return found

    def mark_deleted(self, spec: TableSpec, ids: Sequence[str], *, deleted_at: str) -> int:
        """Set ``deleted_at`` on the live rows among ``ids`` (one transaction); how many were marked."""
        marked = 0
        table = self.qualified(spec.name)
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            chunk = list(ids[start : start + _LOOKUP_CHUNK])
            marks = ", ".join([self.placeholder] * len(chunk))
            cursor = self.connection.cursor()
            try:
                cursor.execute(
                    f"UPDATE {table} SET deleted_at = {self.placeholder} "
                    f"WHERE deleted_at IS NULL AND {KEY} IN ({marks})",
                    (deleted_at, *chunk),
                )
                marked += max(cursor.rowcount, 0)
            except Exception:
                self.connection.rollback()
                raise
            finally:
                cursor.close()
        self.connection.commit()
        return marked

    def live_ids(self, spec: TableSpec, *, batch: int = 10_000) -> Iterator[str]:
        """The ids of rows not marked deleted, streamed (a cursor read ``batch`` rows at a time)."""
        cursor = self.connection.cursor()
        try:
            cursor.execute(f"SELECT {KEY} FROM {self.qualified(spec.name)} WHERE deleted_at IS NULL")
            while rows := cursor.fetchmany(batch):
                for row in rows:
                    yield str(row[0])
        finally:
            cursor.close()
            self.connection.commit()

    def counts(self, spec: TableSpec) -> Mapping[str, int]:
        """``{"live": n, "deleted": m}`` rows of ``spec``'s table."""
        rows = self.execute(
            f"SELECT COUNT(*) - COUNT(deleted_at), COUNT(deleted_at) FROM {self.qualified(spec.name)}"
        )
        live, deleted = rows[0]
        return {"live": int(live), "deleted": int(deleted)}
