"""The pacing decisions, from what Apollo's rate-limit headers said (``rate_limit_headers.py``).

:class:`QuotaTracker` learns each endpoint's windows from the answers (and from a 429's
``Retry-After``) and decides, per request, with ``quota_admission.py``: wait for a closed window
to reopen, count requests in flight against the requests left, send one probe for a window at 0
(so at most one 429 per window), fail fast with ``ApolloQuotaExhaustedError`` when the wait would
exceed ``max_quota_wait`` or an hour/day 429 does not say when (waiting blindly for hours would
only block a worker).

What is learned lives in a store (``quota_store.py``): this process's memory, a SQLite
file shared by every process of the host that uses the same API key, or Redis shared by every
host (``quota_store_redis.py``), so that workers of one deployment pace together and a closed
window gets one probe, not one per process. With a shared store, admissions are taken in blocks
while plenty is left (``quota_batch.py``).

Priorities: a tracker of ``priority="low"`` leaves each window's ``reserve`` share (connection
extra ``quota_reserve``) to the others: it raises ``ApolloQuotaFloorReached`` rather than send
a request that would take the window below it.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Literal, TypeVar

from airflow_provider_apollo.exceptions import ApolloQuotaExhaustedError, ApolloQuotaStoreUnavailableError
from airflow_provider_apollo.hooks._transport.quota_admission import (
    REOPEN_MARGIN_SECONDS,
    Admission,
    PacingDecision,
    admit,
)
from airflow_provider_apollo.hooks._transport.quota_batch import BLOCK_SECONDS, Block, Blocks
from airflow_provider_apollo.hooks._transport.quota_errors import (
    LONGEST_WAIT,
    floor_reached_error,
    quota_exhausted_error,
)
from airflow_provider_apollo.hooks._transport.quota_store import (
    EndpointRecord,
    Lease,
    MemoryQuotaStore,
    QuotaStore,
    QuotaStoreError,
)
from airflow_provider_apollo.hooks._transport.quota_tickets import (
    Ticket,
    current_ticket,
    set_ticket,
    take_ticket,
)
from airflow_provider_apollo.hooks._transport.rate_limit_headers import (
    QuotaStatus,
    WindowQuota,
    parse_rate_limit_headers,
)

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
Priority = Literal["low", "normal"]
PRIORITIES: tuple[str, ...] = ("low", "normal")


# How long a probe answered "0 left" still blocks a second probe if its 429 is never read.
ANSWERED_PROBE_HOLD_SECONDS = 1.0


class QuotaTracker:
    """Thread-safe per-endpoint quota knowledge and pacing decisions (see module docstring).

    What it learns lives in a :class:`~airflow_provider_apollo.hooks._transport.quota_store.QuotaStore`: this
    process's memory by default, or a store shared by every process (of the host, or of every
    host) that uses the same API key
    (:func:`~airflow_provider_apollo.hooks._transport.quota_store_choice.quota_store_for`). A store
    that fails (unwritable, locked too long, unreachable) is replaced by memory with a warning when
    ``fallback`` allows it (pacing goes on per process); otherwise the request is not sent and
    ``ApolloQuotaStoreUnavailableError`` says what to check.

    :param max_quota_wait: longest wait (seconds) for a window before failing fast.
    :param clock: monotonic clock; injected so tests never really wait.
    :param store: where the windows and in-flight requests are kept; default this process.
    :param wall_clock: wall clock, read once to put ``clock`` on the wall-clock scale that
        processes sharing a store compare (their monotonic clocks differ).
    :param fallback: pace per process when the store fails (else raise before sending).
    :param priority: ``low`` leaves each window's ``reserve`` to normal-priority work.
    :param reserve: per window (``minute``, ``hour``, ``day``), the share low priority leaves.
    :param batch: admissions taken from a shared store at once while plenty is left (1: none).
    """

    def __init__(
        self,
        *,
        max_quota_wait: float,
        clock: Callable[[], float] = time.monotonic,
        store: QuotaStore | None = None,
        wall_clock: Callable[[], float] = time.time,
        fallback: bool = True,
        priority: Priority = "normal",
        reserve: Mapping[str, float] | None = None,
        batch: int = 1,
    ) -> None:
        if priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}, got {priority!r}")
        self.max_quota_wait = max_quota_wait
        self.priority: Priority = priority
        self._fallback = fallback
        self._reserve = dict(reserve or {}) if priority == "low" else {}
        self._batch = max(1, batch)
        # Blocks of admissions (quota_batch.py): the open one per endpoint, every live one by lease.
        self._blocks = Blocks()
        self._clock = clock
        self._wall_offset = wall_clock() - clock()
        self._store: QuotaStore = store if store is not None else MemoryQuotaStore()
        self._lock = threading.Lock()
        self._statuses: dict[str, QuotaStatus] = {}
        self._token = uuid.uuid4().hex
        self._lease_numbers = itertools.count()

    @property
    def store(self) -> QuotaStore:
        """Where this tracker keeps what it learns (a shared store, or this process's memory)."""
        return self._store

    def status(self, endpoint: str) -> QuotaStatus | None:
        """The last status this tracker saw for ``endpoint`` (a path template), if any."""
        with self._lock:
            return self._statuses.get(endpoint)

    def statuses(self) -> dict[str, QuotaStatus]:
        """The last status of every endpoint this tracker has seen so far."""
        with self._lock:
            return dict(self._statuses)

    def observe(self, endpoint: str, headers: Mapping[str, str]) -> QuotaStatus | None:
        """Record the rate-limit headers of an answer (any status) and end its lease.

        :param endpoint: path template of the request.
        :param headers: the answer's headers.
        """
        windows = parse_rate_limit_headers(headers)
        ticket = self._take_ticket(endpoint)
        exhausted = windows is not None and any(quota.exhausted for quota in windows.values())
        if ticket is not None and ticket.batched:
            self._block_answered(endpoint, ticket, windows, close=exhausted)
            return self._remember_status(endpoint, windows)
        # A probe whose answer says "0 left" is most likely a 429 whose Retry-After is read next:
        # until then its lease holds, or another process would probe the same closed window.
        holding = ticket is not None and ticket.probe and exhausted

        def learn(record: EndpointRecord, now: float) -> None:
            in_flight = record.in_flight()  # this request's lease included
            if holding and ticket is not None and ticket.lease_id in record.leases:
                hold_until = now + ANSWERED_PROBE_HOLD_SECONDS
                record.leases[ticket.lease_id] = Lease(expires_at=hold_until, probe=True)
            else:
                self._end_lease(record, ticket, answer=True)
            if windows is None:
                record.window("minute")  # answered without limits: the endpoint is known now
                return
            for name, quota in windows.items():
                window = record.window(name)
                window.limit = quota.limit
                if quota.left is None or window.left is None or (ticket is not None and ticket.probe):
                    # Nothing in flight beside a probe: its answer is the window's whole truth.
                    window.left = quota.left
                elif name != "minute" and quota.left > window.left and in_flight <= 1:
                    # An hour or day window with more left than before, and no other request out
                    # to answer out of order: it was reset (Apollo does not say when). A minute
                    # window is left to the probe, which learns its reset exactly.
                    window.left = quota.left
                else:
                    # Answers arrive out of order: the fewest left is the freshest count.
                    window.left = min(window.left, quota.left)

        self._update_after_answer(endpoint, learn)
        if holding and ticket is not None:
            self._set_ticket(replace(ticket, answered=True))
        return self._remember_status(endpoint, windows)

    def _remember_status(
        self, endpoint: str, windows: Mapping[str, WindowQuota] | None
    ) -> QuotaStatus | None:
        if windows is None:
            return self.status(endpoint)
        status = QuotaStatus(endpoint=endpoint, observed_at=self._clock(), **windows)
        with self._lock:
            self._statuses[endpoint] = status
        return status

    def release(self, endpoint: str) -> None:
        """End the lease of a request that got no answer (connection error), so others may go.

        :param endpoint: path template of the request.
        """
        ticket = self._take_ticket(endpoint)
        if ticket is not None and ticket.batched:
            self._block_answered(endpoint, ticket, None)
            return
        self._update_after_answer(endpoint, lambda record, now: self._end_lease(record, ticket))

    def observe_rate_limited(self, endpoint: str, *, window: str | None, retry_after: float | None) -> None:
        """Learn from a 429 when the window reopens, or fail fast when waiting cannot help.

        :param endpoint: path template of the request.
        :param window: the window Apollo's message names (``None``: not said, assume minute).
        :param retry_after: seconds from ``Retry-After`` (``None`` when absent).
        :raises ApolloQuotaExhaustedError: the hour/day window is closed for longer than
            ``max_quota_wait``, or for an unknown time.
        """
        name = window or "minute"
        ticket = self._take_ticket(endpoint)
        block = self._block_answered(endpoint, ticket, None, close=True, settle=False) if ticket else None

        def learn(record: EndpointRecord, now: float) -> None:
            if block is not None:
                block.settle(record, now, self._store.lease_seconds)
            else:
                self._end_lease(record, ticket)
            if retry_after is None:
                if name in LONGEST_WAIT:
                    # Closed for at most the window's length: remembered so that every request
                    # of every process fails fast too, instead of probing the window again.
                    closed = record.window(name)
                    closed.left = 0
                    closed.reopen_at = max(now + LONGEST_WAIT[name], closed.reopen_at or 0.0)
                return
            closed = record.window(name)
            closed.left = 0
            reopen = now + retry_after
            closed.reopen_at = max(reopen, closed.reopen_at or reopen)

        # Stored even when it is too far away: the other processes then fail fast without a 429.
        self._update_after_answer(endpoint, learn)
        self._blocks.forget_if_settled(block)
        if retry_after is None:
            if name in ("hour", "day"):
                raise self._exhausted(endpoint, name, None)
            return  # a minute window: the retry policy backs off
        if retry_after > self.max_quota_wait:
            raise self._exhausted(endpoint, name, retry_after)

    def plan(self, endpoint: str) -> PacingDecision:
        """Decide whether the next request to ``endpoint`` may go now; if so, lease it a slot.

        A request may go when no window is known to be closed and every window with a known
        count has more requests left than requests in flight (processes sharing the store
        count together). When a count reached 0, one request goes alone as the probe; the
        first request to an endpoint nothing is known of also goes alone. A low-priority
        tracker also leaves each window's reserve.

        A decision with a ``wait`` admits nothing: sleep that long, then ask again.

        :param endpoint: path template of the request.
        :raises ApolloQuotaExhaustedError: the wait would exceed ``max_quota_wait``.
        :raises ApolloQuotaFloorReached: a low-priority request would go below the reserve.
        :raises ApolloQuotaStoreUnavailableError: the shared store failed, no fallback asked.
        """
        ticket = self._ticket()
        stale = ticket if ticket is not None and ticket.answered else None
        closing: Block | None = None
        if stale is None:
            block_lease, closing = self._blocks.admit(endpoint, self._clock())
            if block_lease is not None:
                self._set_ticket(Ticket(endpoint=endpoint, lease_id=block_lease, probe=False, batched=True))
                return PacingDecision()
        lease_id = f"{self._token}-{next(self._lease_numbers)}"
        block_slots = self._batch if self._store.shared else 1

        def decide(record: EndpointRecord, now: float) -> Admission:
            self._end_lease(record, stale)
            if closing is not None:
                closing.settle(record, now, self._store.lease_seconds)
            return admit(
                record,
                now,
                lease_id=lease_id,
                lease_seconds=self._store.lease_seconds,
                max_wait=self.max_quota_wait,
                reserve=self._reserve,
                block_slots=block_slots,
            )

        admission = self._update(endpoint, decide)
        self._blocks.forget_if_settled(closing)
        if stale is not None:
            self._set_ticket(None)
        if admission.slots:
            batched = admission.slots > 1
            self._set_ticket(
                Ticket(endpoint=endpoint, lease_id=lease_id, probe=admission.decision.probe, batched=batched)
            )
            if batched:
                self._blocks.open(endpoint, lease_id, admission.slots, self._clock() + BLOCK_SECONDS)
        if admission.too_long and admission.decision.window is not None:
            raise self._exhausted(
                endpoint, admission.decision.window, admission.decision.wait - REOPEN_MARGIN_SECONDS
            )
        if admission.floor is not None:
            window, left, floor = admission.floor
            raise floor_reached_error(endpoint=endpoint, window=window, left=left, floor=floor)
        return admission.decision

    # ---------------------------------------------------------------- blocks of admissions
    def _block_answered(
        self,
        endpoint: str,
        ticket: Ticket | None,
        windows: Mapping[str, WindowQuota] | None,
        *,
        close: bool = False,
        settle: bool = True,
    ) -> Block | None:
        """Count an answer (or failure) of a block's request; settle the block once it is done."""
        if ticket is None or not ticket.batched:
            return None
        block, done = self._blocks.answered(endpoint, ticket.lease_id, windows, close=close)
        if block is not None and settle and done:
            self._update_after_answer(
                endpoint, lambda record, now: block.settle(record, now, self._store.lease_seconds)
            )
            self._blocks.forget_if_settled(block)
        return block

    # ---------------------------------------------------------------- store and tickets
    def _update(self, endpoint: str, change: Callable[[EndpointRecord, float], _T]) -> _T:
        """Run ``change`` on ``endpoint``'s record in one atomic update (see ``fallback``)."""
        try:
            return self._store.update(endpoint, change, self._wall_now)
        except QuotaStoreError as exc:
            if not self._fallback:
                raise ApolloQuotaStoreUnavailableError(
                    f"{exc}. The request was not sent. Fix the store and retry the task, or set the "
                    "connection extra 'quota_store_fallback' to \"process\" to pace each process alone "
                    "while the store is down (several hosts then share the quota blindly).",
                    endpoint=endpoint,
                ) from None
            _log.warning(
                "%s Pacing continues from this process's own knowledge; fix the store, or set the "
                "connection extra 'quota_store' to \"none\" to silence this.",
                exc,
            )
            self._store = MemoryQuotaStore(self._store.lease_seconds)
            self._blocks.clear()
            return self._store.update(endpoint, change, self._wall_now)

    def _wall_now(self) -> float:
        return self._clock() + self._wall_offset

    def _update_after_answer(self, endpoint: str, change: Callable[[EndpointRecord, float], None]) -> None:
        """Like :meth:`_update` for what an answer taught: a store failure never loses the answer."""
        try:
            self._update(endpoint, change)
        except ApolloQuotaStoreUnavailableError as exc:
            # The request was sent and answered: its result matters more than the bookkeeping.
            # Its lease expires by itself; the next request is refused until the store is back.
            _log.warning("%s", exc)

    def _end_lease(self, record: EndpointRecord, ticket: Ticket | None, *, answer: bool = False) -> None:
        if ticket is not None and ticket.batched:
            return  # a block's lease ends when the block is settled
        if ticket is not None:
            record.leases.pop(ticket.lease_id, None)
            return
        if not answer:
            return
        # No ticket (the answer is read in another thread or task than the one that planned):
        # end one of this tracker's leases, so the count of requests in flight stays right.
        mine = [
            lease_id
            for lease_id in record.leases
            if lease_id.startswith(f"{self._token}-") and lease_id not in self._blocks
        ]
        if mine:
            mine.sort(key=lambda lease_id: (record.leases[lease_id].probe, int(lease_id.rsplit("-", 1)[1])))
            del record.leases[mine[0]]

    def _ticket(self) -> Ticket | None:
        return current_ticket(self._token)

    def _set_ticket(self, ticket: Ticket | None) -> None:
        set_ticket(self._token, ticket)

    def _take_ticket(self, endpoint: str) -> Ticket | None:
        return take_ticket(self._token, endpoint)

    def _exhausted(self, endpoint: str, window: str, reopens_in: float | None) -> ApolloQuotaExhaustedError:
        return quota_exhausted_error(
            endpoint=endpoint, window=window, reopens_in=reopens_in, max_quota_wait=self.max_quota_wait
        )
