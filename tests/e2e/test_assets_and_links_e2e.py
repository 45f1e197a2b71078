"""example_apollo_assets end to end on the sandbox: the Asset schedules the consumer, the links open Apollo.

The producer runs once with ``dag.test()``: its search task writes the prospects file and
records an event of the file's Asset, which queues the consumer DAG as the scheduler would
see it. The consumer then runs (``dag.test()``) from that event's file, and its contacts,
sequence and call-task tasks end with the links the Airflow UI shows, read back the way the
API server reads them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from tests._support import EXAMPLE_DAGS_FOLDER

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun

EXAMPLE_FILE = EXAMPLE_DAGS_FOLDER / "example_apollo_assets.py"
PRODUCER_ID = "example_apollo_assets_producer"
CONSUMER_ID = "example_apollo_assets_consumer"


@dataclass
class AssetRuns:
    """The example module, both runs, and the sandbox's stats around the consumer's run."""

    module: ModuleType
    producer: DagRun
    consumer: DagRun
    before_consumer: dict[str, Any]
    after_consumer: dict[str, Any]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("e2e_example_apollo_assets", EXAMPLE_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def runs(sandbox: Any, example_dags: Any) -> AssetRuns:
    module = _load()
    start = sandbox.stats()
    producer = example_dags.run(module.dag)
    before = sandbox.stats()
    consumer = example_dags.run(module.consumer_dag)
    after = sandbox.stats()
    for name, first, last in (("producer", start, before), ("consumer", before, after)):
        print(
            f"\nassets {name}: {last['requests']['total'] - first['requests']['total']} API calls, "
            f"{last['credits']['total'] - first['credits']['total']:g} credits"
        )
    return AssetRuns(module, producer, consumer, before, after)


def _xcom(run: DagRun, task_id: str, key: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, task_ids=task_id, key=key)
        ).first()
        return None if row is None else XComModel.deserialize_value(row)


def _ui_link(run: DagRun, task_id: str, link_name: str) -> str | None:
    """The URL behind a task's extra-link button, as the API server's extra-links route finds it."""
    from airflow.api_fastapi.common.dagbag import get_dag_for_run_or_latest_version
    from airflow.models.dagbag import DBDagBag
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        ti = session.scalar(
            select(TaskInstance).where(
                TaskInstance.dag_id == run.dag_id,
                TaskInstance.run_id == run.run_id,
                TaskInstance.task_id == task_id,
            )
        )
        assert ti is not None
        dag = get_dag_for_run_or_latest_version(DBDagBag(), run, run.dag_id, session)
        task = dag.get_task(task_id)
        assert link_name in task.extra_links, f"{task_id} has no {link_name!r} button: {task.extra_links}"
        return task.get_extra_links(ti, link_name) or None


# ------------------------------------------------------------------------------------ Asset
def test_the_search_task_declares_the_prospects_file_as_its_outlet(runs: AssetRuns) -> None:
    module = runs.module
    search = module.dag.get_task("search_new_prospects")
    assert search.outlets == [module.PROSPECTS]
    assert module.PROSPECTS.uri == Path(module.PROSPECTS_PATH).as_uri()


def test_a_producer_run_records_an_event_that_queues_the_consumer(runs: AssetRuns) -> None:
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    written = runs.module.dag.get_task("search_new_prospects")
    reference = _xcom(runs.producer, written.task_id, "return_value")
    assert reference == {"path": runs.module.PROSPECTS_PATH, "count": 10}
    assert Path(reference["path"]).read_text().count("\n") == 10

    with create_session() as session:
        asset = session.scalar(select(AssetModel).where(AssetModel.uri == runs.module.PROSPECTS.uri))
        assert asset is not None, "the scheduler does not know the prospects Asset"
        events = session.scalars(select(AssetEvent).where(AssetEvent.asset_id == asset.id)).all()
        assert [(event.source_dag_id, event.extra) for event in events] == [(PRODUCER_ID, reference)]
        queued = session.scalars(select(AssetDagRunQueue.target_dag_id)).all()
    assert CONSUMER_ID in queued  # what makes the scheduler start the consumer


def test_the_consumer_enriches_the_people_of_the_newest_event(runs: AssetRuns, stats_growth: Any) -> None:
    reference = _xcom(runs.consumer, "newest_prospects", "return_value")
    assert reference == _xcom(runs.producer, "search_new_prospects", "return_value")
    enrichment = _xcom(runs.consumer, "enrich_prospects", "return_value")
    assert len(enrichment) == reference["count"]
    matched = sum(1 for result in enrichment if result["status"] == "matched")
    assert stats_growth(runs.after_consumer, runs.before_consumer, "credits", "total") == matched


# ------------------------------------------------------------------------------------ links
def test_the_sequence_button_opens_the_sequence_the_task_enrolled_in(runs: AssetRuns, sandbox: Any) -> None:
    import requests

    answer = requests.post(
        f"{sandbox.base_url}/api/v1/emailer_campaigns/search",
        json={"q_name": "Sandbox Outreach"},
        headers={"X-Api-Key": sandbox.api_key},
        timeout=10,
    ).json()
    (sequence_id,) = [s["id"] for s in answer["emailer_campaigns"] if s["name"] == "Sandbox Outreach"]

    assert _xcom(runs.consumer, "add_to_sequence", "apollo_sequence_ids") == [sequence_id]
    assert _ui_link(runs.consumer, "add_to_sequence", "Apollo sequence") == (
        f"https://app.apollo.io/#/sequences/{sequence_id}"
    )


def test_the_contacts_button_opens_the_contacts_list_for_the_contacts_created(runs: AssetRuns) -> None:
    created = _xcom(runs.consumer, "create_contacts", "return_value")
    stored = _xcom(runs.consumer, "create_contacts", "apollo_contact_ids")
    assert len(created) > 1
    assert stored == [contact["id"] for contact in created]
    # Several contacts: Apollo's app has no address for a chosen set, so the list page.
    assert _ui_link(runs.consumer, "create_contacts", "Apollo contacts") == "https://app.apollo.io/#/contacts"


def test_the_tasks_button_opens_the_task_list_once_tasks_exist(runs: AssetRuns) -> None:
    tasks = _xcom(runs.consumer, "create_call_tasks", "return_value")
    assert tasks
    assert _xcom(runs.consumer, "create_call_tasks", "apollo_task_ids") == [task["id"] for task in tasks]
    assert _ui_link(runs.consumer, "create_call_tasks", "Apollo tasks") == "https://app.apollo.io/#/tasks"


def test_get_link_with_a_real_task_instance_key_reads_its_stored_ids(
    runs: AssetRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``get_link`` itself, given the run's real ti_key; XCom is read from the metadata DB.

    On a worker the Task SDK's ``XCom.get_value`` asks the API server, which reads the same rows.
    """
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.sdk.execution_time.xcom import XCom

    from airflow_provider_apollo.operators.links import ApolloContactsLink, ApolloSequenceLink

    def from_metadata_db(*, ti_key: TaskInstanceKey, key: str) -> Any:
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session

        with create_session() as session:
            run = session.query(DagRun).filter_by(dag_id=ti_key.dag_id, run_id=ti_key.run_id).one()
            session.expunge(run)
        return _xcom(run, ti_key.task_id, key)

    monkeypatch.setattr(XCom, "get_value", from_metadata_db)
    consumer = runs.module.consumer_dag
    sequence_id = _xcom(runs.consumer, "add_to_sequence", "apollo_sequence_ids")[0]

    def key(task_id: str) -> TaskInstanceKey:
        return TaskInstanceKey(CONSUMER_ID, task_id, runs.consumer.run_id, try_number=1, map_index=-1)

    assert ApolloSequenceLink().get_link(
        consumer.get_task("add_to_sequence"), ti_key=key("add_to_sequence")
    ) == (f"https://app.apollo.io/#/sequences/{sequence_id}")
    assert (
        ApolloContactsLink().get_link(consumer.get_task("create_contacts"), ti_key=key("create_contacts"))
        == "https://app.apollo.io/#/contacts"
    )
    # A task that stored no contact ids has no contacts link.
    assert (
        ApolloContactsLink().get_link(consumer.get_task("add_to_sequence"), ti_key=key("add_to_sequence"))
        == ""
    )
