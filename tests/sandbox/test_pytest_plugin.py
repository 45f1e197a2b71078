"""The `apollo_sandbox` fixture shipped as a pytest plugin."""

from __future__ import annotations

import json
import os

import pytest
import requests


def test_fixture_serves_and_points_apollo_default_at_itself(apollo_sandbox):
    connection = json.loads(os.environ["AIRFLOW_CONN_APOLLO_DEFAULT"])

    response = requests.get(
        f"{connection['host']}/api/v1/auth/health", headers={"X-Api-Key": connection["password"]}, timeout=5
    )

    assert connection["host"] == apollo_sandbox.base_url
    assert response.json() == {"is_logged_in": True}
    assert apollo_sandbox.stats()["requests"]["total"] == 1


@pytest.mark.apollo_sandbox(seed=3, people=40, api_key="marked-key")
def test_marker_configures_the_fixture(apollo_sandbox):
    assert apollo_sandbox.api_key == "marked-key"
    assert len(apollo_sandbox.state.world.people) == 40
    assert apollo_sandbox.state.world.seed == 3


def test_fixture_keeps_a_master_key_for_the_provider_and_issues_a_non_master_one(apollo_sandbox):
    base = f"{apollo_sandbox.base_url}/api/v1"
    as_master = requests.get(f"{base}/users/search", headers={"X-Api-Key": apollo_sandbox.api_key}, timeout=5)
    limited = json.loads(apollo_sandbox.non_master_env["AIRFLOW_CONN_APOLLO_DEFAULT"])["password"]
    as_limited = requests.get(f"{base}/users/search", headers={"X-Api-Key": limited}, timeout=5)

    assert json.loads(os.environ["AIRFLOW_CONN_APOLLO_DEFAULT"])["password"] == apollo_sandbox.api_key
    assert limited == apollo_sandbox.non_master_key != apollo_sandbox.api_key
    assert as_master.status_code == 200
    assert as_limited.status_code == 403
