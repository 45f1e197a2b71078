"""Fixtures for ApolloHook tests: a canary-key connection, a fake clock, requests-mock."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import requests_mock as requests_mock_module

from airflow_provider_apollo.hooks.apollo import ApolloHook
from tests._support import BASE, CANARY_KEY, FakeClock, set_connection

# Re-exported: test modules written before tests/_support.py import these from here.
__all__ = ["BASE", "CANARY_KEY", "FakeClock", "set_connection"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def connection(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, extra={"max_retries": 3})


@pytest.fixture
def hook(connection: None, clock: FakeClock) -> ApolloHook:
    hook = ApolloHook()
    hook._sleep, hook._clock = clock.sleep, clock
    # Airflow's task logger is structlog; a stdlib logger lets caplog see every line the hook logs.
    hook._log = logging.getLogger("airflow_provider_apollo.hooks.apollo")  # type: ignore[assignment]
    return hook


@pytest.fixture
def api() -> Iterator[requests_mock_module.Mocker]:
    with requests_mock_module.Mocker() as mocker:
        yield mocker
