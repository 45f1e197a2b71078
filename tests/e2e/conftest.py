"""End-to-end fixtures: the example DAGs run with ``dag.test()`` against the Apollo sandbox.

The metadata DB is the test session's SQLite (tests/conftest.py), migrated once here. Each
test module gets its own sandbox, so the state a module asserts is the state its own DAG
runs left behind.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.sdk import DAG

    from airflow_provider_apollo.sandbox import ApolloSandbox

EXAMPLE_DAGS_FOLDER = Path(__file__).resolve().parents[2] / "example_dags"
SANDBOX_SEED = 42


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[None]:
    """A migrated metadata DB whose DAGs folder is ``example_dags/``.

    ``dag.test()`` only runs a DAG it finds serialized from the DAGs folder's bundle, so the
    folder must be the example DAGs'. Airflow reads ``[core] dags_folder`` from the
    environment on every lookup, so setting it here is enough.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(EXAMPLE_DAGS_FOLDER))
        from airflow.utils.db import initdb

        initdb()
        yield


def start_sandbox(**kwargs: Any) -> ApolloSandbox:
    """A started sandbox with the example DAGs' world (seed 42)."""
    from airflow_provider_apollo.sandbox import ApolloSandbox

    sandbox = ApolloSandbox(seed=SANDBOX_SEED, **kwargs)
    sandbox.start()
    return sandbox


def connection_json(sandbox: ApolloSandbox, **extra: Any) -> str:
    """The sandbox's ``apollo_default`` connection, with connection extras added."""
    connection = json.loads(sandbox.connection_json)
    if extra:
        connection["extra"] = {**connection.get("extra", {}), **extra}
    return json.dumps(connection)


@pytest.fixture(scope="module")
def sandbox(airflow_db: None) -> Iterator[ApolloSandbox]:
    """A sandbox for the whole module, set as the ``apollo_default`` connection."""
    sandbox = start_sandbox()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_APOLLO_DEFAULT", sandbox.connection_json)
        try:
            yield sandbox
        finally:
            sandbox.stop()


class ExampleDags:
    """Load, run and read back the example DAGs (the ``example_dags`` fixture)."""

    @staticmethod
    def load(dag_id: str, *, retry_delay: timedelta | None = timedelta(0)) -> DAG:
        """A fresh instance of an example DAG, imported from its file as Airflow would.

        :param dag_id: the DAG (and file) name.
        :param retry_delay: replaces every task's retry delay, so that retries under test happen
            at once; ``None`` keeps the DAG's own.
        """
        spec = importlib.util.spec_from_file_location(f"e2e_{dag_id}", EXAMPLE_DAGS_FOLDER / f"{dag_id}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        dag: DAG = module.dag
        if retry_delay is not None:
            for task in dag.tasks:
                task.retry_delay = retry_delay
        return dag

    @staticmethod
    def run(dag: DAG, *, conf: Mapping[str, Any] | None = None, expect: str = "success") -> DagRun:
        """``dag.test()`` once; fails the test, naming each task's state, unless the run ends ``expect``.

        :param dag: the DAG to run.
        :param conf: params to override for this run.
        :param expect: the run state the test expects.
        """
        run = dag.test(run_conf=dict(conf) if conf else None)
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
        assert str(run.state) == expect, f"{dag.dag_id} ended {run.state}: {states}"
        return run

    @staticmethod
    def result(run: DagRun, task_id: str) -> Any:
        """What a task of a finished run returned (its ``return_value`` XCom)."""
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            row = session.scalars(
                XComModel.get_many(
                    run_id=run.run_id, dag_ids=run.dag_id, task_ids=task_id, key="return_value"
                )
            ).first()
            assert row is not None, f"{task_id} returned nothing in {run.run_id}"
            return XComModel.deserialize_value(row)

    @staticmethod
    def attempts(run: DagRun) -> dict[str, int]:
        """How many attempts each task of a finished run took."""
        return {ti.task_id: ti.try_number for ti in run.get_task_instances()}


@pytest.fixture(scope="session")
def example_dags(airflow_db: None) -> ExampleDags:
    """Load, run and read back the example DAGs."""
    return ExampleDags()


def grew(after: Mapping[str, Any], before: Mapping[str, Any], *path: str) -> float:
    """How much one sandbox counter (``"credits", "total"``) grew between two ``stats()``."""

    def read(stats: Mapping[str, Any]) -> float:
        value: Any = stats
        for key in path:
            value = value.get(key, 0)
        return float(value)

    return read(after) - read(before)


@pytest.fixture(scope="session")
def stats_growth() -> Any:
    """``grew(after, before, *path)``: how much a sandbox counter grew between two ``stats()``."""
    return grew
