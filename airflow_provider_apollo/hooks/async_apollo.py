"""ApolloAsyncHook: the httpx-based async client the triggers poll Apollo with.

It reads the connection with Airflow's async lookup (never the sync ``get_connection()``
inside the triggerer's event loop) and shares every rule with the sync ``ApolloHook``:
the connection rules (``connection.py``), the error mapping (``http_errors.py``), quota
pacing from the rate-limit headers (``quota.py``), the retry policy (``retry.py``) and the
pagination stop rules (``pagination.py``). Only the transport differs, so a trigger sees
the same errors, and spends the same credits, as a poking sensor.

The API key travels in one header only; it is never put in a URL, a log line or an error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

import httpx
from airflow.sdk import BaseHook
from asgiref.sync import sync_to_async
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from airflow_provider_apollo.connection import ApolloConnectionConfig, read_connection
from airflow_provider_apollo.endpoints import normalize_path, path_template
from airflow_provider_apollo.exceptions import (
    ApolloError,
    ApolloRateLimitError,
    ApolloResponseError,
    ApolloTransientError,
)
from airflow_provider_apollo.http_errors import error_for_response, scrub
from airflow_provider_apollo.pagination import page_info, page_records, stop_reason
from airflow_provider_apollo.quota import QuotaTracker
from airflow_provider_apollo.retry import RetryPolicy, _wait, is_retryable
from airflow_provider_apollo.task_filters import TaskSelection

Sleep = Callable[[float], Awaitable[None]]

#: Job postings cost 1 credit per page (the docs and the notes agree).
CREDITS_PER_JOB_POSTINGS_PAGE = 1.0


class ApolloAsyncHook(BaseHook):
    """Async access to the few Apollo endpoints the triggers poll.

    Use it as an async context manager so the HTTP connection pool is closed::

        async with ApolloAsyncHook("apollo_default") as hook:
            async for posting in hook.iter_job_postings(organization_id):
                ...

    :param apollo_conn_id: Airflow connection of type ``apollo``; the password is the API key.
    :param timeout: seconds per request; overrides the connection extra ``timeout``.
    :param max_retries: retries for 429/5xx/connection errors; overrides extra ``max_retries``.
    :param transport: an httpx transport (tests pass ``httpx.MockTransport``).
    :param sleep: the async wait used for backoff and pacing (tests inject a fake).
    :param clock: the monotonic clock quota pacing reads (tests inject one ``sleep`` advances).
    """

    conn_name_attr = "apollo_conn_id"
    default_conn_name = "apollo_default"

    def __init__(
        self,
        apollo_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.apollo_conn_id = apollo_conn_id
        self._timeout_override = timeout
        self._max_retries_override = max_retries
        self._transport = transport
        self._sleep = sleep
        self._clock = clock
        self._config: ApolloConnectionConfig | None = None
        self._client: httpx.AsyncClient | None = None
        self._quota: QuotaTracker | None = None
        self._credits_spent = 0.0
        self._requests_sent = 0

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> ApolloAsyncHook:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connection pool (safe to call twice)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def get_config(self) -> ApolloConnectionConfig:
        """The connection's settings, looked up once with Airflow's async connection API."""
        if self._config is None:
            aget_connection = getattr(BaseHook, "aget_connection", None)
            if aget_connection is not None:
                conn = await aget_connection(self.apollo_conn_id)
            else:  # Airflow releases without the async lookup: keep the sync one off the loop
                conn = await sync_to_async(BaseHook.get_connection)(self.apollo_conn_id)
            self._config = read_connection(
                conn, timeout=self._timeout_override, max_retries=self._max_retries_override
            )
        return self._config

    async def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            config = await self.get_config()
            self._quota = QuotaTracker(max_quota_wait=config.max_quota_wait, clock=self._clock)
            self._client = httpx.AsyncClient(
                base_url=config.base_url + "/",
                headers={**config.auth_headers(), "Accept": "application/json"},
                timeout=config.timeout,
                transport=self._transport,
                follow_redirects=False,  # a redirect could carry the key header to another host
            )
        return self._client

    # ------------------------------------------------------------------ counters
    @property
    def credits_spent(self) -> float:
        """Credits this hook instance has spent so far."""
        return self._credits_spent

    @property
    def requests_sent(self) -> int:
        """HTTP requests this hook instance has sent so far, retries included."""
        return self._requests_sent

    # ------------------------------------------------------------------ transport
    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one request to ``{base_url}/{path}`` (with retries) and return the decoded JSON.

        :param method: HTTP method.
        :param path: endpoint path relative to ``/api/v1``, e.g. ``tasks/search``.
        :param params: query parameters.
        :param json: JSON body.
        :raises ApolloError: the typed error of the last attempt.
        """
        relative = normalize_path(path)
        client = await self._get_client()
        config = await self.get_config()
        description = f"{method.upper()} {relative}"

        def announce(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            self.log.warning(
                "%s failed (attempt %d/%d): %s Retrying in %.1f s.",
                description,
                state.attempt_number,
                config.max_retries + 1,
                exc,
                delay,
            )

        policy = RetryPolicy(max_retries=config.max_retries)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.max_retries + 1),
            wait=_wait(policy),
            retry=retry_if_exception(is_retryable),
            sleep=self._sleep,
            before_sleep=announce,
            reraise=True,
        )
        try:
            return await retrying(self._send_once, client, config, method.upper(), relative, params, json)
        except ApolloError as exc:
            attempts = int(retrying.statistics.get("attempt_number", 1))
            if is_retryable(exc) and attempts > 1 and exc.args:
                exc.args = (f"{exc.args[0]} Gave up after {attempts} attempts.", *exc.args[1:])
            raise

    async def _send_once(
        self,
        client: httpx.AsyncClient,
        config: ApolloConnectionConfig,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Mapping[str, Any] | None,
    ) -> Any:
        assert self._quota is not None  # set with the client
        template = path_template(path)
        decision = self._quota.plan(template)
        if decision.wait > 0:
            self.log.info(
                "Apollo's per-%s quota for %s is used up: waiting %.1f s for it to reopen.",
                decision.window,
                template,
                decision.wait,
            )
            await self._sleep(decision.wait)
        self._requests_sent += 1
        try:
            response = await client.request(method, path, params=params, json=json)
        except httpx.TransportError as exc:
            self._quota.release(template)
            reason = scrub(f"{type(exc).__name__}: {exc}", config.api_key)
            raise ApolloTransientError(
                f"Could not reach Apollo for {method} {path} ({reason}). Check the network and the "
                f"host of connection '{config.conn_id}'.",
                endpoint=path,
            ) from None
        self._quota.observe(template, response.headers)
        if response.status_code >= 300:
            error = error_for_response(
                response.status_code,
                method=method,
                endpoint=path,
                body_text=response.text,
                headers=response.headers,
                conn_id=config.conn_id,
                secret=config.api_key,
            )
            if isinstance(error, ApolloRateLimitError):
                # Raises ApolloQuotaExhaustedError when waiting cannot help (hour/day window).
                self._quota.observe_rate_limited(template, window=error.window, retry_after=error.retry_after)
            raise error
        try:
            return response.json()
        except ValueError:
            raise ApolloResponseError(
                f"Apollo answered {method} {path} with {response.status_code} but the body is not JSON "
                f"(content-type {response.headers.get('content-type', 'unknown')!r}).",
                endpoint=path,
                status_code=response.status_code,
            ) from None

    def _quota_text(self, path: str) -> str:
        status = self._quota.status(path_template(path)) if self._quota else None
        return status.describe() if status else "no quota reported"

    # ------------------------------------------------------------------ endpoints
    async def _iter_pages(
        self,
        method: str,
        path: str,
        *,
        records_key: str,
        per_page: int,
        body: Mapping[str, Any] | None = None,
        what: str,
        credits_per_page: float = 0.0,
    ) -> AsyncIterator[dict[str, Any]]:
        page = 1
        yielded = 0
        while True:
            paging = {"page": page, "per_page": per_page}
            if method == "GET":
                answer = await self.request(method, path, params=paging)
            else:
                answer = await self.request(method, path, json={**(body or {}), **paging})
            self._credits_spent += credits_per_page
            # The sync hook's reading of a page: a missing or mistyped records key is an error.
            where = f"page {page} of {what} ({path})"
            records = page_records(answer, [records_key], where=where, endpoint=path)
            yielded += len(records)
            info = page_info(answer)
            self.log.info(
                "%s: page %d%s, %d records so far; %s.",
                what,
                page,
                f"/{info.total_pages}" if info.total_pages else "",
                yielded,
                self._quota_text(path),
            )
            for record in records:
                yield record
            reason = stop_reason(
                page=page,
                per_page=per_page,
                records_on_page=len(records),
                records_so_far=yielded,
                info=info,
                max_records=None,
            )
            if reason is not None:
                return
            page += 1

    def iter_job_postings(
        self, organization_id: str, *, per_page: int = 100
    ) -> AsyncIterator[dict[str, Any]]:
        """``GET /organizations/{id}/job_postings``, every page (1 credit per page).

        :param organization_id: Apollo's organization id (not an account id).
        :param per_page: postings per page; bigger pages spend fewer credits.
        """
        return self._iter_pages(
            "GET",
            f"organizations/{organization_id}/job_postings",
            records_key="organization_job_postings",
            per_page=per_page,
            what=f"job postings of organization {organization_id}",
            credits_per_page=CREDITS_PER_JOB_POSTINGS_PAGE,
        )

    async def iter_tasks(
        self, filters: Mapping[str, Any], *, per_page: int = 100
    ) -> AsyncIterator[dict[str, Any]]:
        """``POST /tasks/search``, every page (0 credits), only the tasks matching ``filters``.

        As the sync hook: only the keys Apollo documents are sent, the rest is checked on
        each record (``task_filters.py``), so both paths send and return the same thing.

        :param filters: search filters, already validated by the sync hook on the worker.
        :param per_page: tasks per page (1..100).
        """
        selection = TaskSelection.from_filters(filters)
        if selection.selects_nothing:
            return
        read = matched = 0
        async for task in self._iter_pages(
            "POST",
            "tasks/search",
            records_key="tasks",
            per_page=per_page,
            body=selection.sent,
            what="task search",
        ):
            read += 1
            if selection.matches(task):
                matched += 1
                yield dict(task)
        self.log.info(
            "tasks/search: read %d task(s), %d matched the filters checked here (%s).",
            read,
            matched,
            selection.describe(),
        )
