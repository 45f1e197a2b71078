"""Every template of the example DAGs renders in a run triggered without a logical date.

Such a run (``airflow dags trigger`` or the REST API without one) has no ``logical_date``,
``ds``, ``ts`` or data interval in its template context; only ``dag_run.run_after`` is sure.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from typing import Any

import jinja2.meta
import pytest

from tests._support import EXAMPLE_DAGS_FOLDER

#: Context variables a run without a logical date does not have.
LOGICAL_DATE_VARIABLES = {
    "logical_date",
    "ds",
    "ds_nodash",
    "ts",
    "ts_nodash",
    "ts_nodash_with_tz",
    "execution_date",
    "data_interval_start",
    "data_interval_end",
    "prev_data_interval_start_success",
    "prev_data_interval_end_success",
    "prev_start_date_success",
    "prev_end_date_success",
}


def _templates(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _templates(item)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            yield from _templates(item)


def _dag(dag_id: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"templates_{dag_id}", EXAMPLE_DAGS_FOLDER / f"{dag_id}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


@pytest.mark.parametrize("dag_id", sorted(p.stem for p in EXAMPLE_DAGS_FOLDER.glob("example_*.py")))
def test_no_template_needs_a_logical_date(dag_id: str) -> None:
    dag = _dag(dag_id)
    environment = dag.get_template_env()
    needing = {}
    for task in dag.tasks:
        for field in task.template_fields:
            for template in _templates(getattr(task, field, None)):
                used = jinja2.meta.find_undeclared_variables(environment.parse(template))
                if used & LOGICAL_DATE_VARIABLES:
                    needing[f"{task.task_id}.{field}"] = sorted(used & LOGICAL_DATE_VARIABLES)
    assert needing == {}, f"templates a run without a logical date cannot render: {needing}"


def test_the_hiring_signals_dates_come_from_run_after() -> None:
    from types import SimpleNamespace

    import pendulum
    from airflow.sdk.execution_time import macros

    dag = _dag("example_apollo_hiring_signals")
    context = {
        "dag_run": SimpleNamespace(run_after=pendulum.datetime(2026, 3, 10, 14, 5, tz="UTC")),
        "macros": macros,
        "params": {"lookback_days": 1},
    }
    environment = dag.get_template_env()
    sensor = dag.get_task("wait_for_job_postings")
    tasks = dag.get_task("create_call_tasks")
    assert environment.from_string(sensor.posted_after).render(context) == "2026-03-09T00:00:00+00:00"
    assert environment.from_string(tasks.due_at).render(context) == "2026-03-11T09:00:00+00:00"
