"""Fixtures for the CRM export: a sized sandbox CRM and a warehouse on SQLite or real PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from airflow_provider_apollo._warehouse.sql import SqlDestination
from airflow_provider_apollo.hooks.apollo import ApolloHook

if TYPE_CHECKING:
    from airflow_provider_apollo.sandbox import ApolloSandbox

CRM_SIZES = {"crm_contacts": 1500, "crm_accounts": 150, "crm_deals": 60, "crm_tasks": 250, "crm_users": 5}


@pytest.fixture
def crm_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[ApolloSandbox]:
    """A sandbox with a seeded CRM (1,500 contacts), as ``apollo_default``."""
    from airflow_provider_apollo.sandbox import ApolloSandbox

    sandbox = ApolloSandbox(seed=17, people=200, **CRM_SIZES)
    sandbox.start()
    monkeypatch.setenv("AIRFLOW_CONN_APOLLO_DEFAULT", sandbox.connection_json)
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SqlDestination]:
    """The ``apollo_warehouse`` connection: a SQLite file, then the session's PostgreSQL (own schema)."""
    schema = None
    if request.param == "sqlite":
        connection = json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "warehouse.db")})
        monkeypatch.setenv("AIRFLOW_CONN_APOLLO_WAREHOUSE", connection)
    else:
        monkeypatch.setenv("AIRFLOW_CONN_APOLLO_WAREHOUSE", request.getfixturevalue("postgres_server").uri)
        schema = f"crm_{uuid.uuid4().hex[:10]}"
    with SqlDestination("apollo_warehouse", schema=schema) as destination:
        yield destination


@pytest.fixture
def hook() -> ApolloHook:
    """A fresh hook on ``apollo_default`` (its call counter starts at 0)."""
    return ApolloHook()
