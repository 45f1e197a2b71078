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
