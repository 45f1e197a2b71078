"""The example DAGs parse cleanly, quickly, and without touching the network."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from tests._support import EXAMPLE_DAGS_FOLDER

try:  # Airflow 3.2+
    from airflow.dag_processing.dagbag import DagBag
except ImportError:  # Airflow 3.1
    from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

#: Each example DAG and the file (under example_dags/, without ``.py``) that defines it.
EXAMPLE_DAG_FILES = {
    "example_apollo_prospecting": "example_apollo_prospecting",
    "example_apollo_hiring_signals": "example_apollo_hiring_signals",
    "example_apollo_task_followup": "example_apollo_task_followup",
    # A producer and the consumer scheduled on its Asset, side by side.
    "example_apollo_assets_producer": "example_apollo_assets",
    "example_apollo_assets_consumer": "example_apollo_assets",
    # The CRM export and the DAG scheduled on its contacts Asset.
    "example_apollo_crm_export": "example_apollo_crm_export",
    "example_apollo_crm_changes": "example_apollo_crm_export",
    "example_apollo_warehouse_to_apollo": "example_apollo_warehouse_to_apollo",
}
#: DAGs that only read what an Apollo task published (an Asset event), with no Apollo task.
NO_APOLLO_TASK = {"example_apollo_crm_changes"}
EXAMPLE_DAG_IDS = set(EXAMPLE_DAG_FILES)


class NetworkUsedAtParseTime(AssertionError):
    """A DAG file opened a connection while it was being parsed."""


@pytest.fixture(scope="module")
def dagbag() -> Iterator[DagBag]:
    """The example DAGs folder parsed once, with any network connection turning into an error."""

    def refuse(self: socket.socket, address: Any) -> None:
        raise NetworkUsedAtParseTime(f"a DAG file connected to {address!r} at parse time")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket.socket, "connect_ex", refuse)
        started = time.monotonic()
        bag = DagBag(dag_folder=EXAMPLE_DAGS_FOLDER, safe_mode=False)
        bag.parse_seconds = time.monotonic() - started  # type: ignore[attr-defined]
    yield bag


def test_every_example_dag_imports_without_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXAMPLE_DAG_IDS


def test_parsing_is_fast(dagbag: DagBag) -> None:
    # The scheduler re-parses these files every 30 s by default: nothing heavy at top level.
    assert dagbag.parse_seconds < 10  # type: ignore[attr-defined]


@pytest.mark.parametrize("file_name", sorted(set(EXAMPLE_DAG_FILES.values())))
def test_each_file_runs_its_dag_under_main(file_name: str) -> None:
    source = (EXAMPLE_DAGS_FOLDER / f"{file_name}.py").read_text()
    assert 'if __name__ == "__main__":\n    dag.test()' in source


@pytest.mark.parametrize("dag_id", sorted(EXAMPLE_DAG_IDS))
def test_every_task_is_retried_quickly(dagbag: DagBag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    for task in dag.tasks:
        assert task.retries == 2, task.task_id
        assert task.retry_delay <= timedelta(seconds=30), task.task_id


@pytest.mark.parametrize("dag_id", sorted(EXAMPLE_DAG_IDS - NO_APOLLO_TASK))
def test_apollo_tasks_use_the_default_connection(dagbag: DagBag, dag_id: str) -> None:
    apollo_tasks = [task for task in dagbag.dags[dag_id].tasks if hasattr(task, "apollo_conn_id")]
    assert apollo_tasks, "the DAG has no Apollo operator"
    assert {task.apollo_conn_id for task in apollo_tasks} == {"apollo_default"}


@pytest.mark.parametrize("dag_id", sorted(EXAMPLE_DAG_IDS))
def test_default_params_are_valid(dagbag: DagBag, dag_id: str) -> None:
    """A run triggered with no conf validates its params (so ``airflow dags test`` needs no edits)."""
    params = dagbag.dags[dag_id].params
    params.validate()
    assert all(value is not None for value in params.dump().values())


def _downstream_ids(dagbag: DagBag, dag_id: str, task_id: str) -> set[str]:
    return set(dagbag.dags[dag_id].get_task(task_id).downstream_task_ids)


def _operator(dagbag: DagBag, dag_id: str, task_id: str) -> Any:
    """A task of a DAG, typed loosely: each test reads its own operator's attributes."""
    return dagbag.dags[dag_id].get_task(task_id)


def test_prospecting_runs_search_enrich_contacts_sequence_summary(dagbag: DagBag) -> None:
    dag = dagbag.dags["example_apollo_prospecting"]
    assert _downstream_ids(dagbag, dag.dag_id, "search_people") >= {"enrich_people"}
    assert _downstream_ids(dagbag, dag.dag_id, "enrich_people") >= {"create_contacts"}
    assert _downstream_ids(dagbag, dag.dag_id, "create_contacts") >= {"add_to_sequence"}
    assert _downstream_ids(dagbag, dag.dag_id, "add_to_sequence") == {"summary"}
    enrich = _operator(dagbag, dag.dag_id, "enrich_people")
    assert enrich.skip_existing_contacts is True
    assert enrich.max_credits == "{{ params.max_credits }}"
    assert _operator(dagbag, dag.dag_id, "create_contacts").run_dedupe is True
    assert dag.params["sequence_name"] == "Sandbox Outreach"
    assert dag.params["email_account"] == "sdr@sandbox.example.com"


def test_hiring_signals_starts_with_the_job_postings_sensor(dagbag: DagBag) -> None:
    dag = dagbag.dags["example_apollo_hiring_signals"]
    sensor = _operator(dagbag, dag.dag_id, "wait_for_job_postings")
    assert {task.task_id for task in dag.roots} == {"wait_for_job_postings", "task_owner"}
    # Each poke costs credits: hourly, and without holding a worker slot in between.
    assert sensor.poke_interval >= 3600
    assert sensor.mode == "reschedule"
    call_tasks = _operator(dagbag, dag.dag_id, "create_call_tasks")
    assert call_tasks.apollo_task_type == "call"
    assert {"wait_for_job_postings", "search_decision_makers", "create_contacts", "task_owner"} <= (
        call_tasks.get_flat_relative_ids(upstream=True)
    )


def test_task_followup_waits_for_calls_then_moves_the_stage(dagbag: DagBag) -> None:
    dag = dagbag.dags["example_apollo_task_followup"]
    sensor = _operator(dagbag, dag.dag_id, "wait_for_completed_calls")
    assert tuple(sensor.target_statuses) == ("completed",)
    assert "move_to_next_stage" in sensor.get_flat_relative_ids(upstream=False)
    assert dag.params["next_stage"] == "Approaching"


def test_hiring_signals_defaults_find_hiring_accounts_in_the_sandbox_world(dagbag: DagBag) -> None:
    """The defaults name sandbox accounts that posted matching jobs the day before a run.

    Guards the "runs as is on the sandbox" promise: if the sandbox world changes, this names
    the defaults to update instead of leaving the DAG's sensor waiting for a signal.
    """
    from airflow_provider_apollo._api.criteria import PostingCriteria
    from airflow_provider_apollo.sandbox.world import generate_world

    params = dagbag.dags["example_apollo_hiring_signals"].params
    world = generate_world(seed=42)
    # The DAG's window for a run today: postings since midnight UTC yesterday.
    since = world.reference_time - timedelta(days=params["lookback_days"])
    criteria = PostingCriteria(posted_after=since, title_keywords=tuple(params["title_keywords"]))
    hiring = {
        domain
        for domain in params["target_domains"]
        if criteria.select(world.job_postings[world.organizations_by_domain[domain]["id"]])
    }
    assert len(hiring) >= 1, (
        f"no default target account is hiring in the seed-42 world: {params['target_domains']}"
    )
    assert len(hiring) < len(params["target_domains"]), (
        "the defaults should show an account that is not hiring"
    )
    decision_makers = [
        person
        for person in world.people
        if world.organizations_by_id[person["organization_id"]]["primary_domain"] in hiring
        and person["seniority"] in ("c_suite", "vp", "head", "director")
    ]
    assert decision_makers, "the hiring accounts have no decision maker to call"


def test_prospecting_defaults_find_more_people_than_one_run_takes(dagbag: DagBag, sandbox: Any) -> None:
    """The default search matches people in the seed-42 world (checked through the sandbox's search)."""
    params = dagbag.dags["example_apollo_prospecting"].params
    filters = {
        key: params[key]
        for key in (
            "person_titles",
            "person_seniorities",
            "person_locations",
            "organization_num_employees_ranges",
        )
    }
    answer = requests.post(
        f"{sandbox.base_url}/api/v1/mixed_people/api_search",
        json={**filters, "per_page": 1},
        headers={"X-Api-Key": sandbox.api_key},
        timeout=10,
    ).json()
    assert answer["total_entries"] >= params["max_people"]


def test_crm_export_exports_every_object_to_apollo_warehouse(dagbag: DagBag) -> None:
    from airflow_provider_apollo._api.crm_objects import CRM_OBJECTS

    dag = dagbag.dags["example_apollo_crm_export"]
    exports = [t for t in dag.tasks if t.task_id.startswith("export_")]
    assert sorted(t.object for t in exports) == sorted(CRM_OBJECTS)
    assert {t.sql_conn_id for t in exports} == {"apollo_warehouse"}
    assert dag.params["reconcile"] is False
    assert [a.uri for a in _operator(dagbag, dag.dag_id, "export_contacts").outlets] == [
        "apollo://crm/contacts"
    ]
    changes = dagbag.dags["example_apollo_crm_changes"]
    assert "apollo://crm/contacts" in str(changes.timetable.asset_condition)
