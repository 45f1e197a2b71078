"""ApolloAsyncHook reads a page like the sync hook: a missing or mistyped records key is an error.

The triggers poll through this client; a page it misreads as empty would make a sensor wait
for postings or tasks that Apollo did report (or report a broken answer as "nothing yet").
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from airflow_provider_apollo.exceptions import ApolloResponseError
from airflow_provider_apollo.hooks.async_apollo import ApolloAsyncHook
from tests._support import CANARY_KEY, set_connection

ORG = "5e66b6381e05b4008c8331b8"


async def _no_wait(seconds: float) -> None:
    return None


def _hook(monkeypatch: pytest.MonkeyPatch, body: Any) -> ApolloAsyncHook:
    set_connection(monkeypatch, extra={"max_retries": 0})
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    hook = ApolloAsyncHook()
    hook._transport, hook._sleep = transport, _no_wait
    return hook


BROKEN_PAGES = {
    "no_records_key": ({"unexpected": True}, "has no '{key}' list"),
    "records_key_null": ({"{key}": None}, "has no '{key}' list"),
    "records_key_a_string": ({"{key}": "oops"}, "'{key}' that is not a list"),
    "records_key_a_number": ({"{key}": 7}, "'{key}' that is not a list"),
    "records_not_objects": ({"{key}": [1, 2, 3]}, "{key}[0] that is not an object"),
    "a_json_list": ([1, 2, 3], "with a JSON list where an object was expected"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_PAGES))
async def test_a_broken_job_postings_page_is_a_response_error_naming_the_endpoint(
    monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    template, says = BROKEN_PAGES[case]
    key = "organization_job_postings"
    body = (
        {k.replace("{key}", key): v for k, v in template.items()} if isinstance(template, dict) else template
    )
    async with _hook(monkeypatch, body) as hook:
        with pytest.raises(ApolloResponseError) as raised:
            [posting async for posting in hook.iter_job_postings(ORG)]
    message = str(raised.value)
    assert says.replace("{key}", key) in message
    assert f"organizations/{ORG}/job_postings" in message
    assert raised.value.endpoint == f"organizations/{ORG}/job_postings"
    assert CANARY_KEY not in message


@pytest.mark.parametrize("case", sorted(BROKEN_PAGES))
async def test_a_broken_task_search_page_is_a_response_error_naming_the_endpoint(
    monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    template, says = BROKEN_PAGES[case]
    body = (
        {k.replace("{key}", "tasks"): v for k, v in template.items()}
        if isinstance(template, dict)
        else template
    )
    async with _hook(monkeypatch, body) as hook:
        with pytest.raises(ApolloResponseError, match="tasks/search") as raised:
            [task async for task in hook.iter_tasks({"contact_ids": ["c1"]})]
    assert says.replace("{key}", "tasks") in str(raised.value)


async def test_an_empty_list_is_still_an_empty_page(monkeypatch: pytest.MonkeyPatch) -> None:
    async with _hook(monkeypatch, {"tasks": []}) as hook:
        assert [task async for task in hook.iter_tasks({"contact_ids": ["c1"]})] == []
