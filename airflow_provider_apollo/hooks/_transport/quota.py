"""The pacing decisions, from what Apollo's rate-limit headers said (``rate_limit_headers.py``).

Pacing (:class:`QuotaTracker`), per endpoint path template:

* a window known to be closed (a 429 told us until when) -> wait until it reopens;
* a window whose requests-left reached 0 with no known reopening time -> let exactly one
  request through as a probe: its 429 ``Retry-After`` says when the window reopens, so at
  most one 429 is provoked per window instead of a storm;
* a wait longer than ``max_quota_wait`` -> fail fast with ``ApolloQuotaExhaustedError``
  naming the window and when it should reopen, as does an hourly/daily 429 without
  ``Retry-After`` (waiting blindly for hours would only block a worker).

* requests in flight count against the requests left: a window whose count minus the
  requests in flight reached 0 admits nothing until an answer brings a fresher count (and,
  once nothing is in flight, one probe).

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

import contextvars
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

from airflow_provider_apollo.exceptions import (
    ApolloQuotaExhaustedError,
    ApolloQuotaFloorReached,
    ApolloQuotaStoreUnavailableError,
)
from airflow_provider_apollo.hooks._transport.quota_batch import (
    BLOCK_SECONDS,
    Block,
    new_block_lease,
    room_for_block,
)
from airflow_provider_apollo.hooks._transport.quota_store import (
    EndpointRecord,
    Lease,
    MemoryQuotaStore,
    QuotaStore,
    QuotaStoreError,
)
from airflow_provider_apollo.hooks._transport.rate_limit_headers import (
    WINDOWS,
    QuotaStatus,
    WindowQuota,
    parse_rate_limit_headers,
)

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
Priority = Literal["low", "normal"]
PRIORITIES: tuple[str, ...] = ("low", "normal")


# Arrive a little after the reopening instant: client and server clocks tick apart.
REOPEN_MARGIN_SECONDS = 0.05
#: The longest an hour or day window can stay closed, when a 429 does not say.
_LONGEST_WAIT = {"hour": 3600.0, "day": 86400.0}
# How long a caller waits before re-checking while requests in flight may bring fresher counts.
PROBE_POLL_SECONDS = 0.05
# How long a probe answered "0 left" still blocks a second probe if its 429 is never read.
ANSWERED_PROBE_HOLD_SECONDS = 1.0


@dataclass(frozen=True)
class PacingDecision:
    """What to do before sending the next request to an endpoint.

    :param wait: seconds to sleep, then ask again (0: send now; the request holds a slot).
    :param window: the window that imposes the wait or the probe (``None``: none yet known,
        e.g. the first request to an endpoint waits for another one's answer).
    :param probe: this request is the one probe of a window whose reopening is unknown.
    """

    wait: float = 0.0
    window: str | None = None
    probe: bool = False


@dataclass(frozen=True)
class _Ticket:
    """The lease of the request a thread (or asyncio task) has in flight through one tracker.

    :param endpoint: the request's path template.
    :param lease_id: its lease in the store.
    :param probe: it is the probe of an exhausted window.
    :param answered: its answer said a window is exhausted; the 429 reading may follow, so the
        lease still holds (no second probe in between) until the next call of this thread.
    :param batched: admitted from a block (``quota_batch.py``): ``lease_id`` is the block's.
    """

    endpoint: str
    lease_id: str
    probe: bool
    answered: bool = False
    batched: bool = False


# plan() and observe() of one request run in one thread or one asyncio task: the context
# carries which lease the answer ends, even when several requests of one hook are in flight.
_TICKETS: contextvars.ContextVar[dict[str, _Ticket]] = contextvars.ContextVar("apollo_quota_tickets")


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
        self._open_blocks: dict[str, Block] = {}
        self._blocks: dict[str, Block] = {}
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
                elif quota.left > window.left + max(in_flight, 1):
                    # More left than out-of-order answers can explain: the window was reset.
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
                if name in _LONGEST_WAIT:
                    # Closed for at most the window's length: remembered so that every request
                    # of every process fails fast too, instead of probing the window again.
                    closed = record.window(name)
                    closed.left = 0
                    closed.reopen_at = max(now + _LONGEST_WAIT[name], closed.reopen_at or 0.0)
                return
            closed = record.window(name)
            closed.left = 0
            reopen = now + retry_after
            closed.reopen_at = max(reopen, closed.reopen_at or reopen)

        # Stored even when it is too far away: the other processes then fail fast without a 429.
        self._update_after_answer(endpoint, learn)
        self._forget_if_settled(block)
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
        with self._lock:
            block = self._open_blocks.get(endpoint)
            if block is not None and stale is None and block.admit(self._clock()):
                self._set_ticket(
                    _Ticket(endpoint=endpoint, lease_id=block.lease_id, probe=False, batched=True)
                )
                return PacingDecision()
            if block is not None and block.closed:
                closing = self._open_blocks.pop(endpoint)
        granted: list[_Ticket] = []
        too_long: list[tuple[str, float]] = []
        floored: list[tuple[str, int, float]] = []

        def decide(record: EndpointRecord, now: float) -> PacingDecision:
            del granted[:], too_long[:], floored[:]  # a store may run this more than once
            self._end_lease(record, stale)
            if closing is not None:
                closing.settle(record, now, self._store.lease_seconds)
            record.drop_expired_leases(now)
            in_flight = record.in_flight()
            wait, wait_window, full_window = 0.0, None, None
            for name in WINDOWS:
                known = record.windows.get(name)
                if known is None:
                    continue
                if known.reopen_at is not None:
                    if known.reopen_at > now:
                        if known.reopen_at - now > wait:
                            wait, wait_window = known.reopen_at - now, name
                        continue
                    # Reopened: the old count no longer holds, the new window has its whole limit.
                    known.reopen_at, known.left = None, known.limit
                if known.left is not None and known.left - in_flight <= 0 and full_window is None:
                    full_window = name
            if wait_window is not None:
                if wait > self.max_quota_wait:
                    too_long.append((wait_window, wait))
                return PacingDecision(wait=wait + REOPEN_MARGIN_SECONDS, window=wait_window)
            floors = self._floors(record)
            for name, floor in floors.items():
                left = record.windows[name].left
                if left is not None and left - in_flight - 1 < floor:
                    floored.append((name, left - in_flight, floor))
                    return PacingDecision(window=name)
            if not record.windows and in_flight:
                # Nothing known of this endpoint yet: the first answer tells its limits; a burst
                # before it could overrun a window by as many requests as are sent at once.
                return PacingDecision(wait=PROBE_POLL_SECONDS)
            if full_window is not None and in_flight:
                # Requests in flight will report fresher counts (or the 429 that says when).
                return PacingDecision(wait=PROBE_POLL_SECONDS, window=full_window)
            probe = full_window is not None
            lease_id = f"{self._token}-{next(self._lease_numbers)}"
            if (
                not probe
                and self._store.shared
                and room_for_block(record, slots=self._batch, in_flight=in_flight, floors=floors)
            ):
                record.leases[lease_id] = new_block_lease(now, self._store.lease_seconds, self._batch)
                granted.append(_Ticket(endpoint=endpoint, lease_id=lease_id, probe=False, batched=True))
                return PacingDecision()
            record.leases[lease_id] = Lease(expires_at=now + self._store.lease_seconds, probe=probe)
            granted.append(_Ticket(endpoint=endpoint, lease_id=lease_id, probe=probe))
            return PacingDecision(window=full_window, probe=probe)

        decision = self._update(endpoint, decide)
        self._forget_if_settled(closing)
        if stale is not None:
            self._set_ticket(None)
        if granted:
            self._set_ticket(granted[-1])
            if granted[-1].batched:
                opened = Block(
                    lease_id=granted[-1].lease_id,
                    slots=self._batch,
                    usable_until=self._clock() + BLOCK_SECONDS,
                )
                with self._lock:
                    self._open_blocks[endpoint] = self._blocks[opened.lease_id] = opened
        for window, wait in too_long:
            raise self._exhausted(endpoint, window, wait)
        for window, left, floor in floored:
            raise self._floor_reached(endpoint, window, left, floor)
        return decision

    # ---------------------------------------------------------------- priorities
    def _floors(self, record: EndpointRecord) -> dict[str, float]:
        """Per window with a reserve and a known limit: the requests this tracker must leave."""
        floors: dict[str, float] = {}
        for name, share in self._reserve.items():
            known = record.windows.get(name)
            if known is not None and known.limit:
                floors[name] = share * known.limit
        return floors

    def _floor_reached(self, endpoint: str, window: str, left: int, floor: float) -> ApolloQuotaFloorReached:
        within = _LONGEST_WAIT.get(window, 60.0)
        return ApolloQuotaFloorReached(
            f"Low-priority work stops here: {endpoint} has {max(left, 0)} requests left in its {window} "
            f"window and the connection extra 'quota_reserve' keeps {floor:.0f} of them for normal-priority "
            f"tasks. The window reopens within {_human_seconds(within)}; run this task again then (an "
            "operator that can resume starts where it stopped), or lower quota_reserve.",
            endpoint=endpoint,
            retry_after=within,
            window=window,
            left=max(left, 0),
            floor=floor,
        )

    # ---------------------------------------------------------------- blocks of admissions
    def _block_answered(
        self,
        endpoint: str,
        ticket: _Ticket | None,
        windows: Mapping[str, WindowQuota] | None,
        *,
        close: bool = False,
        settle: bool = True,
    ) -> Block | None:
        """Count an answer (or failure) of a block's request; settle the block once it is done."""
        if ticket is None or not ticket.batched:
            return None
        with self._lock:
            block = self._blocks.get(ticket.lease_id)
            if block is None:
                return None
            block.learn(windows)
            block.closed = block.closed or close
            if block.closed and self._open_blocks.get(endpoint) is block:
                del self._open_blocks[endpoint]
            done = block.closed and block.outstanding <= 0
        if settle and done:
            self._update_after_answer(
                endpoint, lambda record, now: block.settle(record, now, self._store.lease_seconds)
            )
            self._forget_if_settled(block)
        return block

    def _forget_if_settled(self, block: Block | None) -> None:
        if block is not None and block.closed and block.outstanding <= 0:
            with self._lock:
                self._blocks.pop(block.lease_id, None)

    # ---------------------------------------------------------------- store and tickets
    def _update(self, endpoint: str, change: Callable[[EndpointRecord, float], _T]) -> _T:
        """Run ``change`` on ``endpoint``'s record in one atomic update (see ``fallback``)."""
        now = self._clock() + self._wall_offset
        try:
            return self._store.update(endpoint, change, now)
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
            with self._lock:
                self._open_blocks.clear()
                self._blocks.clear()
            return self._store.update(endpoint, change, now)

    def _update_after_answer(self, endpoint: str, change: Callable[[EndpointRecord, float], None]) -> None:
        """Like :meth:`_update` for what an answer taught: a store failure never loses the answer."""
        try:
            self._update(endpoint, change)
        except ApolloQuotaStoreUnavailableError as exc:
            # The request was sent and answered: its result matters more than the bookkeeping.
            # Its lease expires by itself; the next request is refused until the store is back.
            _log.warning("%s", exc)

    def _end_lease(self, record: EndpointRecord, ticket: _Ticket | None, *, answer: bool = False) -> None:
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

    def _ticket(self) -> _Ticket | None:
        return _TICKETS.get({}).get(self._token)

    def _set_ticket(self, ticket: _Ticket | None) -> None:
        tickets = dict(_TICKETS.get({}))  # a new dict: contexts copied from this one keep theirs
        if ticket is None:
            tickets.pop(self._token, None)
        else:
            tickets[self._token] = ticket
        _TICKETS.set(tickets)

    def _take_ticket(self, endpoint: str) -> _Ticket | None:
        ticket = self._ticket()
        if ticket is None or ticket.endpoint != endpoint:
            return None
        self._set_ticket(None)
        return ticket

    def _exhausted(self, endpoint: str, window: str, reopens_in: float | None) -> ApolloQuotaExhaustedError:
        return quota_exhausted_error(
            endpoint=endpoint, window=window, reopens_in=reopens_in, max_quota_wait=self.max_quota_wait
        )


def quota_exhausted_error(
    *, endpoint: str, window: str, reopens_in: float | None, max_quota_wait: float
) -> ApolloQuotaExhaustedError:
    """The fail-fast error for a window that will not reopen within ``max_quota_wait``.

    :param endpoint: the endpoint path template.
    :param window: ``minute``, ``hour`` or ``day``.
    :param reopens_in: seconds until it should reopen, when known.
    :param max_quota_wait: the configured patience, for the message.
    """
    if reopens_in is None:
        when = f"Apollo did not say when it reopens (at most one {window} away)"
    else:
        when = f"it should reopen in about {_human_seconds(reopens_in)}"
    return ApolloQuotaExhaustedError(
        f"Apollo's per-{window} quota for {endpoint} is used up and {when}. Waiting longer than "
        f"max_quota_wait={max_quota_wait:g} s would only block a worker: retry the task later, "
        "spread the load over the day, or raise the connection extra 'max_quota_wait'.",
        endpoint=endpoint,
        retry_after=reopens_in,
        window=window,
    )


def _human_seconds(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
