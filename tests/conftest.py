"""Test-wide setup and the fixtures every folder shares.

An isolated AIRFLOW_HOME on SQLite with no example DAGs, each test its own quota store, the
canary key, the migrated metadata DB, the module's sandbox and the async hook's fakes. The
constants and helpers behind them live in ``tests/_support.py``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests._support import (
    CANARY_KEY,
    EXAMPLE_DAGS_FOLDER,
    FakeSleep,
    Handler,
    RecordingTransport,
    clean,
    page,
    posting,
    running_sandbox,
    task,
)

if TYPE_CHECKING:
    from airflow_provider_apollo.hooks.async_apollo import ApolloAsyncHook
    from airflow_provider_apollo.sandbox import ApolloSandbox

# Airflow reads its configuration at import time, so this must run before any test module
# imports airflow. Each test session gets a throw-away home and SQLite database.
_home = tempfile.mkdtemp(prefix="apollo-provider-tests-")
os.environ.setdefault("AIRFLOW_HOME", _home)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{_home}/airflow.db")


#: Suites whose every test runs example DAGs, fault storms or a real Airflow (seconds each):
#: marked ``slow``, so that ``pytest -m "not slow"`` is the inner loop (a ``-m`` given on the
#: command line replaces the ``not deployment`` of addopts). Single slow tests elsewhere carry
#: the mark themselves.
SLOW_SUITES = ("deployment", "e2e", "reliability")
_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        relative = item.path.relative_to(_TESTS) if item.path.is_relative_to(_TESTS) else None
        if relative is not None and relative.parts[0] in SLOW_SUITES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _own_quota_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own default shared quota store: windows learned in one test stay there."""
    from airflow_provider_apollo.hooks._transport import quota_store

    directory = tmp_path_factory.mktemp("apollo-quota")
    monkeypatch.setattr(quota_store, "default_store_directory", lambda: directory)


# --------------------------------------------------------------------- shared by every folder
@pytest.fixture(scope="session")
def canary_key() -> str:
    """The one API key of the test suite (``tests._support.CANARY_KEY``)."""
    return CANARY_KEY


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[None]:
    """A migrated metadata DB whose DAGs folder is ``example_dags/``.

    ``dag.test()`` only runs a DAG it finds serialized from the DAGs folder's bundle, so the
    folder must be the example DAGs'. ``airflow.settings`` copies ``[core] dags_folder`` when
    it is first imported (possibly before this fixture, by another test module), so both the
    setting and that copy are patched.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(EXAMPLE_DAGS_FOLDER))
        from airflow import settings
        from airflow.utils.db import initdb

        patch.setattr(settings, "DAGS_FOLDER", str(EXAMPLE_DAGS_FOLDER))
        initdb()
        yield


@pytest.fixture(scope="module")
def sandbox_options() -> dict[str, Any]:
    """``ApolloSandbox`` arguments of the module's ``sandbox``; a folder or module overrides this."""
    return {}


@pytest.fixture(scope="module")
def sandbox(sandbox_options: dict[str, Any]) -> Iterator[ApolloSandbox]:
    """The module's sandbox (canary key, seed-42 world), with ``apollo_default`` pointing at it.

    The one sandbox-starting fixture of the suite: a folder or module that needs another world
    overrides ``sandbox_options`` (e.g. ``{"seed": 7, "people": 300}``). One sandbox serves the
    whole module, so the state a module asserts is the state its own tests left behind; use
    ``clean_sandbox`` for a test that must start from the fresh world.
    """
    with running_sandbox(**sandbox_options) as started:
        yield started


@pytest.fixture
def clean_sandbox(sandbox: ApolloSandbox) -> Iterator[ApolloSandbox]:
    """The module's sandbox in its fresh world (no records, default limits, no fault), before and after."""
    clean(sandbox)
    yield sandbox
    clean(sandbox)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    """An async sleep that waits for nothing and records what it was asked to wait."""
    return FakeSleep()


@pytest.fixture
def async_hook(
    fake_sleep: FakeSleep,
) -> Callable[[Handler], tuple[ApolloAsyncHook, RecordingTransport]]:
    """``async_hook(handler)`` -> an ``ApolloAsyncHook`` answering through ``handler``, and its transport."""
    from airflow_provider_apollo.hooks.async_apollo import ApolloAsyncHook

    def build(handler: Handler) -> tuple[ApolloAsyncHook, RecordingTransport]:
        transport = RecordingTransport(handler)
        hook = ApolloAsyncHook()
        hook._transport, hook._sleep, hook._clock = transport, fake_sleep, fake_sleep.clock
        return hook, transport

    return build


@pytest.fixture
def make_page() -> Callable[..., Any]:
    """The :func:`tests._support.page` factory (an httpx answer holding one page)."""
    return page


@pytest.fixture
def make_posting() -> Callable[..., dict[str, Any]]:
    """The :func:`tests._support.posting` factory."""
    return posting


@pytest.fixture
def make_task() -> Callable[..., dict[str, Any]]:
    """The :func:`tests._support.task` factory."""
    return task


# Real PostgreSQL and Redis for the tests that ask for them (session fixtures, loopback only).
from tests.services import postgres_server, redis_server  # noqa: E402, F401
