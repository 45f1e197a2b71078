"""The SQL destination on SQLite and a real PostgreSQL: tables, upsert counts, delete marks, state."""

from __future__ import annotations

import pytest

from airflow_provider_apollo._warehouse.records import Column, TableSpec, to_row
from airflow_provider_apollo._warehouse.sql import SqlDestination
from airflow_provider_apollo._warehouse.state import ExportStateStore

SPEC = TableSpec(
    "apollo_contacts",
    (
        Column("email"),
        Column("account_name", source="account.name"),
        Column("score", "integer"),
        Column("updated_at", "timestamp"),
    ),
)
T0 = "2026-01-01T00:00:00.000Z"
T1 = "2026-01-02T00:00:00.000Z"


def contact(n: int, **changes: object) -> dict[str, object]:
    return {
        "id": f"c{n:04d}",
        "email": f"p{n}@x.io",
        "account": {"name": f"Acme {n}"},
        "score": str(n),
        "updated_at": "2025-12-01T10:00:00.000Z",
        **changes,
    }


def rows(dest: SqlDestination) -> dict[str, tuple[object, ...]]:
    got = dest.execute(
        f"SELECT id, email, account_name, score, deleted_at, raw FROM {dest.qualified(SPEC.name)}"
    )
    return {str(r[0]): tuple(r[1:]) for r in got}


def test_upsert_creates_updates_and_skips_unchanged(destination: SqlDestination) -> None:
    destination.ensure_table(SPEC)
    first = destination.upsert(SPEC, [to_row(SPEC, contact(n)) for n in range(5)], extracted_at=T0)
    assert (first.created, first.updated, first.unchanged) == (5, 0, 0)

    again = [to_row(SPEC, contact(n)) for n in range(5)]
    again[2] = to_row(SPEC, contact(2, email="new@x.io"))
    again.append(to_row(SPEC, contact(9)))
    second = destination.upsert(SPEC, again, extracted_at=T1)
    assert (second.created, second.updated, second.unchanged) == (1, 1, 4)

    stored = rows(destination)
    assert len(stored) == 6
    assert stored["c0002"][0] == "new@x.io"
    assert stored["c0003"][1] == "Acme 3" and stored["c0003"][2] == 3
    assert '"email":"new@x.io"' in str(stored["c0002"][4])


def test_deleted_rows_are_marked_counted_and_come_back_when_seen(destination: SqlDestination) -> None:
    destination.ensure_table(SPEC)
    destination.upsert(SPEC, [to_row(SPEC, contact(n)) for n in range(4)], extracted_at=T0)
    assert destination.mark_deleted(SPEC, ["c0001", "c0003", "nope"], deleted_at=T1) == 2
    assert destination.mark_deleted(SPEC, ["c0001"], deleted_at=T1) == 0  # already marked
    assert sorted(destination.live_ids(SPEC)) == ["c0000", "c0002"]
    assert destination.counts(SPEC) == {"live": 2, "deleted": 2}

    back = destination.upsert(SPEC, [to_row(SPEC, contact(1))], extracted_at=T1)
    assert (back.created, back.updated, back.unchanged) == (0, 1, 0)
    assert rows(destination)["c0001"][3] is None


def test_a_newer_spec_adds_columns_without_losing_rows(destination: SqlDestination) -> None:
    destination.ensure_table(SPEC)
    destination.upsert(SPEC, [to_row(SPEC, contact(1))], extracted_at=T0)
    wider = TableSpec(SPEC.name, (*SPEC.columns, Column("title")))
    destination.ensure_table(wider)
    destination.upsert(wider, [to_row(wider, contact(1, title="CTO"))], extracted_at=T1)
    got = destination.execute(f"SELECT title, email FROM {destination.qualified(SPEC.name)}")
    assert got == [("CTO", "p1@x.io")]


def test_a_failed_batch_writes_nothing(destination: SqlDestination) -> None:
    destination.ensure_table(SPEC)
    broken = TableSpec(SPEC.name, (*SPEC.columns, Column("not_created_yet")))
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error class differs per dialect
        destination.upsert(broken, [to_row(broken, contact(n)) for n in range(3)], extracted_at=T0)
    assert rows(destination) == {}
    assert destination.upsert(SPEC, [to_row(SPEC, contact(1))], extracted_at=T0).created == 1


def test_state_cursor_moves_forward_only_and_progress_survives_a_new_store(
    destination: SqlDestination,
) -> None:
    store = ExportStateStore(destination)
    assert store.load("contacts").cursor is None
    store.save_progress("contacts", {"slices_done": ["stage:a"], "page": 7}, now=T0)
    fresh = ExportStateStore(destination).load("contacts")  # another worker, same destination
    assert fresh.progress == {"slices_done": ["stage:a"], "page": 7} and fresh.cursor is None

    done = store.complete("contacts", cursor="2026-01-05T00:00:00.000Z", now=T1)
    assert done.cursor == "2026-01-05T00:00:00.000Z" and done.progress == {}
    # A backfill of an older interval completes later: the cursor does not move back.
    store.complete("contacts", cursor="2025-06-01T00:00:00.000Z", now="2026-01-03T00:00:00.000Z")
    assert store.load("contacts").cursor == "2026-01-05T00:00:00.000Z"
    assert store.load("contacts").last_complete_at == "2026-01-03T00:00:00.000Z"
    store.reset("contacts")
    assert store.load("contacts").cursor is None


def test_a_connection_that_is_not_sql_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_NOT_SQL", "http://example.invalid")
    with pytest.raises(ValueError, match=r"'not_sql'.*SQL"):
        _ = SqlDestination("not_sql").hook
    with pytest.raises(ValueError, match="sql_conn_id"):
        SqlDestination("")
