"""Fixtures of the reliability and security tests (issue 6).

* ``--long`` (or ``APOLLO_RELIABILITY_LONG=1``) runs the fault storms over more seeds; the
  default keeps the whole folder within a few CI minutes on two cores. The option is only
  known when pytest is pointed at this folder (``pytest tests/reliability --long``); the
  environment variable works from anywhere.
* ``--reliability-report=PATH`` (or ``APOLLO_RELIABILITY_REPORT``) writes every figure the
  tests recorded (runs, faults by kind, requests, records, outcomes) as JSON: the source of
  the tables in ``docs/reliability.md``.
* The canary API key every test here uses: it must never show up anywhere a user or an
  attacker could read it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_apollo.sandbox import ApolloSandbox

#: Looks like a key, is unique enough to grep for, and is not a real key.
CANARY_KEY = "CANARY-9f3b-not-a-real-key"
#: Fault seeds of the storms: CI runs ``SHORT_SEEDS``, ``--long`` runs ``LONG_SEEDS``.
SHORT_SEEDS = 10
LONG_SEEDS = 40
#: The world the example DAGs' default params are written for.
WORLD_SEED = 42
EXAMPLE_DAGS_FOLDER = Path(__file__).resolve().parents[2] / "example_dags"

_FIGURES: dict[str, Any] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("apollo-reliability")
    group.addoption(
        "--long",
        action="store_true",
        default=False,
        help=f"fault storms over {LONG_SEEDS} seeds instead of {SHORT_SEEDS}",
    )
    group.addoption(
        "--reliability-report",
        default=None,
        help="write the figures of this run (JSON) to this path",
    )


def _option(config: pytest.Config, name: str, default: Any) -> Any:
    try:
        return config.getoption(name)
    except ValueError:  # the option is unknown when this conftest was not an initial one
        return default


def long_run(config: pytest.Config) -> bool:
    """Whether the long storm was asked for (``--long`` or ``APOLLO_RELIABILITY_LONG=1``)."""
    return bool(_option(config, "--long", False)) or os.environ.get("APOLLO_RELIABILITY_LONG") == "1"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``fault_seed`` is parametrized with one seed per storm run."""
    if "fault_seed" in metafunc.fixturenames:
        count = LONG_SEEDS if long_run(metafunc.config) else SHORT_SEEDS
        metafunc.parametrize("fault_seed", range(1, count + 1), ids=lambda seed: f"seed{seed}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = _option(session.config, "--reliability-report", None)
    path = path or os.environ.get("APOLLO_RELIABILITY_REPORT")
    if path and _FIGURES:
        Path(path).write_text(json.dumps(_FIGURES, indent=2, sort_keys=True, default=str) + "\n")


@pytest.fixture(scope="session")
def record_figures() -> Callable[..., None]:
    """``record_figures(section, key, value)``: keep one measured figure for the report."""

    def record(section: str, key: str, value: Any) -> None:
        _FIGURES.setdefault(section, {})[key] = value

    return record


@pytest.fixture(scope="session")
def canary_key() -> str:
    """The canary API key."""
    return CANARY_KEY


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[None]:
    """A migrated metadata DB whose DAGs folder is ``example_dags/`` (``dag.test()`` needs it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(EXAMPLE_DAGS_FOLDER))
        from airflow.utils.db import initdb

        initdb()
        yield


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ApolloSandbox]:
    """A sandbox (world seed 42, canary key) for the module, set as ``apollo_default``."""
    from airflow_provider_apollo.sandbox import ApolloSandbox

    with ApolloSandbox(api_key=CANARY_KEY, seed=WORLD_SEED) as started, pytest.MonkeyPatch.context() as patch:
        for name, value in started.env.items():
            patch.setenv(name, value)
        yield started


@pytest.fixture
def clean_sandbox(sandbox: ApolloSandbox) -> Iterator[ApolloSandbox]:
    """The module's sandbox, back to its fresh world with no fault, before and after the test."""
    from airflow_provider_apollo.sandbox import SandboxFaults

    sandbox.configure(faults=SandboxFaults())
    sandbox.reset()
    yield sandbox
    sandbox.configure(faults=SandboxFaults())


def connection_json(sandbox: ApolloSandbox, **extra: Any) -> str:
    """The sandbox's ``apollo_default`` connection JSON with ``extra`` merged into its extras."""
    connection = json.loads(sandbox.env["AIRFLOW_CONN_APOLLO_DEFAULT"])
    extras = connection.get("extra") or {}
    if isinstance(extras, str):
        extras = json.loads(extras)
    connection["extra"] = {**extras, **extra}
    return json.dumps(connection)


@pytest.fixture
def use_connection(sandbox: ApolloSandbox, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``use_connection(timeout=0.5, max_retries=4)``: ``apollo_default`` on the sandbox with extras."""

    def use(**extra: Any) -> None:
        monkeypatch.setenv("AIRFLOW_CONN_APOLLO_DEFAULT", connection_json(sandbox, **extra))

    return use


@pytest.fixture
def fast_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every hook built during the test waits at most 20 ms; returns the waits it asked for.

    Backoff (1 s, 2 s, 4 s...) and ``Retry-After`` are real in production; here only their
    number and length matter, and storms must not take minutes.
    """
    import time

    from airflow_provider_apollo.hooks.apollo import ApolloHook

    asked: list[float] = []
    original = ApolloHook.__init__

    def short_sleep(seconds: float) -> None:
        asked.append(seconds)
        time.sleep(min(seconds, 0.02))

    def init(self: ApolloHook, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("sleep", short_sleep)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ApolloHook, "__init__", init)
    return asked
