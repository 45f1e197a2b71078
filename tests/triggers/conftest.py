"""Fixtures for the trigger and async-client tests: a mock Apollo behind httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from airflow_provider_apollo.hooks.async_apollo import ApolloAsyncHook

CANARY_KEY = "canary-KEY-triggers-3c9d0e"
Handler = Callable[[httpx.Request], httpx.Response]


class FakeSleep:
    """An async sleep that records each wait and moves a fake monotonic clock instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 1000.0

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


class RecordingTransport(httpx.MockTransport):
    """``httpx.MockTransport`` that keeps every request it answered."""

    def __init__(self, handler: Handler) -> None:
        self.requests: list[httpx.Request] = []

        def recording(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return handler(request)

        super().__init__(recording)


@pytest.fixture
def canary_key() -> str:
    return CANARY_KEY


@pytest.fixture(autouse=True)
def apollo_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """``apollo_default`` with a canary key and two retries, found through the async lookup."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_APOLLO_DEFAULT",
        json.dumps({"conn_type": "apollo", "password": CANARY_KEY, "extra": {"max_retries": 2}}),
    )


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def async_hook(fake_sleep: FakeSleep) -> Callable[[Handler], tuple[ApolloAsyncHook, RecordingTransport]]:
    """``async_hook(handler)`` -> a hook answering through ``handler``, and its transport."""

    def build(handler: Handler) -> tuple[ApolloAsyncHook, RecordingTransport]:
        transport = RecordingTransport(handler)
        hook = ApolloAsyncHook()
        hook._transport, hook._sleep, hook._clock = transport, fake_sleep, fake_sleep.clock
        return hook, transport

    return build


@pytest.fixture
def wire(async_hook: Any, fake_sleep: FakeSleep) -> Callable[[Any, Handler], RecordingTransport]:
    """``wire(trigger, handler)``: the trigger polls through ``handler`` and never really waits."""

    def attach(trigger: Any, handler: Handler) -> RecordingTransport:
        hook, transport = async_hook(handler)
        trigger._hook = lambda: hook
        trigger._sleep = fake_sleep
        return transport

    return attach


def page(key: str, records: list[dict[str, Any]], *, page: int = 1, total_pages: int = 1) -> httpx.Response:
    """A 200 answer holding one page of ``records`` under ``key``."""
    body = {key: records, "pagination": {"page": page, "per_page": 100, "total_pages": total_pages}}
    return httpx.Response(
        200, json=body, headers={"x-minute-requests-left": "199", "x-rate-limit-minute": "200"}
    )


@pytest.fixture
def make_page() -> Callable[..., httpx.Response]:
    return page


def posting(posting_id: str, title: str, posted_at: str) -> dict[str, Any]:
    """A job posting shaped like Apollo's sample answer."""
    return {"id": posting_id, "title": title, "url": "https://jobs.example/1", "posted_at": posted_at}


def task(task_id: str, status: str, contact_id: str = "c1") -> dict[str, Any]:
    """A task shaped like Apollo's answer (with the embedded contact it carries)."""
    return {
        "id": task_id,
        "contact_id": contact_id,
        "type": "call",
        "status": status,
        "contact": {"id": contact_id, "email": "private@example.com"},
    }


@pytest.fixture
def make_posting() -> Callable[..., dict[str, Any]]:
    return posting


@pytest.fixture
def make_task() -> Callable[..., dict[str, Any]]:
    return task
