"""How one record becomes one row: its key, chosen fields as columns, the raw JSON, a content hash.

The hash is over the whole record in canonical JSON (sorted keys, no whitespace), so any edit
changes it, whichever field the edit touched: that is how a snapshot sees an edit to an object
Apollo gives no ``updated_at`` for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Logical column types; :mod:`.sql` maps them to each dialect's.
COLUMN_TYPES = ("text", "integer", "number", "boolean", "timestamp")


@dataclass(frozen=True)
class Column:
    """A column taken from the record.

    :param name: the column's name.
    :param type: one of :data:`COLUMN_TYPES`.
    :param source: the record's member it comes from, dotted for nested ones (``account.name``);
        defaults to ``name``.
    """

    name: str
    type: str = "text"
    source: str | None = None

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise ValueError(f"column {self.name!r}: type must be one of {COLUMN_TYPES}; got {self.type!r}.")
        if not self.name.isidentifier() or self.name != self.name.lower():
            raise ValueError(f"column name {self.name!r} must be a lower-case identifier.")

    def value(self, record: Mapping[str, Any]) -> Any:
        """The column's value in ``record`` (``None`` when absent); lists and objects as JSON."""
        current: Any = record
        for part in (self.source or self.name).split("."):
            if not isinstance(current, Mapping):
                return None
            current = current.get(part)
        if current is None or current == "":
            return None
        if self.type == "boolean":
            return bool(current)
        if self.type == "integer":
            return _number(current, int)
        if self.type == "number":
            return _number(current, float)
        if isinstance(current, (list, dict)):
            return json.dumps(current, sort_keys=True, separators=(",", ":"))
        return str(current)


def _number(value: Any, kind: type[int] | type[float]) -> int | float | None:
    if isinstance(value, bool):
        return int(value)
    try:
        return kind(value)
    except (TypeError, ValueError):
        return None  # the raw JSON keeps what Apollo sent; the typed column stays empty


#: Columns every table has besides the chosen ones (``updated_at`` only where the record has one).
KEY = "id"
SYSTEM_COLUMNS = (
    Column("raw"),
    Column("content_hash"),
    Column("extracted_at", "timestamp"),
    Column("deleted_at", "timestamp"),
)


@dataclass(frozen=True)
class TableSpec:
    """One object's table: ``apollo_<object>`` with ``id`` as primary key.

    :param name: table name.
    :param columns: the chosen fields (``updated_at`` among them where the object has one).
    """

    name: str
    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        if not self.name.replace("_", "a").isalnum() or self.name != self.name.lower():
            raise ValueError(f"table name {self.name!r} must be a lower-case identifier.")
        names = [KEY, *(c.name for c in self.columns), *(c.name for c in SYSTEM_COLUMNS)]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: column names repeat ({names}).")

    @property
    def all_columns(self) -> tuple[Column, ...]:
        """Every column but the key, in table order."""
        return (*self.columns, *SYSTEM_COLUMNS)


def canonical_json(record: Mapping[str, Any]) -> str:
    """``record`` as compact JSON with sorted keys (what is stored in ``raw`` and hashed)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(raw: str) -> str:
    """SHA-256 of the canonical JSON, hex."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Row:
    """A record ready to write: its key, column values in :attr:`TableSpec.columns` order, raw, hash."""

    id: str
    values: tuple[Any, ...]
    raw: str
    content_hash: str


def to_row(spec: TableSpec, record: Mapping[str, Any]) -> Row:
    """The row of ``record`` in ``spec``'s table.

    :raises ValueError: the record has no string ``id`` (it could not be upserted by key).
    """
    record_id = record.get(KEY)
    if not isinstance(record_id, str) or not record_id:
        raise ValueError(f"a record for {spec.name} has no string 'id' (keys: {sorted(record)[:10]}).")
    raw = canonical_json(record)
    return Row(record_id, tuple(c.value(record) for c in spec.columns), raw, content_hash(raw))


def column_names(spec: TableSpec) -> Sequence[str]:
    """``id`` then every other column, in table order."""
    return [KEY, *(c.name for c in spec.all_columns)]
