"""Templated arguments that can never render fail the task once, without burning its retries."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pendulum
import pytest
from airflow.providers.common.compat.sdk import DAG, AirflowFailException

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.operators.tasks import ApolloCreateTasksOperator
from airflow_provider_apollo.sensors.tasks import ApolloTasksSensor

RUN_AFTER = pendulum.datetime(2026, 3, 1, 12, 30, tz="UTC")


def no_logical_date_context(dag: Any) -> dict[str, Any]:
    """The template context of a run triggered without a logical date: no logical_date, ds, ts."""
    from airflow.sdk.execution_time import macros

    return {"dag": dag, "dag_run": SimpleNamespace(run_after=RUN_AFTER), "macros": macros, "params": {}}


def tasks_operator(due_at: str) -> tuple[ApolloCreateTasksOperator, Any]:
    with DAG("templating", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
        operator = ApolloCreateTasksOperator(task_id="call_tasks", contact_ids=["c1"], due_at=due_at)
    return operator, dag


def test_an_undefined_variable_fails_without_retries_and_says_what_to_use() -> None:
    operator, dag = tasks_operator("{{ (logical_date + macros.timedelta(days=1)).isoformat() }}")

    with pytest.raises(ApolloConfigurationError) as raised:
        operator.render_template_fields(no_logical_date_context(dag), dag.get_template_env())

    assert isinstance(raised.value, AirflowFailException)  # Airflow fails the task without retrying
    message = str(raised.value)
    assert "'call_tasks'" in message and "logical_date" in message
    assert "dag_run.run_after" in message


def test_arithmetic_on_a_missing_interval_fails_without_retries() -> None:
    operator, dag = tasks_operator("{{ (data_interval_end + macros.timedelta(days=1)).isoformat() }}")
    context = {**no_logical_date_context(dag), "data_interval_end": None}

    with pytest.raises(AirflowFailException, match="TypeError"):
        operator.render_template_fields(context, dag.get_template_env())


def test_run_after_renders_in_a_run_without_a_logical_date() -> None:
    operator, dag = tasks_operator("{{ (dag_run.run_after + macros.timedelta(days=1)) | ds }}T09:00:00Z")

    operator.render_template_fields(no_logical_date_context(dag), dag.get_template_env())

    assert operator.due_at == "2026-03-02T09:00:00Z"


def test_sensors_fail_fast_on_templates_too() -> None:
    with DAG("templating", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
        sensor = ApolloTasksSensor(task_id="wait_for_calls", contact_ids=["{{ ds }}"])

    with pytest.raises(ApolloConfigurationError, match=r"'wait_for_calls'.*'ds' is undefined"):
        sensor.render_template_fields(no_logical_date_context(dag), dag.get_template_env())


def test_an_error_a_retry_may_heal_is_left_to_airflow() -> None:
    def flaky_lookup() -> str:
        raise ConnectionError("the secrets backend did not answer")

    operator, dag = tasks_operator("{{ lookup() }}")
    context = {**no_logical_date_context(dag), "lookup": flaky_lookup}

    with pytest.raises(ConnectionError):
        operator.render_template_fields(context, dag.get_template_env())
