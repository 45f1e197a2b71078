"""The cursor and progress of each export, kept in the destination itself (``apollo_export_state``).

Why the destination: the rows and the cursor that says how far they go then live and die
together. An Airflow Variable or XCom would survive a retry, but not a cleared run (XCom), a
restored warehouse, or a second deployment writing the same tables; a file on the worker would
not survive a new worker. A run reads its starting point here, never from the metadata DB.

One row per object:

- ``cursor``: the newest change time the tables are known complete up to (contacts'
  ``updated_at``). It moves only when a run completed and its counts added up
  (:meth:`ExportStateStore.complete`), and never backwards: a backfill of an old interval
  finishing after a newer run leaves it where it is.
- ``last_complete_at``: when the last complete run finished (snapshot objects have no cursor).
- ``progress``: JSON of an unfinished read (slices done, the page reached, the run it belongs
  to), saved after every page written, so a run stopped by a closed quota window or killed
  half-way is continued by the next one instead of re-read. Cleared when the read completes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_apollo._warehouse.sql import SqlDestination

STATE_TABLE = "apollo_export_state"


@dataclass
class ExportState:
    """Where one object's export stands.

    :param object: the exported object (``contacts``).
    :param cursor: complete up to this change time (ISO-8601 UTC), ``None`` before the first run.
    :param last_complete_at: when the last complete run finished.
    :param progress: the unfinished read to continue, ``{}`` when none.
    """

    object: str
    cursor: str | None = None
    last_complete_at: str | None = None
    progress: dict[str, Any] = field(default_factory=dict)


class ExportStateStore:
    """Reads and writes ``apollo_export_state`` on a :class:`SqlDestination`.

    :param destination: where the tables (and so their state) are.
    """

    def __init__(self, destination: SqlDestination) -> None:
        self.destination = destination
        self.table = destination.qualified(STATE_TABLE)
        self._ready = False

    def _ensure(self) -> None:
        if self._ready:
            return
        self.destination.ensure_schema()
        text = "TEXT" if self.destination.dialect != "mysql" else "LONGTEXT"
        key = "TEXT" if self.destination.dialect != "mysql" else "VARCHAR(64)"
        self.destination.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (object {key} PRIMARY KEY, cursor_value {text}, "
            f"last_complete_at {text}, progress {text}, updated_at {text})"
        )
        self._ready = True

    def load(self, object_name: str) -> ExportState:
        """The state of ``object_name`` (a fresh one when it was never exported)."""
        self._ensure()
        mark = self.destination.placeholder
        rows = self.destination.execute(
            f"SELECT cursor_value, last_complete_at, progress FROM {self.table} WHERE object = {mark}",
            (object_name,),
            commit=False,
        )
        if not rows:
            return ExportState(object_name)
        cursor, last_complete_at, progress = rows[0]
        return ExportState(object_name, cursor, last_complete_at, json.loads(progress) if progress else {})

    def save_progress(
        self, object_name: str, progress: Mapping[str, Any], *, now: str, commit: bool = True
    ) -> None:
        """Record how far an unfinished read got (the cursor stays where it is).

        :param commit: ``False`` to commit it with the rows written in the same transaction.
        """
        state = self.load(object_name)
        state.progress = dict(progress)
        self._write(state, now, commit=commit)

    def complete(self, object_name: str, *, cursor: str | None, now: str) -> ExportState:
        """A read completed with its counts checked: move the cursor forward (never back), clear progress.

        :param cursor: the newest change time the read covered (``None``: the object has no cursor).
        :param now: the time the run completed.
        """
        state = self.load(object_name)
        if cursor is not None and (state.cursor is None or cursor > state.cursor):
            state.cursor = cursor
        if state.last_complete_at is None or now > state.last_complete_at:
            state.last_complete_at = now
        state.progress = {}
        self._write(state, now)
        return state

    def reset(self, object_name: str) -> None:
        """Forget ``object_name``'s cursor and progress: its next run is a full backfill."""
        self._ensure()
        mark = self.destination.placeholder
        self.destination.execute(f"DELETE FROM {self.table} WHERE object = {mark}", (object_name,))

    def _write(self, state: ExportState, now: str, *, commit: bool = True) -> None:
        self._ensure()
        mark = self.destination.placeholder
        progress = json.dumps(state.progress, sort_keys=True) if state.progress else None
        values = (state.object, state.cursor, state.last_complete_at, progress, now)
        marks = ", ".join([mark] * 5)
        columns = "object, cursor_value, last_complete_at, progress, updated_at"
        if self.destination.dialect == "mysql":
            tail = (
                "ON DUPLICATE KEY UPDATE cursor_value = VALUES(cursor_value), last_complete_at = "
                "VALUES(last_complete_at), progress = VALUES(progress), updated_at = VALUES(updated_at)"
            )
        else:
            tail = (
                "ON CONFLICT (object) DO UPDATE SET cursor_value = excluded.cursor_value, "
                "last_complete_at = excluded.last_complete_at, progress = excluded.progress, "
                "updated_at = excluded.updated_at"
            )
        self.destination.execute(
            f"INSERT INTO {self.table} ({columns}) VALUES ({marks}) {tail}", values, commit=commit
        )
