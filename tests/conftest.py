"""Test-wide setup: an isolated AIRFLOW_HOME on SQLite, no example DAGs, no real sleeping."""

from __future__ import annotations

import os
import tempfile

import pytest

# Airflow reads its configuration at import time, so this must run before any test module
# imports airflow. Each test session gets a throw-away home and SQLite database.
_home = tempfile.mkdtemp(prefix="apollo-provider-tests-")
os.environ.setdefault("AIRFLOW_HOME", _home)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{_home}/airflow.db")


@pytest.fixture(autouse=True)
def _own_quota_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own default shared quota store: windows learned in one test stay there."""
    from airflow_provider_apollo.hooks._transport import quota_store

    directory = tmp_path_factory.mktemp("apollo-quota")
    monkeypatch.setattr(quota_store, "default_store_directory", lambda: directory)


# Real PostgreSQL and Redis for the tests that ask for them (session fixtures, loopback only).
from tests.services import postgres_server, redis_server  # noqa: E402, F401
