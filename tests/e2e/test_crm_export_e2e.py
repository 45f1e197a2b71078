"""example_apollo_crm_export end to end on the sandbox: two daily runs around the reps' activity.

The DAG runs with ``dag.test()`` into a SQLite ``apollo_warehouse``; between the runs the sandbox
plays a burst of rep activity. The second run reads only what changed, the tables then match
``GET /_sandbox/records``, and the contacts Asset event carries the counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_apollo._warehouse.sql import SqlDestination
from tests.transfers.truth import CLEAN, compare, problems

if TYPE_CHECKING:
    from airflow_provider_apollo.sandbox import ApolloSandbox
    from tests.e2e.conftest import ExampleDags


pytestmark = pytest.mark.slow  # two runs of an example DAG: tens of seconds
DAG_ID = "example_apollo_crm_export"
ACTIVITY = {"seed": 9, "update": 30, "create": 10, "move_stage": 10, "account_update": 4, "task_complete": 5}


@pytest.fixture
def crm_warehouse(
    sandbox: ApolloSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SqlDestination]:
    sandbox.reset(crm_contacts=800, crm_accounts=80, crm_deals=30, crm_tasks=100, crm_users=3)
    database = tmp_path / "warehouse.db"
    monkeypatch.setenv(
        "AIRFLOW_CONN_APOLLO_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(database)})
    )
    with SqlDestination("apollo_warehouse") as destination:
        yield destination
    sandbox.reset(crm_contacts=0, crm_accounts=0, crm_deals=0, crm_tasks=0, crm_users=1)


def test_two_runs_around_the_reps_activity(
    sandbox: ApolloSandbox, example_dags: ExampleDags, crm_warehouse: SqlDestination
) -> None:
    dag = example_dags.load(DAG_ID)
    first = example_dags.run(dag, conf={"reconcile": False})
    summary: dict[str, Any] = example_dags.result(first, "summary")
    assert summary["objects"]["contacts"]["created"] == 800
    assert summary["calls"] >= 8 + 10  # every contact page, plus one call or more per other object

    sandbox.activity(**ACTIVITY)
    second = example_dags.run(example_dags.load(DAG_ID), conf={"reconcile": False})
    again: dict[str, Any] = example_dags.result(second, "summary")
    contacts = again["objects"]["contacts"]
    assert contacts["mode"] == "incremental" and contacts["calls"] == 1  # 50 changed: one page
    assert contacts["created"] == ACTIVITY["create"]
    assert again["calls"] < summary["calls"]
    for name in again["objects"]:
        assert problems(compare(sandbox.base_url, crm_warehouse, name)) == CLEAN, name
    assert example_dags.result(second, "export_contacts")["cursor"] is not None
