"""The operators against the local Apollo sandbox: what they spend and what state they leave.

These back the retry-safety claims with the sandbox's own counters: credits charged,
contacts created (and duplicated), enrolments, tasks (and duplicated tasks), including when
the connection drops right after Apollo committed a create.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators.contacts import ApolloCreateContactsOperator
from airflow_provider_apollo.operators.enrichment import ApolloEnrichPeopleOperator
from airflow_provider_apollo.operators.search import ApolloSearchPeopleOperator
from airflow_provider_apollo.operators.sequences import ApolloAddToSequenceOperator
from airflow_provider_apollo.operators.tasks import ApolloCreateTasksOperator
from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxFaults


@pytest.fixture
def sb(clean_sandbox: ApolloSandbox) -> ApolloSandbox:
    """The module's sandbox (tests/conftest.py) in its fresh seed-42 world, as ``apollo_default``."""
    return clean_sandbox


def _run(operator: Any, context: dict[str, Any]) -> Any:
    """Execute with the real hook (retry waits skipped, so the test stays fast)."""
    operator.hook = ApolloHook()
    operator.hook._sleep = lambda seconds: None
    return operator.execute(context)


def _prospecting_run(context: dict[str, Any]) -> dict[str, Any]:
    people = _run(
        ApolloSearchPeopleOperator(task_id="search", filters={"person_titles": ["sales"]}, max_records=12),
        context,
    )
    enriched = _run(
        ApolloEnrichPeopleOperator(
            task_id="enrich", people=people, max_credits=30, on_budget_exhausted="skip"
        ),
        context,
    )
    contacts = _run(
        ApolloCreateContactsOperator(task_id="contacts", contacts=enriched, label_names=["Airflow test"]),
        context,
    )
    enrolment = _run(
        ApolloAddToSequenceOperator(
            task_id="enrol",
            sequence_name="Sandbox Outreach",
            email_account="sdr@sandbox.example.com",
            contact_ids=contacts,
            sequence_unverified_email=True,
        ),
        context,
    )
    return {"people": people, "enriched": enriched, "contacts": contacts, "enrolment": enrolment}


def test_second_prospecting_run_spends_nothing_and_creates_nothing(sb, context):
    first = _prospecting_run(context)
    after_first = sb.stats()
    second = _prospecting_run(context)
    after_second = sb.stats()

    matched = sum(r["status"] == "matched" for r in first["enriched"])
    assert len(first["people"]) == 12
    assert matched > 0
    assert after_first["credits"]["total"] == matched  # 1 credit per match, none for misses
    assert after_first["contacts"]["total"] == len(first["contacts"]) == matched
    assert first["enrolment"]["added"]

    assert [r["status"] for r in second["enriched"]].count("existing_contact") == matched
    assert after_second["credits"]["total"] == after_first["credits"]["total"]  # 0 credits the second time
    assert after_second["contacts"] == after_first["contacts"]  # no contact created
    assert second["enrolment"]["added"] == []
    assert set(second["enrolment"]["skipped"].values()) <= {"already_in_sequence", "no_email"}
    assert after_second["sequence_enrolments"] == after_first["sequence_enrolments"]
    assert after_second["sequence_enrolments"]["duplicates"] == 0


def test_budget_is_never_exceeded_on_the_server(sb, context, capsys):
    people = _run(
        ApolloSearchPeopleOperator(task_id="search", filters={"person_titles": ["sales"]}, max_records=40),
        context,
    )
    result = _run(
        ApolloEnrichPeopleOperator(
            task_id="enrich", people=people, max_credits=7, on_budget_exhausted="skip"
        ),
        context,
    )
    assert sb.stats()["credits"]["total"] <= 7
    left_out = sum(r["status"] == "skipped_budget" for r in result)
    assert left_out
    # One readable line: what was spent, then who was left out (no dangling "; 7 credits.").
    assert (
        f"Budget of 7 credits reached after spending 7 credits: {left_out} people left out "
        "(marked skipped_budget)." in capsys.readouterr().out
    )


def _contacts(sb: Any, context: dict[str, Any], count: int) -> list[dict[str, Any]]:
    plain = [
        {"first_name": f"Test{i}", "last_name": "Person", "email": f"test{i}@retry.example.com"}
        for i in range(count)
    ]
    return _run(ApolloCreateContactsOperator(task_id="contacts", contacts=plain), context)


def test_task_creation_dropped_after_commit_creates_no_duplicate(sb, context):
    contacts = _contacts(sb, context, 5)
    sb.configure(faults=SandboxFaults(commit_then_drop=1.0, endpoints=["*/tasks/bulk_create"]))

    tasks = _run(
        ApolloCreateTasksOperator(task_id="tasks", contact_ids=contacts, due_at="2026-03-02T09:00:00Z"),
        context,
    )

    stats = sb.stats()
    assert stats["faults"]["by_kind"].get("commit_then_drop") == 1
    assert stats["tasks"] == {"total": 5, "duplicates": 0}
    assert sorted(t["contact_id"] for t in tasks) == sorted(c["id"] for c in contacts)

    # And a retry of the whole task (or a re-run of the DAG) adds nothing.
    sb.configure(faults=SandboxFaults())
    again = _run(
        ApolloCreateTasksOperator(task_id="tasks", contact_ids=contacts, due_at="2026-03-02T09:00:00Z"),
        context,
    )
    assert sb.stats()["tasks"] == {"total": 5, "duplicates": 0}
    assert {t["id"] for t in again} == {t["id"] for t in tasks}


def test_contact_creation_dropped_after_commit_creates_no_duplicate(sb, context):
    sb.configure(faults=SandboxFaults(commit_then_drop=1.0, endpoints=["*/contacts/bulk_create"]))
    # Every answer is lost after the create landed: the hook looks the contacts up instead of
    # resending, so the task succeeds in the same try.
    first = _contacts(sb, context, 3)
    sb.configure(faults=SandboxFaults())

    again = _contacts(sb, context, 3)  # a re-run

    stats = sb.stats()
    assert stats["contacts"] == {"total": 3, "duplicates_by_email": 0}
    assert stats["requests"]["by_endpoint"]["POST /api/v1/contacts/bulk_create"] == 2  # once per run
    assert len(first) == len(again) == 3
