"""Fixtures of the reliability and security tests (issue 6).

* ``--long`` (or ``APOLLO_RELIABILITY_LONG=1``) runs the fault storms over more seeds; the
  default keeps the whole folder within a few CI minutes on two cores. The option is only
  known when pytest is pointed at this folder (``pytest tests/reliability --long``); the
  environment variable works from anywhere.
* ``--reliability-report=PATH`` (or ``APOLLO_RELIABILITY_REPORT``) writes every figure the
  tests recorded (runs, faults by kind, requests, records, outcomes) as JSON: the source of
  the tables in ``docs/reliability.md``.

The canary key, the metadata DB and the module's sandbox (seed-42 world, canary key, as
``apollo_default``) are the suite's shared fixtures (``tests/conftest.py``).
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests._support import EXAMPLE_DAGS_FOLDER

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.sdk import DAG

    from airflow_provider_apollo.sandbox import ApolloSandbox

#: Fault seeds of the storms: CI runs ``SHORT_SEEDS``, ``--long`` runs ``LONG_SEEDS``.
SHORT_SEEDS = 10
LONG_SEEDS = 40
#: Seeds of the one-fault-kind-at-a-time runs.
SHORT_FOCUSED_SEEDS = 1
LONG_FOCUSED_SEEDS = 5

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
    """``fault_seed`` / ``focused_seed`` are parametrized with one seed per storm run."""
    long = long_run(metafunc.config)
    if "fault_seed" in metafunc.fixturenames:
        count = LONG_SEEDS if long else SHORT_SEEDS
        metafunc.parametrize("fault_seed", range(1, count + 1), ids=lambda seed: f"seed{seed}")
    if "focused_seed" in metafunc.fixturenames:
        count = LONG_FOCUSED_SEEDS if long else SHORT_FOCUSED_SEEDS
        metafunc.parametrize("focused_seed", range(101, 101 + count), ids=lambda seed: f"seed{seed}")


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


#: Target accounts of example_apollo_hiring_signals that get a matching posting in every test.
HIRING_DOMAINS = ("tidal-cloud.example.com", "lumen-systems.example.com")


def fresh_world(sandbox: ApolloSandbox) -> None:
    """No fault, a fresh CRM, and a sales posting published now at two of the hiring DAG's targets.

    The postings make the job-postings sensor succeed at its first poke whatever day the
    tests run, so that the hiring DAG's run never waits for a reschedule.
    """
    from airflow_provider_apollo.sandbox import SandboxFaults
    from airflow_provider_apollo.sandbox.prospecting import find_organization_by_domain

    sandbox.configure(faults=SandboxFaults())
    sandbox.reset()
    for domain in HIRING_DOMAINS:
        organization = find_organization_by_domain(sandbox.state.world, domain)
        assert organization is not None, f"the sandbox world has no {domain}"
        sandbox.add_job_postings(organization["id"], [{"title": "Senior Account Executive"}])


@pytest.fixture
def clean_sandbox(sandbox: ApolloSandbox) -> Iterator[ApolloSandbox]:
    """The module's sandbox, back to its fresh world with no fault, before and after the test."""
    from airflow_provider_apollo.sandbox import SandboxFaults

    fresh_world(sandbox)
    yield sandbox
    sandbox.configure(faults=SandboxFaults())


@pytest.fixture(scope="session")
def reset_world() -> Callable[[ApolloSandbox], None]:
    """``reset_world(sandbox)``: what ``clean_sandbox`` does, for module-scoped fixtures."""
    return fresh_world


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
        original(self, *args, **kwargs)
        self._sleep = short_sleep

    monkeypatch.setattr(ApolloHook, "__init__", init)
    return asked


class ExampleDagRunner:
    """Load the example DAGs, run them with ``dag.test()`` and read back what they returned.

    ``dag.test()`` in Airflow 3.3 honours task retries in-process: a failed try becomes
    ``up_for_retry`` and its loop schedules the next try once ``retry_delay`` has passed. The
    loader sets ``retry_delay`` to 0 so that storms do not wait 10 s per retry; the number of
    retries stays the DAG's own. Sensors poke every 0.2 s and time out after 30 s instead of
    rescheduling for an hour: ``dag.test()`` would otherwise sit in its loop for that hour.
    """

    @staticmethod
    def load(dag_id: str) -> DAG:
        """A fresh instance of an example DAG, imported from its file as Airflow would.

        :param dag_id: the DAG (and file) name.
        """
        from airflow.sdk import BaseSensorOperator

        spec = importlib.util.spec_from_file_location(
            f"reliability_{dag_id}", EXAMPLE_DAGS_FOLDER / f"{dag_id}.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        dag: DAG = module.dag
        for task in dag.tasks:
            task.retry_delay = timedelta(0)
            if isinstance(task, BaseSensorOperator):
                task.mode, task.poke_interval, task.timeout = "poke", 0.2, 30.0
        return dag

    @staticmethod
    def run(dag: DAG) -> DagRun:
        """``dag.test()`` once, whatever the outcome (the caller asserts it).

        :param dag: the DAG to run.
        """
        return dag.test()

    @staticmethod
    def states(run: DagRun) -> dict[str, str]:
        """Each task's final state."""
        return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}

    @staticmethod
    def attempts(run: DagRun) -> dict[str, int]:
        """How many tries each task of a finished run took."""
        return {ti.task_id: ti.try_number for ti in run.get_task_instances()}

    @staticmethod
    def xcoms(run: DagRun) -> dict[str, Any]:
        """Every XCom value the run stored, by ``task_id:key``."""
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            rows: list[Any] = list(session.scalars(XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id)))
            return {f"{row.task_id}:{row.key}": XComModel.deserialize_value(row) for row in rows}


@pytest.fixture(scope="session")
def example_dags(airflow_db: None) -> ExampleDagRunner:
    """Load, run and read back the example DAGs."""
    return ExampleDagRunner()


def _crm_fingerprint(sandbox: ApolloSandbox) -> dict[str, Any]:
    """What a run left in the sandbox's CRM, independent of ids and creation order.

    Contacts by email, enrolments as (email, sequence), tasks as (email, type, due, owner):
    two runs that did the same work have equal fingerprints even if faults reordered it.
    """
    state = sandbox.state
    with state.lock:
        email_of = {cid: (c.get("email") or "").lower() for cid, c in state.contacts.items()}
        contacts = sorted(email_of.values())
        enrolments = sorted(
            (email_of[cid], status["emailer_campaign_id"])
            for cid, contact in state.contacts.items()
            for status in contact["contact_campaign_statuses"]
        )
        tasks = sorted(
            (email_of.get(t["contact_id"], t["contact_id"]), t["type"], t["due_at"], t["user_id"])
            for t in state.tasks.values()
        )
    return {"contacts": contacts, "enrolments": enrolments, "tasks": tasks}


@pytest.fixture(scope="session")
def crm_fingerprint() -> Callable[[ApolloSandbox], dict[str, Any]]:
    """``crm_fingerprint(sandbox)``: contacts, enrolments and tasks, free of ids and order."""
    return _crm_fingerprint
