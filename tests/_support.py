"""What every test folder shares: the canary key, the example DAGs folder, the sandbox and its fakes.

Test modules import the constants and helpers (``from tests._support import CANARY_KEY``);
``tests/conftest.py`` turns them into fixtures. Nothing heavy is imported at module level:
the sandbox's web framework loads when a sandbox starts (httpx is Airflow's own client).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from airflow_provider_apollo.sandbox import ApolloSandbox

#: The only API key the tests use: looks like a key, is unique enough to grep for, is not a real
#: key. It must never show up where a user or an attacker could read it (URL, log, XCom, error).
CANARY_KEY = "canary-KEY-5e1f0c7a9b3d-not-a-real-key"
#: Apollo's API root as the hook builds it for the default connection.
BASE = "https://api.apollo.io/api/v1"
#: The example DAGs, which ``dag.test()`` runs need as Airflow's DAGs folder.
EXAMPLE_DAGS_FOLDER = Path(__file__).resolve().parents[1] / "example_dags"
#: The sandbox world the example DAGs' default params are written for.
WORLD_SEED = 42


def connection_json(**fields: Any) -> str:
    """An ``apollo`` connection as the JSON of ``AIRFLOW_CONN_<ID>``, holding the canary key.

    :param fields: connection fields (``extra={"max_retries": 0}``, ``host=...``) over the defaults.
    """
    return json.dumps({"conn_type": "apollo", "password": CANARY_KEY, **fields})


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str = "apollo_default", **fields: Any) -> None:
    """Define an Airflow connection with the canary key through ``AIRFLOW_CONN_<ID>``.

    :param conn_id: the connection id.
    :param fields: connection fields over the defaults, e.g. ``extra={"max_retries": 3}``.
    """
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_json(**fields))


# ---------------------------------------------------------------------------------- sandbox
def clean(sandbox: ApolloSandbox) -> None:
    """Back to the freshly generated world: no records, zeroed counters, default limits, no fault."""
    from airflow_provider_apollo.sandbox import SandboxFaults, SandboxLimits

    sandbox.configure(limits=SandboxLimits(), faults=SandboxFaults())
    sandbox.reset()


@contextmanager
def running_sandbox(*, patch: pytest.MonkeyPatch | None = None, **options: Any) -> Iterator[ApolloSandbox]:
    """A sandbox on 127.0.0.1 holding the canary key, with ``apollo_default`` pointing at it.

    The connection variables are restored when the block ends.

    :param patch: a monkeypatch whose changes (e.g. to the sandbox's app) apply while it starts;
        by default a fresh one.
    :param options: any ``ApolloSandbox`` argument; ``api_key`` defaults to the canary key and
        ``seed`` to the example DAGs' world.
    """
    from airflow_provider_apollo.sandbox import ApolloSandbox

    options = {"api_key": CANARY_KEY, "seed": WORLD_SEED, **options}
    with pytest.MonkeyPatch.context() as own:
        patcher = patch or own
        with ApolloSandbox(**options) as sandbox:
            for name, value in sandbox.env.items():
                patcher.setenv(name, value)
            yield sandbox


# ---------------------------------------------------------------------------------- fakes
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


Handler = Callable[[httpx.Request], httpx.Response]


class RecordingTransport(httpx.MockTransport):
    """``httpx.MockTransport`` that keeps every request it answered."""

    def __init__(self, handler: Handler) -> None:
        self.requests: list[httpx.Request] = []

        def recording(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return handler(request)

        super().__init__(recording)


def page(key: str, records: list[dict[str, Any]], *, page: int = 1, total_pages: int = 1) -> httpx.Response:
    """A 200 answer holding one page of ``records`` under ``key``, with healthy quota headers."""
    body = {key: records, "pagination": {"page": page, "per_page": 100, "total_pages": total_pages}}
    return httpx.Response(
        200, json=body, headers={"x-minute-requests-left": "199", "x-rate-limit-minute": "200"}
    )


def posting(posting_id: str, title: str, posted_at: str) -> dict[str, Any]:
    """A job posting with the fields the triggers read."""
    return {"id": posting_id, "title": title, "url": "https://jobs.example/1", "posted_at": posted_at}


def task(task_id: str, status: str, contact_id: str = "c1") -> dict[str, Any]:
    """A task with the fields the triggers read (and the embedded contact Apollo sends)."""
    return {
        "id": task_id,
        "contact_id": contact_id,
        "type": "call",
        "status": status,
        "contact": {"id": contact_id, "email": "private@example.com"},
    }
