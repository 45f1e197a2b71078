"""The job-postings and tasks triggers: JSON state, polling, events, parity with poking."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import MagicMock

import httpx
import pytest
import requests_mock as requests_mock_module
from airflow.providers.common.compat.module_loading import import_string
from airflow.triggers.base import BaseTrigger

from airflow_provider_apollo.exceptions import ApolloAuthenticationError
from airflow_provider_apollo.get_provider_info import get_provider_info
from airflow_provider_apollo.sensors.job_postings import ApolloJobPostingsSensor
from airflow_provider_apollo.sensors.tasks import ApolloTasksSensor
from airflow_provider_apollo.triggers.job_postings import ApolloJobPostingsTrigger
from airflow_provider_apollo.triggers.tasks import ApolloTasksTrigger

ORG_A, ORG_B = "5e66b6381e05b4008c8331b8", "5f5e1d2c3b4a596877665544"
POSTINGS_KEY = "organization_job_postings"


def postings_trigger(**kwargs: Any) -> ApolloJobPostingsTrigger:
    defaults: dict[str, Any] = {
        "apollo_conn_id": "apollo_default",
        "organizations": [{"id": ORG_A, "domain": "acme.com"}, {"id": ORG_B, "domain": None}],
        "posted_after": "2026-03-01T00:00:00+00:00",
        "title_keywords": ["sales"],
        "poll_interval": 3600,
    }
    return ApolloJobPostingsTrigger(**{**defaults, **kwargs})


def tasks_trigger(**kwargs: Any) -> ApolloTasksTrigger:
    defaults: dict[str, Any] = {
        "apollo_conn_id": "apollo_default",
        "contact_ids": ["c1"],
        "poll_interval": 300,
    }
    return ApolloTasksTrigger(**{**defaults, **kwargs})


async def events_of(trigger: BaseTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


@pytest.mark.parametrize("build", [postings_trigger, tasks_trigger])
def test_serialize_is_json_and_rebuilds_the_same_trigger(build: Any) -> None:
    trigger = build()
    classpath, kwargs = trigger.serialize()
    rebuilt = import_string(classpath)(**json.loads(json.dumps(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)


def test_the_provider_lists_the_trigger_modules() -> None:
    (entry,) = get_provider_info()["triggers"]
    for module in entry["python-modules"]:
        assert import_string(f"{module}.__name__")


async def test_job_postings_trigger_fires_when_a_new_matching_posting_appears(
    wire: Any, make_page: Any, make_posting: Any, fake_sleep: Any
) -> None:
    polls = {ORG_A: 0, ORG_B: 0}
    new = make_posting("jp2", "Sales Director", "2026-03-02T10:00:00.000+00:00")

    def apollo(request: httpx.Request) -> httpx.Response:
        org = request.url.path.split("/")[-2]
        polls[org] += 1
        old = [make_posting("jp1", "Sales Lead", "2026-02-01T00:00:00+00:00")]
        found = [*old, new] if org == ORG_B and polls[org] >= 2 else old
        return make_page(POSTINGS_KEY, found)

    trigger = postings_trigger()
    wire(trigger, apollo)
    (event,) = await events_of(trigger)
    assert event == {
        "status": "success",
        "data": [{"organization_id": ORG_B, "organization_domain": None, "postings": [new]}],
        "credits_spent": 4.0,  # 2 polls x 2 organizations x 1 page
        "requests_sent": 4,
        "polls": 2,
    }
    assert fake_sleep.waits == [3600, 3600]  # waits before each look: the worker just looked


async def test_an_apollo_error_becomes_an_error_event_the_sensor_raises_again(
    wire: Any, canary_key: str
) -> None:
    trigger = postings_trigger()
    wire(trigger, lambda request: httpx.Response(401, text="Invalid access credentials."))
    (event,) = await events_of(trigger)
    assert event["status"] == "error"
    assert event["error_type"] == "ApolloAuthenticationError"
    assert "Check the password of connection 'apollo_default'" in event["message"]
    assert canary_key not in json.dumps(event)
    sensor = ApolloJobPostingsSensor(task_id="s", organization_ids=[ORG_A])
    with pytest.raises(ApolloAuthenticationError, match="Invalid access credentials"):
        sensor.execute_complete({}, event)


async def test_a_missing_connection_is_an_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    trigger = tasks_trigger(apollo_conn_id="apollo_nowhere")
    trigger._sleep = _no_wait
    (event,) = await events_of(trigger)
    assert event["status"] == "error"
    assert "apollo_nowhere" in event["message"]


async def _no_wait(seconds: float) -> None:
    return None


async def test_tasks_trigger_fires_when_every_task_is_completed(
    wire: Any, make_page: Any, make_task: Any
) -> None:
    statuses = iter([["scheduled", "completed"], ["completed", "completed"]])

    def apollo(request: httpx.Request) -> httpx.Response:
        first, second = next(statuses)
        return make_page("tasks", [make_task("t1", first), make_task("t2", second)])

    trigger = tasks_trigger(task_ids=["t1", "t2"], contact_ids=[])
    transport = wire(trigger, apollo)
    (event,) = await events_of(trigger)
    assert event["polls"] == 2
    assert [(t["id"], t["status"]) for t in event["data"]] == [("t1", "completed"), ("t2", "completed")]
    assert all("contact" not in t for t in event["data"])
    assert event["credits_spent"] == 0
    assert all(r.url.path == "/api/v1/tasks/search" for r in transport.requests)


class TestSameResultOnBothPaths:
    """The poking sensor (sync hook) and its trigger (async client) return the same thing."""

    @pytest.fixture
    def apollo_postings(self, make_posting: Any) -> dict[str, list[dict[str, Any]]]:
        return {
            ORG_A: [
                make_posting("jp1", "Account Executive, EMEA", "2026-03-03T08:00:00.000+00:00"),
                make_posting("jp2", "Engineer", "2026-03-03T08:00:00.000+00:00"),
            ],
            ORG_B: [make_posting("jp3", "Sales Engineer", "2026-01-03T08:00:00.000+00:00")],
        }

    async def test_job_postings(self, wire: Any, make_page: Any, apollo_postings: Any) -> None:
        sensor = ApolloJobPostingsSensor(
            task_id="s",
            organization_ids=[ORG_A, ORG_B],
            title_keywords=["account executive", "sales"],
            posted_after="2026-03-01",
        )
        with requests_mock_module.Mocker() as api:
            for org, found in apollo_postings.items():
                api.get(
                    f"https://api.apollo.io/api/v1/organizations/{org}/job_postings",
                    json={POSTINGS_KEY: found, "pagination": {"page": 1, "total_pages": 1}},
                )
            poked = sensor.poke({"ti": MagicMock()})
        trigger = sensor.build_trigger({})
        wire(
            trigger, lambda request: make_page(POSTINGS_KEY, apollo_postings[request.url.path.split("/")[-2]])
        )
        (event,) = await events_of(trigger)
        assert poked.xcom_value == event["data"]
        assert [p["id"] for p in event["data"][0]["postings"]] == ["jp1"]

    async def test_tasks(self, wire: Any, make_page: Any, make_task: Any) -> None:
        apollo_tasks = [make_task("t1", "completed"), make_task("t2", "skipped", contact_id="c2")]
        sensor = ApolloTasksSensor(
            task_id="s", contact_ids=["c1", "c2"], target_statuses=["completed", "skipped"]
        )
        with requests_mock_module.Mocker() as api:
            api.post(
                "https://api.apollo.io/api/v1/tasks/search",
                json={"tasks": apollo_tasks, "pagination": {"page": 1, "total_pages": 1}},
            )
            poked = sensor.poke({"ti": MagicMock()})
            sent_by_poke = api.request_history[0].json()
        trigger = sensor.build_trigger({})
        transport = wire(trigger, lambda request: make_page("tasks", apollo_tasks))
        (event,) = await events_of(trigger)
        assert poked.xcom_value == event["data"]
        assert json.loads(transport.requests[0].content) == sent_by_poke


async def test_a_closed_hourly_window_is_waited_out_in_the_triggerer_then_polled_again(
    wire: Any, make_page: Any, make_posting: Any, fake_sleep: Any
) -> None:
    """A sensor's trigger that meets a closed window sleeps until it reopens instead of failing."""
    answers = iter(["closed", "open"])
    new = make_posting("jp2", "Sales Director", "2026-03-02T10:00:00.000+00:00")

    def apollo(request: httpx.Request) -> httpx.Response:
        org = request.url.path.split("/")[-2]
        if org == ORG_A and next(answers) == "closed":
            return httpx.Response(
                429,
                json={
                    "message": "The maximum number of api calls allowed for "
                    "api/v1/organizations/{id}/job_postings is 400 times per hour."
                },
                headers={"retry-after": "1800"},
            )
        return make_page(POSTINGS_KEY, [new] if org == ORG_B else [])

    trigger = postings_trigger()
    wire(trigger, apollo)
    (event,) = await events_of(trigger)

    assert event["status"] == "success"
    assert event["data"][0]["organization_id"] == ORG_B
    # One interval before the first look, the closed window's 1800 s (+1), then the next look.
    assert 1800 < fake_sleep.waits[1] <= 1802
    assert fake_sleep.waits[0] == 3600 and len(fake_sleep.waits) == 2
