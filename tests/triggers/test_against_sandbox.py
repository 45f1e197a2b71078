"""Deferrable sensors end to end on the local Apollo sandbox: defer, poll, fire, resume.

The trigger's waits are replaced by a callback that changes the sandbox the way a
person would (a company publishes a posting, a rep completes a call), so nothing waits.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any
from unittest.mock import MagicMock

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from airflow.triggers.base import BaseTrigger

from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.sensors.job_postings import ApolloJobPostingsSensor
from airflow_provider_apollo.sensors.tasks import ApolloTasksSensor

POSTINGS_ENDPOINT = "GET /api/v1/organizations/{id}/job_postings"


def on_wait(actions: dict[int, Callable[[], Any]]) -> Callable[[float], Any]:
    """A trigger ``_sleep`` that runs ``actions[n]`` at its n-th wait (1-based) instead of waiting."""
    count = 0

    async def wait(seconds: float) -> None:
        nonlocal count
        count += 1
        if count in actions:
            actions[count]()

    return wait


def deferred_trigger(sensor: Any) -> BaseTrigger:
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({"ti": MagicMock(name="ti")})
    trigger: BaseTrigger = deferred.value.trigger
    return trigger


async def fire(trigger: BaseTrigger) -> dict[str, Any]:
    (event,) = [event.payload async for event in trigger.run()]
    payload: dict[str, Any] = event
    return payload


async def test_job_postings_sensor_defers_then_fires_on_a_new_posting(apollo_sandbox: Any) -> None:
    organization = apollo_sandbox.state.world.organizations[0]
    now = datetime.datetime.now(datetime.timezone.utc)
    sensor = ApolloJobPostingsSensor(
        task_id="wait_for_job_postings",
        organization_domains=[organization["primary_domain"]],
        title_keywords=["revenue operations"],
        posted_after=now.isoformat(),
        deferrable=True,
    )
    trigger = deferred_trigger(sensor)
    assert trigger.serialize()[1]["organizations"] == [
        {"id": organization["id"], "domain": organization["primary_domain"]}
    ]
    publish = lambda: apollo_sandbox.add_job_postings(  # noqa: E731
        organization["id"],
        [
            {
                "title": "Head of Revenue Operations",
                "posted_at": (now + datetime.timedelta(minutes=1)).isoformat(),
            }
        ],
    )
    trigger._sleep = on_wait({2: publish})  # type: ignore[attr-defined]

    event = await fire(trigger)

    assert event["status"] == "success"
    assert event["polls"] == 2
    result = sensor.execute_complete({}, event)
    (signal,) = result
    assert signal["organization_id"] == organization["id"]
    assert [p["title"] for p in signal["postings"]] == ["Head of Revenue Operations"]
    # Credits: the sandbox's ledger agrees with what the trigger reported (1 page per poll).
    ledger = apollo_sandbox.stats()["credits"]["by_endpoint"]
    assert event["credits_spent"] == 2
    assert ledger[POSTINGS_ENDPOINT] == 1 + event["credits_spent"]  # the worker's look + the trigger's


async def test_tasks_sensor_defers_then_fires_when_the_calls_are_completed(apollo_sandbox: Any) -> None:
    hook = ApolloHook()
    contacts = [
        hook.create_contact({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org"}),
        hook.create_contact({"first_name": "Alan", "last_name": "Turing", "email": "alan@example.org"}),
    ]
    contact_ids = [contact["id"] for contact in contacts]
    due_at = datetime.datetime.now(datetime.timezone.utc).isoformat()
    hook.bulk_create_tasks(contact_ids, task_type="call", priority="high", due_at=due_at)
    task_ids = [task["id"] for task in hook.iter_tasks({"contact_ids": contact_ids})]
    assert len(task_ids) == 2

    sensor = ApolloTasksSensor(
        task_id="wait_for_calls", contact_ids=contact_ids, task_type="call", deferrable=True
    )
    trigger = deferred_trigger(sensor)
    trigger._sleep = on_wait(  # type: ignore[attr-defined]
        {
            2: lambda: apollo_sandbox.complete_tasks(task_ids[:1]),  # one call done: keep waiting
            3: lambda: apollo_sandbox.complete_tasks(task_ids[1:]),
        }
    )

    event = await fire(trigger)

    assert event["polls"] == 3
    result = sensor.execute_complete({}, event)
    assert sorted(task["id"] for task in result) == sorted(task_ids)
    assert {task["status"] for task in result} == {"completed"}
    assert event["credits_spent"] == 0
