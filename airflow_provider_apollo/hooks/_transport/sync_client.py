"""The sync front door: ``requests`` moves the bytes of each ``ApiCall``.

How a call is built and how its answer is read live in ``api_call.py``; pacing, counters
and the connection in ``client_base.py``; retries in ``retry.py``. This module only sends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_apollo.exceptions import ApolloBudgetExceededError, ApolloError
from airflow_provider_apollo.hooks._transport import api_call
from airflow_provider_apollo.hooks._transport.client_base import ApolloClientBase
from airflow_provider_apollo.hooks._transport.connection import ApolloConnectionConfig, is_loopback_host
from airflow_provider_apollo.hooks._transport.credit_budget import CreditBudget
from airflow_provider_apollo.hooks._transport.pagination import PagedQuery, iter_records
from airflow_provider_apollo.hooks._transport.quota import QuotaTracker
from airflow_provider_apollo.hooks._transport.retry import call_with_retries

if TYPE_CHECKING:
    import requests

# ``requests`` (with urllib3) is imported where a request is made, not at module level:
# DAG files import the operators, and so this module, at every parse.


def _failure_of(exc: requests.exceptions.RequestException) -> api_call.NetworkFailure:
    """What a ``requests`` error says about whether Apollo can have seen the request."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError

    before_sending = isinstance(exc, requests.exceptions.ConnectTimeout)
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(
        exc, requests.exceptions.SSLError
    ):
        reason: Any = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
        # NewConnectionError and NameResolutionError are ConnectTimeoutError subclasses.
        before_sending = before_sending or isinstance(reason, ConnectTimeoutError)
    return api_call.NetworkFailure(
        timed_out=isinstance(exc, requests.exceptions.Timeout),
        before_sending=before_sending,
        detail=f"{type(exc).__name__}: {exc}",
    )


class ApolloSyncClient(ApolloClientBase):
    """Sends calls with ``requests``, with retries and quota pacing.

    Test seams (attributes): ``_sleep`` (how to wait: backoff, ``Retry-After``, pacing) and
    ``_clock`` (see :class:`ApolloClientBase`).
    """

    def _init_seams(self) -> None:
        self._sleep: Callable[[float], None] = time.sleep

    @cached_property
    def config(self) -> ApolloConnectionConfig:
        """The validated connection settings (read once, at first use)."""
        return self._config_from(self.get_connection(self.apollo_conn_id))

    @property
    def base_url(self) -> str:
        """``scheme://host[:port]/api/v1`` of the connection."""
        return self.config.base_url

    @property
    def sandbox_root(self) -> str | None:
        """``scheme://host[:port]`` when the connection points at a loopback host (a local
        sandbox, never Apollo), else ``None``: where error hints can send the user."""
        root = self.base_url.removesuffix("/api/v1")
        return root if is_loopback_host(urlsplit(root).hostname or "") else None

    @property
    def quota(self) -> QuotaTracker:
        """Per-endpoint rate-limit knowledge and pacing decisions."""
        return self._quota_for(self.config, shared=True)

    @cached_property
    def session(self) -> requests.Session:
        """The HTTP session: JSON, no caching, authentication header, TLS verification on."""
        import requests

        session = requests.Session()
        session.headers.update(api_call.request_headers(self.config))
        session.verify = True
        return session

    def get_conn(self) -> requests.Session:
        """The authenticated ``requests.Session`` (what ``BaseHook`` calls the connection)."""
        return self.session

    def request(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        retry_safe: bool = True,
        max_retries: int | None = None,
    ) -> Any:
        """Send one request to ``{base_url}/{endpoint}`` and return the decoded JSON body.

        ``retry_safe=False`` marks a request that creates something Apollo never
        deduplicates (tasks, deals): it is only retried when the server cannot have acted on
        it (429, connection refused); otherwise ``ApolloAmbiguousWriteError``.

        :param method: HTTP method.
        :param endpoint: endpoint path relative to ``/api/v1`` (e.g. ``contacts/search``).
        :param params: query parameters (never the API key).
        :param json: JSON body (never the API key).
        :param retry_safe: sending it twice cannot create a duplicate (reads, updates,
            creates Apollo deduplicates); ``False`` for a create it never deduplicates.
        :param max_retries: overrides the connection's retry budget for this call.
        :raises ApolloError: a subclass per failure kind (see ``exceptions.py``).
        """
        call = api_call.prepare_call(method, endpoint, params, json, unsafe_write=not retry_safe)
        return self._with_retries(call, max_retries, lambda: self._do_api_call(call))

    def _request_charged(
        self,
        method: str,
        endpoint: str,
        *,
        json: Mapping[str, Any],
        budget: CreditBudget,
        worst_case: float,
        reserved: bool = False,
    ) -> Any:
        """:meth:`request` for a call that costs credits, within ``budget``.

        Each attempt first reserves ``worst_case`` in ``budget``, and an attempt whose answer
        is lost counts as charged. The caller settles the last reservation with what the
        answer reports.

        :param worst_case: the most credits one attempt can cost.
        :param reserved: the caller already reserved ``worst_case`` for the first attempt.
        :raises ApolloBudgetExceededError: another attempt could exceed the budget.
        """
        call = api_call.prepare_call(method, endpoint, None, json, unsafe_write=False)
        prepaid = [reserved]  # only the first attempt can use the caller's reservation

        def attempt() -> Any:
            first, prepaid[0] = prepaid[0], False
            return self._do_charged_call(call, budget, worst_case, prepaid=first)

        return self._with_retries(call, None, attempt)

    def _with_retries(
        self, call: api_call.ApiCall, max_retries: int | None, attempt: Callable[[], Any]
    ) -> Any:
        return call_with_retries(
            attempt,
            policy=self._retry_policy(self.config, max_retries),
            sleep=self._sleep,
            description=call.where,
            log=self.log,
        )

    def _do_api_call(self, call: api_call.ApiCall) -> Any:
        """Send ``call`` once: wait for admission (quota, requests in flight), send, read the answer."""
        config, quota = self.config, self.quota
        while (admission := self._admission_wait(quota, call)).wait > 0:
            if admission.for_answer:
                with self._answer_arrived:
                    self._answer_arrived.wait(admission.wait)
            else:
                self._sleep(admission.wait)
        try:
            return self._send(call, config, quota)
        finally:
            self._answered(call)

    def _do_charged_call(
        self, call: api_call.ApiCall, budget: CreditBudget, worst_case: float, *, prepaid: bool
    ) -> Any:
        """One attempt at a paid call, its worst case reserved first (see :class:`CreditBudget`)."""
        if not prepaid and not budget.reserve(worst_case):
            raise ApolloBudgetExceededError(
                f"Sending {call.where} again could cost up to {worst_case:g} more credits and exceed "
                f"the budget of {budget.limit:g} (so far {budget.describe()}): not sent. Raise "
                "max_credits, or run the task again later for the people left out.",
                endpoint=call.path,
            )
        try:
            return self._do_api_call(call)
        except ApolloError as error:
            (budget.lose if api_call.may_have_acted(error) else budget.release)(worst_case)
            raise

    def _send(self, call: api_call.ApiCall, config: ApolloConnectionConfig, quota: QuotaTracker) -> Any:
        import requests

        self._count_request()
        self.log.debug("Apollo request: %s", call.where)
        try:
            response = self.session.request(
                call.method,
                f"{config.base_url}/{call.path}",
                params=call.params,
                json=call.json,
                timeout=config.timeout,
                allow_redirects=False,  # a redirect would carry X-Api-Key to whatever host it names
            )
        except requests.exceptions.RequestException as exc:
            quota.release(call.template)
            raise api_call.network_error(call, _failure_of(exc), config) from None
        return api_call.read_answer(call, response, config=config, quota=quota)

    def _iter_pages(self, query: PagedQuery) -> Iterator[dict[str, Any]]:
        """Every record of a paged search, one request per page (credits per page counted)."""

        def fetch(page: int) -> Any:
            params, body = query.request_for(page)
            answer = self.request(query.method, query.path, params=params, json=body)
            self._add_credits(query.credits_per_page)
            return answer

        yield from iter_records(fetch, query, on_page=self._page_logger(query.path, query.what))
