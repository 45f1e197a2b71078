"""End-to-end fixtures: the example DAGs run with ``dag.test()`` against the Apollo sandbox.

The metadata DB (the test session's SQLite, migrated once) and the sandbox are the suite's
shared fixtures (tests/conftest.py). Each test module gets its own sandbox, so the state a
module asserts is the state its own DAG runs left behind.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk import BaseSensorOperator

from tests._support import EXAMPLE_DAGS_FOLDER

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.sdk import DAG


SENSOR_POKE_SECONDS = 1.0
SENSOR_TIMEOUT_SECONDS = 60.0


class ExampleDags:
    """Load, run and read back the example DAGs (the ``example_dags`` fixture)."""

    @staticmethod
    def load(dag_id: str, *, retry_delay: timedelta | None = timedelta(0)) -> DAG:
        """A fresh instance of an example DAG, imported from its file as Airflow would.

        Sensors poke every second and time out after a minute instead of hourly and after
        hours: a signal that never comes fails the test quickly instead of hanging it.

        :param dag_id: the DAG (and file) name.
        :param retry_delay: replaces every task's retry delay, so that retries under test happen
            at once; ``None`` keeps the DAG's own.
        """
        spec = importlib.util.spec_from_file_location(f"e2e_{dag_id}", EXAMPLE_DAGS_FOLDER / f"{dag_id}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        dag: DAG = module.dag
        for task in dag.tasks:
            if retry_delay is not None:
                task.retry_delay = retry_delay
            if isinstance(task, BaseSensorOperator):
                task.poke_interval = min(task.poke_interval, SENSOR_POKE_SECONDS)
                task.timeout = SENSOR_TIMEOUT_SECONDS
        return dag

    @staticmethod
    def run(
        dag: DAG,
        *,
        conf: Mapping[str, Any] | None = None,
        expect: str = "success",
        with_logical_date: bool = True,
    ) -> DagRun:
        """``dag.test()`` once; fails the test, naming each task's state, unless the run ends ``expect``.

        :param dag: the DAG to run.
        :param conf: params to override for this run.
        :param expect: the run state the test expects.
        :param with_logical_date: ``False`` runs the DAG as ``airflow dags trigger`` or the REST API
            without a logical date do: no ``logical_date``, ``ds`` or data interval, only ``run_after``.
        """
        if with_logical_date:
            run = dag.test(run_conf=dict(conf) if conf else None)
        else:
            run = dag.test(run_conf=dict(conf) if conf else None, logical_date=None)
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
