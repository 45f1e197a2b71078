"""Session fixtures for the real servers some tests need: PostgreSQL and Redis on loopback.

They come from Debian's packages (``scripts/local_services.py`` starts and stops them). Where a
server cannot be had, a local run skips the tests that need it, with the package to install; on
CI (``CI=true``) it fails instead, so a missing server can never pass for a green run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from scripts.local_services import (
    PostgresServer,
    RedisServer,
    ServiceUnavailable,
    running_postgres,
    running_redis,
)

__all__ = ["PostgresServer", "RedisServer", "postgres_server", "redis_server"]


def _unavailable(error: ServiceUnavailable) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{error} (CI must run the tests that need it)")
    pytest.skip(str(error))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster for the session: ``postgres_server.uri`` is an Airflow connection URI."""
    try:
        with running_postgres() as server:
            yield server
    except ServiceUnavailable as error:
        _unavailable(error)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A Redis server for the session: ``redis_server.url()`` is its URL."""
    try:
        with running_redis() as server:
            yield server
    except ServiceUnavailable as error:
        _unavailable(error)
