"""Fixtures for the trigger tests: the trigger polls a mock Apollo behind httpx.MockTransport.

The async hook, its fake sleep and the page/posting/task factories are in ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests._support import FakeSleep, Handler, RecordingTransport, set_connection


@pytest.fixture(autouse=True)
def apollo_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """``apollo_default`` with the canary key and two retries, found through the async lookup."""
    set_connection(monkeypatch, extra={"max_retries": 2})


@pytest.fixture
def wire(async_hook: Any, fake_sleep: FakeSleep) -> Callable[[Any, Handler], RecordingTransport]:
    """``wire(trigger, handler)``: the trigger polls through ``handler`` and never really waits."""

    def attach(trigger: Any, handler: Handler) -> RecordingTransport:
        hook, transport = async_hook(handler)
        trigger._hook = lambda: hook
        trigger._sleep = fake_sleep
        return transport

    return attach
