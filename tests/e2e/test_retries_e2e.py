"""A task that fails mid-way and is retried by Airflow leaves no duplicate behind.

The sandbox commits a create and then drops the connection (``commit_then_drop``): the
client cannot know whether its write happened, the classic case where a naive retry
duplicates records. The connection's ``max_retries`` is 0 so that the hook does not hide
the failure: a retry-safe call's failure reaches Airflow, which retries the task; a bulk
create (contacts, tasks) looks up what exists and converges in the same try.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from airflow_provider_apollo.sandbox import SandboxFaults


@pytest.fixture
def fail_fast_connection(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``apollo_default`` on the sandbox with no retries inside the hook."""
    connection = json.loads(sandbox.connection_json)
    connection["extra"] = {**connection.get("extra", {}), "max_retries": 0}
    monkeypatch.setenv("AIRFLOW_CONN_APOLLO_DEFAULT", json.dumps(connection))


@pytest.fixture(autouse=True)
def fresh_sandbox(sandbox: Any) -> Iterator[None]:
    """Every test starts from the freshly generated world, with no fault configured."""
    sandbox.reset()
    yield
    sandbox.configure(faults=SandboxFaults())


@contextmanager
def commit_then_drop_once(sandbox: Any, endpoint: str) -> Iterator[None]:
    """The first create on ``endpoint`` is committed and its answer lost; later ones work.

    The sandbox's faults are per-request probabilities, so a watcher switches the fault off
    as soon as it has fired once; the retry comes at least a second later (dag.test's loop).
    """
    fired = threading.Event()
    sandbox.configure(faults=SandboxFaults(commit_then_drop=1.0, endpoints=[endpoint]))

    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not fired.is_set():
            if sandbox.stats()["faults"]["by_kind"].get("commit_then_drop", 0) >= 1:
                sandbox.configure(faults=SandboxFaults())
                fired.set()
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        fired.set()
        watcher.join(timeout=5)
        sandbox.configure(faults=SandboxFaults())


def test_create_contacts_after_a_lost_answer_creates_each_contact_once(
    sandbox: Any, example_dags: Any, fail_fast_connection: None
) -> None:
    dag = example_dags.load("example_apollo_prospecting")
    with commit_then_drop_once(sandbox, "*/contacts/bulk_create"):
        run = example_dags.run(dag)
    stats = sandbox.stats()
    summary = example_dags.result(run, "summary")

    assert stats["faults"]["by_kind"]["commit_then_drop"] == 1
    # The hook reconciles the lost answer in the same try (the converging policy contacts and
    # tasks share): it looks the contacts up and finds the ones the dropped request created.
    assert example_dags.attempts(run)["create_contacts"] == 1
    assert stats["contacts"]["total"] == summary["contacts_created"] == summary["enriched"]
    assert stats["contacts"]["duplicates_by_email"] == 0
    assert stats["sequence_enrolments"]["total"] == summary["enrolled"]
    assert stats["sequence_enrolments"]["duplicates"] == 0
    # Nothing was paid for twice.
    assert stats["credits"]["total"] == summary["enriched"]


def test_call_tasks_whose_create_answer_was_lost_are_created_once(
    sandbox: Any, example_dags: Any, fail_fast_connection: None
) -> None:
    dag = example_dags.load("example_apollo_hiring_signals")
    with commit_then_drop_once(sandbox, "*/tasks/bulk_create"):
        run = example_dags.run(dag)
    stats = sandbox.stats()
    contacts = example_dags.result(run, "create_contacts")
    tasks = example_dags.result(run, "create_call_tasks")

    assert stats["faults"]["by_kind"]["commit_then_drop"] == 1
    # The operator reconciles the lost answer itself: it looks again, finds the tasks the
    # dropped request created, and neither re-sends the create nor needs an Airflow retry.
    assert example_dags.attempts(run)["create_call_tasks"] == 1
    assert stats["requests"]["by_endpoint"]["POST /api/v1/tasks/bulk_create"] == 1
    assert stats["tasks"]["duplicates"] == 0
    assert stats["tasks"]["total"] == len(contacts) == len(tasks)
    assert sorted(task["contact_id"] for task in tasks) == sorted(contact["id"] for contact in contacts)


def test_enrolment_retried_after_a_lost_answer_enrols_each_contact_once(
    sandbox: Any, example_dags: Any, fail_fast_connection: None
) -> None:
    dag = example_dags.load("example_apollo_prospecting")
    with commit_then_drop_once(sandbox, "*/emailer_campaigns/*/add_contact_ids"):
        run = example_dags.run(dag)
    stats = sandbox.stats()
    summary = example_dags.result(run, "summary")

    assert stats["faults"]["by_kind"]["commit_then_drop"] == 1
    assert example_dags.attempts(run)["add_to_sequence"] == 2
    assert stats["sequence_enrolments"]["duplicates"] == 0
    # The retry finds the contacts already enrolled by the lost attempt.
    assert stats["sequence_enrolments"]["total"] == summary["enrolled"] + summary["skipped"].get(
        "already_in_sequence", 0
    )
