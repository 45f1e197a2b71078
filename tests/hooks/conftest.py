"""Fixtures for ApolloHook tests: a connection from the environment, a fake clock, requests-mock."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import requests_mock as requests_mock_module

from airflow_provider_apollo.hooks.apollo import ApolloHook

CANARY_KEY = "canary-KEY-5e1f0c7a9b3d"
BASE = "https://api.apollo.io/api/v1"


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def set_connection(
    monkeypatch: pytest.MonkeyPatch, conn_id: str = "apollo_default", **fields: object
) -> None:
    """Define an Airflow connection through ``AIRFLOW_CONN_<ID>`` as JSON."""
    value = {"conn_type": "apollo", "password": CANARY_KEY, **fields}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))


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
