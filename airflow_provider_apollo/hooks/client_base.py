"""What the sync hook and the async (trigger) hook share: connection, quota, counters, pacing.

The two front doors differ only in how bytes move (``requests`` or ``httpx``) and how they
wait (``time.sleep`` or ``asyncio.sleep``). Everything else about a call is here or in
``api_call.py``, so a behaviour cannot differ between poking and deferring.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from airflow.sdk import BaseHook

from airflow_provider_apollo.connection import ApolloConnectionConfig, ConnectionLike, read_connection
from airflow_provider_apollo.endpoints import normalize_path, path_template
from airflow_provider_apollo.hooks.api_call import ApiCall
from airflow_provider_apollo.pagination import PageProgress
from airflow_provider_apollo.quota import QuotaStatus, QuotaTracker
from airflow_provider_apollo.retry import RetryPolicy


def _mask(secret: str) -> None:
    """Register the key with Airflow's secrets masker, so no task or trigger log shows it."""
    from airflow.sdk.log import mask_secret

    mask_secret(secret)


class ApolloClientBase(BaseHook):
    """The state and decisions common to :class:`ApolloHook` and :class:`ApolloAsyncHook`.

    Test seams are attributes, not constructor arguments: ``_clock`` (monotonic clock the
    quota pacing reads; set it before the first request).

    :param apollo_conn_id: Airflow connection of type ``apollo``; the password is the API key.
    :param timeout: seconds per request; overrides the connection extra ``timeout`` (default 30).
    :param max_retries: retries for 429/5xx/connection errors; overrides extra ``max_retries`` (default 5).
    """

    conn_name_attr = "apollo_conn_id"
    default_conn_name = "apollo_default"
    conn_type = "apollo"
    hook_name = "Apollo"

    def __init__(
        self,
        apollo_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> None:
        super().__init__()
        self.apollo_conn_id = apollo_conn_id
        self._timeout_override = timeout
        self._max_retries_override = max_retries
        self._clock: Callable[[], float] = time.monotonic
        self._counters_lock = threading.Lock()
        self._requests_sent = 0
        self._credits_spent = 0.0
        self._quota: QuotaTracker | None = None
        self._init_seams()

    def _init_seams(self) -> None:
        """Set the front door's own waits and transport (test seams live in attributes)."""

    # ---------------------------------------------------------------- connection
    def _config_from(self, conn: ConnectionLike) -> ApolloConnectionConfig:
        """Validate the connection and register its key with the secrets masker."""
        config = read_connection(conn, timeout=self._timeout_override, max_retries=self._max_retries_override)
        _mask(config.api_key)
        return config

    def _quota_for(self, config: ApolloConnectionConfig) -> QuotaTracker:
        if self._quota is None:
            self._quota = QuotaTracker(max_quota_wait=config.max_quota_wait, clock=self._clock)
        return self._quota

    # ------------------------------------------------------------------ counters
    @property
    def credits_spent(self) -> float:
        """Credits this hook instance has spent so far (from Apollo's answers)."""
        return self._credits_spent

    @property
    def requests_sent(self) -> int:
        """HTTP requests this hook instance has sent so far, retries included."""
        return self._requests_sent

    def _add_credits(self, credits: float) -> None:
        with self._counters_lock:
            self._credits_spent += credits

    def _count_request(self) -> None:
        with self._counters_lock:
            self._requests_sent += 1

    # --------------------------------------------------------------------- quota
    def quota_status(self, endpoint: str) -> QuotaStatus | None:
        """Rate-limit status of ``endpoint`` (a path like ``people/bulk_match``) after its last answer.

        :param endpoint: endpoint path or template, relative to ``/api/v1``.
        """
        if self._quota is None:
            return None
        return self._quota.status(path_template(normalize_path(endpoint)))

    def _quota_text(self, endpoint: str) -> str:
        status = self.quota_status(endpoint)
        return status.describe() if status else "no quota reported yet"

    def _pacing_wait(self, quota: QuotaTracker, call: ApiCall) -> float:
        """Seconds to wait before sending ``call`` (0: now), logging why."""
        decision = quota.plan(call.template)
        if decision.wait > 0:
            self.log.info(
                "%s: the %s window is closed; waiting %.1f s for it to reopen.",
                call.template,
                decision.window,
                decision.wait,
            )
        elif decision.probe:
            self.log.info(
                "%s: the %s window reported 0 requests left; sending one request to learn when it reopens.",
                call.template,
                decision.window,
            )
        return decision.wait

    # --------------------------------------------------------------------- calls
    @staticmethod
    def _retry_policy(config: ApolloConnectionConfig, max_retries: int | None) -> RetryPolicy:
        # The pacer waits out a 429's Retry-After before the next attempt: the retry must not wait too.
        return RetryPolicy(
            max_retries=config.max_retries if max_retries is None else max_retries,
            pacer_waits_retry_after=True,
        )

    def _page_logger(self, template: str, what: str) -> Callable[[PageProgress], None]:
        def log_page(progress: PageProgress) -> None:
            pages = f"{progress.page}/{progress.total_pages}" if progress.total_pages else str(progress.page)
            total = f"/{progress.total_entries}" if progress.total_entries is not None else ""
            self.log.info(
                "%s: page %s — %d%s %s so far — %s",
                template,
                pages,
                progress.records_so_far,
                total,
                what,
                self._quota_text(template),
            )

        return log_page
