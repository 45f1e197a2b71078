"""ApolloAsyncHook: the async front door the triggers poll Apollo with (``httpx``).

It reads the connection with Airflow's async lookup (never the sync ``get_connection()``
inside the triggerer's event loop). Everything else is shared with the sync ``ApolloHook``:
how a call is built and its answer read (``api_call.py``), pacing and counters
(``client_base.py``), the retry settings (``retry.py``) and the page walk
(``pagination.py``). Only the transport differs, so a trigger sees the same errors, and
spends the same credits, as a poking sensor.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

import httpx
from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_apollo._api.limits import MAX_PER_PAGE
from airflow_provider_apollo._api.task_filters import TaskSelection
from airflow_provider_apollo.hooks._resources.organizations import job_postings_query
from airflow_provider_apollo.hooks._transport import api_call
from airflow_provider_apollo.hooks._transport.client_base import ApolloClientBase
from airflow_provider_apollo.hooks._transport.connection import ApolloConnectionConfig
from airflow_provider_apollo.hooks._transport.pagination import PagedQuery, PageWalk
from airflow_provider_apollo.hooks._transport.quota import QuotaTracker
from airflow_provider_apollo.hooks._transport.retry import a_call_with_retries


def _failure_of(exc: httpx.TransportError) -> api_call.NetworkFailure:
    """What an ``httpx`` error says about whether Apollo can have seen the request."""
    return api_call.NetworkFailure(
        timed_out=isinstance(exc, httpx.TimeoutException),
        before_sending=isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)),
        detail=f"{type(exc).__name__}: {exc}",
    )


class ApolloAsyncHook(ApolloClientBase):
    """Async access to the Apollo endpoints the triggers poll.

    Use it as an async context manager so the HTTP connection pool is closed::

        async with ApolloAsyncHook("apollo_default") as hook:
            async for posting in hook.iter_job_postings(organization_id):
                ...

    Test seams (attributes): ``_transport`` (an httpx transport, e.g. ``httpx.MockTransport``),
    ``_sleep`` (the async wait for backoff and pacing) and ``_clock``.

    :param apollo_conn_id: Airflow connection of type ``apollo``; the password is the API key.
    :param timeout: seconds per request; overrides the connection extra ``timeout``.
    :param max_retries: retries for 429/5xx/connection errors; overrides extra ``max_retries``.
    """

    def _init_seams(self) -> None:
        self._transport: httpx.AsyncBaseTransport | None = None
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._config: ApolloConnectionConfig | None = None
        self._client: httpx.AsyncClient | None = None

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
                conn = await asyncio.to_thread(BaseHook.get_connection, self.apollo_conn_id)
            self._config = self._config_from(conn)
        return self._config

    async def _get_client(self, config: ApolloConnectionConfig) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                headers=api_call.request_headers(config),
                timeout=config.timeout,
                transport=self._transport,
                follow_redirects=False,  # a redirect would carry the key header to another host
            )
        return self._client

    # ------------------------------------------------------------------ transport
    async def request(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        max_retries: int | None = None,
    ) -> Any:
        """Send one request (with retries) and return the decoded JSON: :meth:`ApolloHook.request`, awaited.

        The triggers only read, so there is no ``retry_safe``: every call is safe to resend.
        """
        call = api_call.prepare_call(method, endpoint, params, json, unsafe_write=False)
        config = await self.get_config()
        return await a_call_with_retries(
            lambda: self._a_do_api_call(call, config),
            policy=self._retry_policy(config, max_retries),
            sleep=self._sleep,
            description=call.where,
            log=self.log,
        )

    async def _a_do_api_call(self, call: api_call.ApiCall, config: ApolloConnectionConfig) -> Any:
        """Send ``call`` once: wait for admission (quota, requests in flight), send, read the answer."""
        client = await self._get_client(config)
        quota = self._quota_for(config, shared=False)
        while (admission := self._admission_wait(quota, call)).wait > 0:
            await self._sleep(admission.wait)
        try:
            return await self._send(client, call, config, quota)
        finally:
            self._answered(call)

    async def _send(
        self,
        client: httpx.AsyncClient,
        call: api_call.ApiCall,
        config: ApolloConnectionConfig,
        quota: QuotaTracker,
    ) -> Any:
        self._count_request()
        self.log.debug("Apollo request: %s", call.where)
        try:
            response = await client.request(
                call.method, f"{config.base_url}/{call.path}", params=call.params, json=call.json
            )
        except httpx.TransportError as exc:
            quota.release(call.template)
            raise api_call.network_error(call, _failure_of(exc), config) from None
        return api_call.read_answer(call, response, config=config, quota=quota)

    async def _iter_pages(self, query: PagedQuery) -> AsyncIterator[dict[str, Any]]:
        """Every record of a paged search: the sync hook's page walk, awaited."""
        walk = PageWalk(query, on_page=self._page_logger(query.path, query.what))
        while not walk.done:
            params, body = query.request_for(walk.page)
            answer = await self.request(query.method, query.path, params=params, json=body)
            self._add_credits(query.credits_per_page)
            for record in walk.read(answer):
                yield record

    # ------------------------------------------------------------------ endpoints
    def iter_job_postings(
        self, organization_id: str, *, per_page: int = MAX_PER_PAGE
    ) -> AsyncIterator[dict[str, Any]]:
        """``GET /organizations/{id}/job_postings``, every page (1 credit per page).

        :param organization_id: Apollo's organization id (not an account id).
        :param per_page: postings per page; bigger pages spend fewer credits.
        """
        return self._iter_pages(job_postings_query(organization_id, per_page=per_page))

    async def iter_tasks(
        self, filters: Mapping[str, Any], *, per_page: int = MAX_PER_PAGE
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
        query = PagedQuery(
            "POST",
            "tasks/search",
            records_keys=("tasks",),
            what="tasks",
            filters=selection.sent,
            per_page=per_page,
        )
        read = matched = 0
        async for task in self._iter_pages(query):
            read += 1
            if selection.matches(task):
                matched += 1
                yield dict(task)
        self.log.info("tasks/search: %s", selection.outcome(read, matched))
