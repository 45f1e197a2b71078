"""ApolloAsyncHook: the triggers' client sends, retries, paces and fails like the sync hook."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from airflow_provider_apollo.exceptions import (
    ApolloAuthenticationError,
    ApolloConfigurationError,
    ApolloQuotaExhaustedError,
    ApolloResponseError,
    ApolloTransientError,
)
from tests._support import set_connection


@pytest.fixture(autouse=True)
def apollo_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """``apollo_default`` with the canary key and two retries, found through the async lookup."""
    set_connection(monkeypatch, extra={"max_retries": 2})


ORG = "5e66b6381e05b4008c8331b8"
POSTINGS_URL = f"https://api.apollo.io/api/v1/organizations/{ORG}/job_postings"


async def test_pages_job_postings_with_the_key_in_a_header_only(
    async_hook: Any, make_page: Any, make_posting: Any, canary_key: str
) -> None:
    pages = {
        1: make_page(
            "organization_job_postings", [make_posting("a", "x", "2026-03-01")], page=1, total_pages=2
        ),
        2: make_page(
            "organization_job_postings", [make_posting("b", "y", "2026-03-02")], page=2, total_pages=2
        ),
    }
    hook, transport = async_hook(lambda request: pages[int(request.url.params["page"])])
    async with hook:
        postings = [p async for p in hook.iter_job_postings(ORG, per_page=100)]
    assert [p["id"] for p in postings] == ["a", "b"]
    assert [str(r.url) for r in transport.requests] == [
        f"{POSTINGS_URL}?page=1&per_page=100",
        f"{POSTINGS_URL}?page=2&per_page=100",
    ]
    assert all(r.headers["X-Api-Key"] == canary_key for r in transport.requests)
    assert all(canary_key not in str(r.url) for r in transport.requests)
    assert (hook.credits_spent, hook.requests_sent) == (2, 2)


async def test_task_search_posts_filters_and_paging(async_hook: Any, make_page: Any, make_task: Any) -> None:
    other = make_task("t2", "completed", contact_id="c2")
    hook, transport = async_hook(lambda request: make_page("tasks", [make_task("t1", "completed"), other]))
    async with hook:
        tasks = [t async for t in hook.iter_tasks({"contact_ids": ["c1"]}, per_page=50)]
    assert [t["id"] for t in tasks] == ["t1"]  # Apollo ignores contact_ids: checked per record
    (request,) = transport.requests
    assert (request.method, request.url.path) == ("POST", "/api/v1/tasks/search")
    assert json.loads(request.content) == {"page": 1, "per_page": 50}  # only what Apollo documents
    assert hook.credits_spent == 0


async def test_a_429_waits_what_retry_after_says(
    async_hook: Any, make_page: Any, fake_sleep: Any, make_posting: Any
) -> None:
    answers = [
        httpx.Response(
            429,
            json={"message": "The maximum number of api calls allowed is 200 times per minute."},
            headers={"Retry-After": "7"},
        ),
        make_page("organization_job_postings", [make_posting("a", "x", "2026-03-01")]),
    ]
    hook, _transport = async_hook(lambda request: answers.pop(0))
    async with hook:
        postings = [p async for p in hook.iter_job_postings(ORG)]
    assert len(postings) == 1
    # The pacer waits what Retry-After says, plus the small reopening margin (as the sync hook).
    assert fake_sleep.waits == [pytest.approx(7.05)]
    assert hook.requests_sent == 2
    assert hook.credits_spent == 1  # a rejected request costs nothing


async def test_5xx_is_retried_then_fails_saying_so(async_hook: Any, fake_sleep: Any) -> None:
    hook, transport = async_hook(lambda request: httpx.Response(503, text="upstream unavailable"))
    async with hook:
        with pytest.raises(
            ApolloTransientError, match=r"503: upstream unavailable.*Gave up after 3 attempts"
        ):
            await hook.request("POST", "tasks/search", json={})
    assert len(transport.requests) == 3  # max_retries=2 from the connection
    assert len(fake_sleep.waits) == 2 and all(0 < wait <= 60 + 1 for wait in fake_sleep.waits)


async def test_connection_errors_are_transient(async_hook: Any) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    hook, transport = async_hook(refuse)
    async with hook:
        with pytest.raises(
            ApolloTransientError,
            match="Could not get an answer from Apollo for POST tasks/search",
        ):
            await hook.request("POST", "tasks/search", json={})
    assert len(transport.requests) == 3


async def test_401_is_not_retried_and_never_shows_the_key(
    async_hook: Any, canary_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook, transport = async_hook(lambda request: httpx.Response(401, text=f"Invalid API key {canary_key}"))
    async with hook:
        with pytest.raises(ApolloAuthenticationError) as raised:
            await hook.request("GET", f"organizations/{ORG}/job_postings")
    assert len(transport.requests) == 1
    assert "Check the password of connection 'apollo_default'" in str(raised.value)
    assert canary_key not in str(raised.value)
    assert canary_key not in caplog.text


async def test_a_closed_daily_window_fails_fast_without_waiting(async_hook: Any, fake_sleep: Any) -> None:
    message = "The maximum number of api calls allowed for api/v1/tasks/search is 2000 times per day."
    hook, transport = async_hook(lambda request: httpx.Response(429, json={"message": message}))
    async with hook:
        with pytest.raises(ApolloQuotaExhaustedError, match="per-day quota for tasks/search is used up"):
            await hook.request("POST", "tasks/search", json={})
    assert len(transport.requests) == 1
    assert fake_sleep.waits == []


async def test_an_html_answer_is_a_response_error(async_hook: Any) -> None:
    hook, _ = async_hook(lambda request: httpx.Response(200, text="<html>proxy login</html>"))
    async with hook:
        with pytest.raises(ApolloResponseError, match="with an HTML page"):
            await hook.request("POST", "tasks/search", json={})


async def test_redirects_are_not_followed(async_hook: Any) -> None:
    # Following one would send the key header to wherever the Location points.
    hook, transport = async_hook(
        lambda request: httpx.Response(302, headers={"Location": "https://elsewhere.example/"})
    )
    async with hook:
        with pytest.raises(ApolloConfigurationError, match=r"redirect \(302\).*base URL"):
            await hook.request("GET", "auth/health")
    # Not retried either: a redirect means the base URL is wrong, as on the sync path.
    assert [r.url.host for r in transport.requests] == ["api.apollo.io"]
