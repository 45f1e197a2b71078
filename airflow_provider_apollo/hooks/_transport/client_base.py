"""What the sync hook and the async (trigger) hook share: connection, quota, counters, pacing.

The two front doors differ only in how bytes move (``requests`` or ``httpx``) and how they
wait (``time.sleep`` or ``asyncio.sleep``). Everything else about a call is here or in
``api_call.py``, so a behaviour cannot differ between poking and deferring.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from airflow.providers.common.compat.sdk import BaseHook, mask_secret

from airflow_provider_apollo._api.endpoints import normalize_path, path_template
from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.hooks._transport.api_call import ApiCall
from airflow_provider_apollo.hooks._transport.connection import (
    ApolloConnectionConfig,
    ConnectionLike,
    read_connection,
)
from airflow_provider_apollo.hooks._transport.pagination import PageProgress
from airflow_provider_apollo.hooks._transport.quota import PRIORITIES, Priority, QuotaTracker
from airflow_provider_apollo.hooks._transport.quota_admission import PROBE_POLL_SECONDS
from airflow_provider_apollo.hooks._transport.quota_store_choice import quota_store_for
from airflow_provider_apollo.hooks._transport.rate_limit_headers import QuotaStatus
from airflow_provider_apollo.hooks._transport.retry import RetryPolicy


@dataclass(frozen=True)
class Admission:
    """What stands between a request and the wire.

    :param wait: seconds to wait before asking again (0: send now; it is counted in flight).
    :param for_answer: the wait is for one of this hook's requests in flight to be answered
        (a sync caller waits on the answer itself rather than sleeping).
    """

    wait: float
    for_answer: bool = False


class ApolloClientBase(BaseHook):
    """The state and decisions common to :class:`ApolloHook` and :class:`ApolloAsyncHook`.

    Test seams are attributes, not constructor arguments: ``_clock`` (monotonic clock the
    quota pacing reads; set it before the first request).

    :param apollo_conn_id: Airflow connection of type ``apollo``; the password is the API key.
    :param timeout: seconds per request; overrides the connection extra ``timeout`` (default 30).
    :param max_retries: retries for 429/5xx/connection errors; overrides extra ``max_retries`` (default 5).
    :param priority: the quota class of every call of this hook: ``"normal"``, or ``"low"`` for
        exports and backfills, which stop (``ApolloQuotaFloorReached``) where the connection extra
        ``quota_reserve`` keeps the rest of a window for normal-priority tasks.
    :param max_quota_wait: the longest wait (seconds) for a closed window in this process; lowers
        (never raises) the connection extra ``max_quota_wait``. Deferrable operators set it so a
        long wait raises ``ApolloQuotaExhaustedError`` and is spent in the triggerer instead.
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
        priority: Priority = "normal",
        max_quota_wait: float | None = None,
    ) -> None:
        super().__init__()
        if priority not in PRIORITIES:
            raise ApolloConfigurationError(
                f'priority must be one of {", ".join(map(repr, PRIORITIES))} ("low" for exports and '
                f"backfills that leave the connection's quota_reserve to others), got {priority!r}."
            )
        self.priority: Priority = priority
        self.apollo_conn_id = apollo_conn_id
        self._timeout_override = timeout
        self._max_retries_override = max_retries
        self._max_quota_wait_cap = max_quota_wait
        self._clock: Callable[[], float] = time.monotonic
        self._counters_lock = threading.Lock()
        self._requests_sent = 0
        self._credits_spent = 0.0
        self._quota: QuotaTracker | None = None
        # Threads waiting for one of this hook's requests to be answered wake up on this.
        self._answer_arrived = threading.Condition(self._counters_lock)
        self._init_seams()

    def _init_seams(self) -> None:
        """Set the front door's own waits and transport (test seams live in attributes)."""

    # ---------------------------------------------------------------- connection
    def _config_from(self, conn: ConnectionLike) -> ApolloConnectionConfig:
        """Validate the connection and register its key with the secrets masker."""
        config = read_connection(conn, timeout=self._timeout_override, max_retries=self._max_retries_override)
        # Masked in every log of this process (and, on a worker, by the supervisor) from now on.
        mask_secret(config.api_key)
        return config

    def _quota_for(self, config: ApolloConnectionConfig, *, shared: bool) -> QuotaTracker:
        """The quota tracker, created once; ``shared`` uses the host's store (extra ``quota_store``).

        The triggers' async hook paces alone: a store call is a short SQLite transaction (or a
        Redis round trip) that would block the triggerer's event loop, and a trigger polls a few
        times an hour. It keeps its priority and reserve all the same.
        """
        if self._quota is None:
            store = None
            if shared:
                store = quota_store_for(config.api_key, config.quota_store, timeout=config.timeout)
            self._quota = QuotaTracker(
                max_quota_wait=self._max_quota_wait(config),
                clock=self._clock,
                store=store,
                fallback=config.quota_store_fallback,
                priority=self.priority,
                reserve=config.quota_reserve,
                batch=config.quota_batch,
            )
        return self._quota

    def _max_quota_wait(self, config: ApolloConnectionConfig) -> float:
        """The connection's ``max_quota_wait``, lowered by the constructor's cap when one is given."""
        if self._max_quota_wait_cap is None:
            return config.max_quota_wait
        return min(config.max_quota_wait, self._max_quota_wait_cap)

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

    def _admission_wait(self, quota: QuotaTracker, call: ApiCall) -> Admission:
        """Whether ``call`` may be sent now (the tracker then counts it in flight), or what to wait for.

        The quota tracker admits a request only while the windows have more requests left than
        are in flight (in every process sharing its store), one alone before the first answer
        told the windows, and one probe for a window at 0: concurrency never provokes a 429.
        """
        decision = quota.plan(call.template)
        if decision.wait <= 0:
            if decision.probe:
                self.log.info(
                    "%s: the %s window reported 0 requests left; sending one request to learn when it "
                    "reopens.",
                    call.template,
                    decision.window,
                )
            return Admission(wait=0.0)
        if decision.wait <= PROBE_POLL_SECONDS:
            # Waiting for requests in flight to be answered (fresher counts, or the probe's 429).
            return Admission(wait=decision.wait, for_answer=True)
        self.log.info(
            "%s: the %s window is closed; waiting %.1f s for it to reopen.",
            call.template,
            decision.window,
            decision.wait,
        )
        return Admission(wait=decision.wait)

    def _answered(self, call: ApiCall) -> None:
        """``call`` was answered or failed: wake this hook's requests waiting for room."""
        with self._answer_arrived:
            self._answer_arrived.notify_all()

    @staticmethod
    def _retry_policy(config: ApolloConnectionConfig, max_retries: int | None) -> RetryPolicy:
        return RetryPolicy(max_retries=config.max_retries if max_retries is None else max_retries)

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
