"""Credits and API calls per task through Airflow's metrics: the names and values ops graph."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest.mock import MagicMock

import pytest
from airflow.sdk import DAG, TaskGroup

from airflow_provider_apollo._airflow import metrics as _metrics
from airflow_provider_apollo.exceptions import ApolloBudgetExceededError, ApolloConfigurationError
from airflow_provider_apollo.operators.enrichment import (
    ApolloEnrichOrganizationsOperator,
    ApolloEnrichPeopleOperator,
)
from airflow_provider_apollo.sensors.tasks import ApolloTasksSensor

Emitted = list[tuple[str, Any, dict[str, Any] | None]]


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emitted]:
    """Every ``Stats.incr`` call as ``(name, count, tags)``, on the Stats this Airflow provides."""
    calls: Emitted = []

    def incr(stat: str, count: Any = 1, rate: Any = None, *, tags: dict[str, Any] | None = None) -> None:
        calls.append((stat, count, tags))

    monkeypatch.setattr(_metrics._stats(), "incr", incr)
    yield calls


def _enrich_orgs(hook: MagicMock, task_id: str = "enrich_orgs") -> ApolloEnrichOrganizationsOperator:
    def bulk_enrich(domains: list[str]) -> list[dict[str, Any]]:
        hook.credits_spent += len(domains)
        hook.requests_sent += 1
        return [{"id": f"o-{domain}", "primary_domain": domain} for domain in domains]

    hook.bulk_enrich_organizations.side_effect = bulk_enrich
    op = ApolloEnrichOrganizationsOperator(task_id=task_id, domains=["acme.com", "globex.io", "initech.net"])
    op.hook = hook
    return op


def test_an_operator_run_emits_credits_and_calls_once_tagged_and_per_task(emitted, hook, context):
    with DAG(dag_id="daily_accounts", schedule=None):
        op = _enrich_orgs(hook)

    op.execute(context)

    tags = {"dag_id": "daily_accounts", "task_id": "enrich_orgs"}
    assert emitted == [
        ("apollo.credits_spent", 3, tags),
        ("apollo.credits_spent.daily_accounts.enrich_orgs", 3, None),
        ("apollo.api_calls", 1, tags),
        ("apollo.api_calls.daily_accounts.enrich_orgs", 1, None),
    ]


def test_per_task_names_follow_airflows_legacy_names_switch(emitted, hook, context, monkeypatch):
    monkeypatch.setenv("AIRFLOW__METRICS__LEGACY_NAMES_ON", "False")
    with DAG(dag_id="daily_accounts", schedule=None):
        op = _enrich_orgs(hook)

    op.execute(context)

    assert [name for name, _, _ in emitted] == ["apollo.credits_spent", "apollo.api_calls"]


def test_a_task_group_id_stays_one_level_of_the_per_task_name(emitted, hook, context):
    with DAG(dag_id="accounts", schedule=None), TaskGroup("eu"):
        op = _enrich_orgs(hook, task_id="enrich")

    op.execute(context)

    assert ("apollo.credits_spent.accounts.eu__enrich", 3, None) in emitted
    assert ("apollo.credits_spent", 3, {"dag_id": "accounts", "task_id": "eu.enrich"}) in emitted


def test_a_failed_task_still_reports_the_credits_it_spent(emitted, hook, context):
    def bulk_enrich(people: list[Any], **_: Any) -> list[dict[str, Any]]:
        # What the real hook does with max_credits=10: pays for 10, leaves 2 unsent.
        hook.credits_spent += 10
        hook.requests_sent += 1
        exhausted = ApolloBudgetExceededError("The budget of 10 credits covers no more.")
        exhausted.partial_results = [{"id": f"p{index}"} for index in range(10)] + [None, None]
        exhausted.unresolved = (10, 11)
        raise exhausted

    hook.bulk_enrich_people.side_effect = bulk_enrich
    hook.find_existing_contacts.return_value = [None] * 12
    op = ApolloEnrichPeopleOperator(
        task_id="enrich", people=[{"email": f"p{i}@acme.example"} for i in range(12)], max_credits=10
    )
    op.hook = hook

    with pytest.raises(ApolloBudgetExceededError):
        op.execute(context)

    assert ("apollo.credits_spent", 10, {"dag_id": "adhoc_airflow", "task_id": "enrich"}) in emitted


def test_nothing_is_emitted_when_no_request_could_be_sent(emitted, context):
    op = ApolloEnrichOrganizationsOperator(task_id="t", domains=["not a domain"])

    with pytest.raises(ApolloConfigurationError):
        op.execute(context)

    assert emitted == []
    assert "hook" not in op.__dict__  # the refused arguments never built the hook


def test_a_broken_metrics_backend_does_not_fail_the_task(hook, context, monkeypatch, caplog):
    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("statsd host unreachable")

    monkeypatch.setattr(_metrics._stats(), "incr", broken)
    op = _enrich_orgs(hook)

    results = op.execute(context)

    assert [result["status"] for result in results] == ["matched"] * 3
    assert "Could not send the Apollo usage metrics" in caplog.text


def test_each_sensor_poke_adds_what_it_spent(emitted):
    hook = MagicMock()
    hook.credits_spent, hook.requests_sent = 0.0, 0

    def iter_tasks(filters: Any, per_page: int = 100) -> Iterator[dict[str, Any]]:
        hook.requests_sent += 2  # two pages, free (CRM)
        return iter([{"id": "t1", "contact_id": "c1", "type": "call", "status": "scheduled"}])

    hook.iter_tasks.side_effect = iter_tasks
    with DAG(dag_id="followup", schedule=None):
        sensor = ApolloTasksSensor(task_id="wait", task_ids=["t1"])
    sensor.hook = hook

    assert not sensor.poke({"ti": MagicMock()})
    assert not sensor.poke({"ti": MagicMock()})

    tags = {"dag_id": "followup", "task_id": "wait"}
    assert [entry for entry in emitted if entry[2] is not None] == [
        ("apollo.credits_spent", 0, tags),
        ("apollo.api_calls", 2, tags),
        ("apollo.credits_spent", 0, tags),
        ("apollo.api_calls", 2, tags),  # per poke, not the running total
    ]


def test_a_deferred_sensor_adds_what_the_trigger_spent(emitted):
    with DAG(dag_id="signals", schedule=None):
        sensor = ApolloTasksSensor(task_id="wait", task_ids=["t1"])
    event = {"status": "success", "data": [], "credits_spent": 4.0, "requests_sent": 6, "polls": 3}

    sensor.execute_complete({"ti": MagicMock()}, event)

    tags = {"dag_id": "signals", "task_id": "wait"}
    assert ("apollo.credits_spent", 4, tags) in emitted
    assert ("apollo.api_calls", 6, tags) in emitted
