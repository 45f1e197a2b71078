"""A SQL destination on SQLite (a file in tmp_path) and on the session's real PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from airflow_provider_apollo._warehouse.sql import SqlDestination

if TYPE_CHECKING:
    from tests.services import PostgresServer


def sqlite_connection(path: Path) -> str:
    """An Airflow connection (JSON) of a SQLite file (the JSON form keeps an absolute path intact)."""
    return json.dumps({"conn_type": "sqlite", "host": str(path)})


@pytest.fixture(params=["sqlite", "postgres"])
def destination(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SqlDestination]:
    """A destination on connection ``apollo_warehouse``: SQLite, then PostgreSQL (own schema per test)."""
    schema = None
    if request.param == "sqlite":
        monkeypatch.setenv("AIRFLOW_CONN_APOLLO_WAREHOUSE", sqlite_connection(tmp_path / "warehouse.db"))
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        monkeypatch.setenv("AIRFLOW_CONN_APOLLO_WAREHOUSE", server.uri)
        schema = f"t_{uuid.uuid4().hex[:12]}"
    with SqlDestination("apollo_warehouse", schema=schema) as dest:
        yield dest
