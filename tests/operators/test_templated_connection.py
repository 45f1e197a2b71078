"""``apollo_conn_id`` is templated in every operator and sensor, and the rendered id is the one used."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests_mock as requests_mock_module

import airflow_provider_apollo.operators as operators
from airflow_provider_apollo.operators.generic import ApolloOperator
from airflow_provider_apollo.sensors.job_postings import ApolloJobPostingsSensor
from airflow_provider_apollo.sensors.tasks import ApolloTasksSensor

EU_HOST = "https://eu.apollo.example"
EU_KEY = "eu-team-key-5b7e"


@pytest.mark.parametrize("name", operators.__all__)
def test_every_operator_templates_its_connection_id(name: str):
    assert "apollo_conn_id" in getattr(operators, name).template_fields


@pytest.mark.parametrize("sensor_class", [ApolloJobPostingsSensor, ApolloTasksSensor])
def test_every_sensor_templates_its_connection_id(sensor_class: Any):
    assert "apollo_conn_id" in sensor_class.template_fields


def test_the_rendered_connection_is_the_one_the_request_goes_through(
    monkeypatch: pytest.MonkeyPatch, context
):
    # Only the rendered id names a real connection: the raw template would fail to resolve.
    monkeypatch.setenv(
        "AIRFLOW_CONN_APOLLO_EU",
        json.dumps({"conn_type": "apollo", "host": EU_HOST, "password": EU_KEY}),
    )
    op = ApolloOperator(
        task_id="labels", method="GET", endpoint="labels", apollo_conn_id="apollo_{{ params.region }}"
    )
    assert "hook" not in op.__dict__  # nothing built the hook before rendering

    op.render_template_fields({"params": {"region": "eu"}})
    with requests_mock_module.Mocker() as api:
        api.get(f"{EU_HOST}/api/v1/labels", json={"labels": [{"id": "l1"}]})
        answer = op.execute(context)

    assert op.apollo_conn_id == "apollo_eu"
    assert answer == {"labels": [{"id": "l1"}]}
    assert api.call_count == 1
    assert api.last_request.headers["X-Api-Key"] == EU_KEY


def test_a_sensor_builds_its_hook_from_the_rendered_connection_id():
    sensor = ApolloTasksSensor(task_id="wait", task_ids=["t1"], apollo_conn_id="{{ params.conn }}")
    assert "hook" not in sensor.__dict__

    sensor.render_template_fields({"params": {"conn": "apollo_eu"}})

    assert sensor.hook.apollo_conn_id == "apollo_eu"
