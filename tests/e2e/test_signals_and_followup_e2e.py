"""example_apollo_hiring_signals then example_apollo_task_followup, end to end on the sandbox."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import pendulum
import pytest

HIRING_DAG_ID = "example_apollo_hiring_signals"
FOLLOWUP_DAG_ID = "example_apollo_task_followup"
# Of the DAG's three default target accounts, these two posted sales roles yesterday (seed 42).
HIRING_DOMAINS = {"atlas-networks.example.com", "summit-systems.example.com"}


@dataclass
class HiringRun:
    """One run of the hiring-signals DAG: its summary, outputs and the stats around it."""

    run: Any
    summary: dict[str, Any]
    hiring: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    before: dict[str, Any]
    after: dict[str, Any]


@pytest.fixture(scope="module")
def hiring_runs(sandbox: Any, example_dags: Any) -> list[HiringRun]:
    """The hiring-signals DAG run twice the same day, triggered without a logical date as users do."""
    dag = example_dags.load(HIRING_DAG_ID)
    runs = []
    for _ in range(2):
        before = sandbox.stats()
        run = example_dags.run(dag, with_logical_date=False)
        assert run.logical_date is None, "the run was meant to have no logical date"
        runs.append(
            HiringRun(
                run=run,
                summary=example_dags.result(run, "summary"),
                hiring=example_dags.result(run, "wait_for_job_postings"),
                contacts=example_dags.result(run, "create_contacts"),
                tasks=example_dags.result(run, "create_call_tasks"),
                before=before,
                after=sandbox.stats(),
            )
        )
    return runs


def test_only_the_accounts_hiring_for_matching_roles_are_signalled(hiring_runs: list[HiringRun]) -> None:
    first = hiring_runs[0]
    assert {entry["organization_domain"] for entry in first.hiring} == HIRING_DOMAINS
    assert first.summary["hiring_organizations"] == len(HIRING_DOMAINS)


def test_decision_makers_of_hiring_accounts_become_contacts(
    sandbox: Any, hiring_runs: list[HiringRun], stats_growth: Any
) -> None:
    first = hiring_runs[0]
    hiring_ids = {entry["organization_id"] for entry in first.hiring}
    assert first.contacts, "no decision maker was found"
    for contact in first.contacts:
        assert contact["organization_id"] in hiring_ids
    assert stats_growth(first.after, first.before, "contacts", "total") == len(first.contacts)
    assert first.after["contacts"]["duplicates_by_email"] == 0


def test_one_call_task_per_contact_for_the_owner_due_the_next_morning(
    sandbox: Any, hiring_runs: list[HiringRun], stats_growth: Any
) -> None:
    first = hiring_runs[0]
    owner_id = sandbox.state.world.user["id"]
    due = (
        pendulum.instance(first.run.run_after).add(days=1).replace(hour=9, minute=0, second=0, microsecond=0)
    )
    assert sorted(task["contact_id"] for task in first.tasks) == sorted(c["id"] for c in first.contacts)
    for task in first.tasks:
        assert task["type"] == "call"
        assert task["user_id"] == owner_id
        assert pendulum.parse(task["due_at"]) == due
    assert stats_growth(first.after, first.before, "tasks", "total") == len(first.contacts)
    assert first.after["tasks"]["duplicates"] == 0


def test_hiring_signals_spend_credits_on_postings_domains_and_matches_only(
    hiring_runs: list[HiringRun], stats_growth: Any
) -> None:
    first = hiring_runs[0]
    credits = first.after["credits"]["by_endpoint"]
    previous = first.before["credits"]["by_endpoint"]
    spent = {endpoint: credits[endpoint] - previous.get(endpoint, 0) for endpoint in credits}
    spent = {endpoint: value for endpoint, value in spent.items() if value}
    assert spent.get("POST /api/v1/people/bulk_match", 0) == first.summary["enriched"]
    # One page of postings per target account, one credit per domain resolved to an organization.
    assert spent.get("GET /api/v1/organizations/{id}/job_postings", 0) == 3
    assert spent.get("POST /api/v1/organizations/bulk_enrich", 0) == 3
    assert stats_growth(first.after, first.before, "credits", "total") == sum(spent.values())


def test_a_rerun_the_same_day_creates_no_contact_and_no_task(
    hiring_runs: list[HiringRun], stats_growth: Any
) -> None:
    first, second = hiring_runs
    assert stats_growth(second.after, second.before, "contacts", "total") == 0
    assert stats_growth(second.after, second.before, "tasks", "total") == 0
    assert (
        stats_growth(second.after, second.before, "credits", "by_endpoint", "POST /api/v1/people/bulk_match")
        == 0
    )
    assert sorted(task["id"] for task in second.tasks) == sorted(task["id"] for task in first.tasks)
    assert second.after["tasks"]["duplicates"] == 0


def test_followup_waits_for_the_calls_then_moves_the_contacts(
    sandbox: Any, example_dags: Any, hiring_runs: list[HiringRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    call_tasks = hiring_runs[0].tasks
    dag = example_dags.load(FOLLOWUP_DAG_ID)

    # The sandbox counts a request when it arrives; the reps must wait until the sensor's first
    # look has been answered (calls still open), or that look could already see them completed.
    first_look_answered = threading.Event()
    search_tasks = sandbox.state.search_tasks

    def search_then_signal(params: Any) -> Any:
        found = search_tasks(params)
        first_look_answered.set()
        return found

    monkeypatch.setattr(sandbox.state, "search_tasks", search_then_signal)

    def complete_calls_after_the_first_poke() -> None:
        """Play the reps: complete the calls once the sensor has looked (and found them open)."""
        if first_look_answered.wait(timeout=60):
            time.sleep(0.2)  # the answer leaves the sandbox after the search returns
            sandbox.complete_tasks([task["id"] for task in call_tasks])

    searched_before = sandbox.stats()["requests"]["by_endpoint"].get("POST /api/v1/tasks/search", 0)
    reps = threading.Thread(target=complete_calls_after_the_first_poke, daemon=True)
    reps.start()
    run = example_dags.run(dag)
    reps.join(timeout=5)

    searched = sandbox.stats()["requests"]["by_endpoint"]["POST /api/v1/tasks/search"] - searched_before
    summary = example_dags.result(run, "summary")
    assert summary == {
        "completed_call_tasks": len(call_tasks),
        "contacts_moved": len(call_tasks),
        "stage": "Approaching",
    }
    stages = {stage["name"]: stage["id"] for stage in sandbox.state.world.contact_stages}
    for task in call_tasks:
        assert sandbox.state.contacts[task["contact_id"]]["contact_stage_id"] == stages["Approaching"]
    # The sensor looked at least twice: once while the calls were open, once after.
    assert searched >= 2
