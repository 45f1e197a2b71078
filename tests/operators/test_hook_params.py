"""hook_params: one task's timeout and retries, through operator, sensor and trigger alike."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests_mock as requests_mock_module
from airflow.providers.common.compat.module_loading import import_string

from airflow_provider_apollo.exceptions import ApolloConfigurationError, ApolloTransientError
from airflow_provider_apollo.hooks._arguments import HOOK_PARAMS
from airflow_provider_apollo.hooks._transport.client_base import ApolloClientBase
from airflow_provider_apollo.operators.search import ApolloSearchPeopleOperator
from airflow_provider_apollo.sensors.tasks import ApolloTasksSensor

BASE = "https://api.apollo.io/api/v1"


@pytest.fixture(autouse=True)
def connection(monkeypatch: pytest.MonkeyPatch) -> None:
    value = {"conn_type": "apollo", "password": "canary-KEY-hp", "extra": {"timeout": 30, "max_retries": 5}}
    monkeypatch.setenv("AIRFLOW_CONN_APOLLO_DEFAULT", json.dumps(value))


def test_the_operators_hook_uses_the_tasks_timeout_and_retries() -> None:
    op = ApolloSearchPeopleOperator(
        task_id="s", filters={}, max_records=1, hook_params={"timeout": 7, "max_retries": 1}
    )
    op.hook._sleep = lambda seconds: None
    with requests_mock_module.Mocker() as api:
        api.post(f"{BASE}/mixed_people/api_search", status_code=503, text="down")
        with pytest.raises(ApolloTransientError):
            op.execute({"ti": None})  # type: ignore[arg-type]

    assert api.call_count == 2  # max_retries=1, not the connection's 5
    assert api.last_request.timeout == 7


@pytest.mark.parametrize(
    ("hook_params", "message"),
    [
        ({"retries": 2}, r"unknown key\(s\) 'retries'.*'timeout', 'max_retries'"),
        ({"timeout": 0}, r"hook_params\['timeout'\] must be seconds above 0"),
        ({"max_retries": -1}, r"hook_params\['max_retries'\] must be a whole number"),
        ({"max_retries": True}, r"hook_params\['max_retries'\]"),
        ("timeout=5", "hook_params must be a dict"),
        ({"priority": "urgent"}, r"hook_params\['priority'\] must be 'low'"),
        ({"max_quota_wait": -1}, r"hook_params\['max_quota_wait'\] must be seconds from 0"),
    ],
)
def test_bad_hook_params_fail_when_the_dag_is_parsed(hook_params: Any, message: str) -> None:
    with pytest.raises(ApolloConfigurationError, match=message):
        ApolloSearchPeopleOperator(task_id="s", filters={}, hook_params=hook_params)
    with pytest.raises(ApolloConfigurationError, match=message):
        ApolloTasksSensor(task_id="w", contact_ids=["c1"], hook_params=hook_params)


def test_hook_params_are_what_the_hooks_accept() -> None:
    import inspect

    accepted = [
        name
        for name, parameter in inspect.signature(ApolloClientBase.__init__).parameters.items()
        if parameter.kind is parameter.KEYWORD_ONLY
    ]
    assert tuple(accepted) == HOOK_PARAMS


async def test_the_sensor_forwards_hook_params_to_its_trigger_and_async_hook() -> None:
    sensor = ApolloTasksSensor(task_id="w", contact_ids=["c1"], hook_params={"timeout": 9, "max_retries": 0})
    assert sensor.hook._timeout_override == 9

    classpath, kwargs = sensor.build_trigger({}).serialize()  # type: ignore[arg-type]
    assert kwargs["hook_params"] == {"timeout": 9, "max_retries": 0}
    rebuilt = import_string(classpath)(**json.loads(json.dumps(kwargs)))  # as the triggerer does

    config = await rebuilt._hook().get_config()
    assert (config.timeout, config.max_retries) == (9, 0)  # not the connection's 30 and 5


def test_a_low_priority_hook_param_reaches_the_hook() -> None:
    operator = ApolloSearchPeopleOperator(
        task_id="s", filters={}, hook_params={"priority": "low", "max_quota_wait": 30}
    )
    assert operator.hook.priority == "low"
