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

What is learned lives in a store (``quota_store.py``): this process's memory, or a SQLite
file shared by every process of the host that uses the same API key, so that workers of one
deployment pace together and a closed window gets one probe, not one per process.
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
from typing import TypeVar

from airflow_provider_apollo.exceptions import ApolloQuotaExhaustedError
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
    parse_rate_limit_headers,
)

_log = logging.getLogger(__name__)
_T = TypeVar("_T")


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
    """

    endpoint: str
    lease_id: str
    probe: bool
    answered: bool = False


# plan() and observe() of one request run in one thread or one asyncio task: the context
# carries which lease the answer ends, even when several requests of one hook are in flight.
_TICKETS: contextvars.ContextVar[dict[str, _Ticket]] = contextvars.ContextVar("apollo_quota_tickets")


def _scan_windows(record: EndpointRecord, now: float, in_flight: int) -> tuple[float, str | None, str | None]:
    """The longest wait for a closed window (and its name), and the first window with no request left.

    A window whose reopening time has passed is reopened in ``record`` on the way: the old count
    no longer holds, the new window has its whole limit.
    """
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
            known.reopen_at, known.left = None, known.limit
        if known.left is not None and known.left - in_flight <= 0 and full_window is None:
            full_window = name
    return wait, wait_window, full_window


class QuotaTracker:
    """Thread-safe per-endpoint quota knowledge and pacing decisions (see module docstring).

    What it learns lives in a :class:`~airflow_provider_apollo.hooks._transport.quota_store.QuotaStore`: this
    process's memory by default, or a store shared by every process of the host that uses the
    same API key (:func:`~airflow_provider_apollo.hooks._transport.quota_store.quota_store_for`). A store that
    fails (unwritable, locked too long) is replaced by memory, with a warning: pacing goes on
    per process rather than failing the task.

    :param max_quota_wait: longest wait (seconds) for a window before failing fast.
    :param clock: monotonic clock; injected so tests never really wait.
    :param store: where the windows and in-flight requests are kept; default this process.
    :param wall_clock: wall clock, read once to put ``clock`` on the wall-clock scale that
        processes sharing a store compare (their monotonic clocks differ).
    """

    def __init__(
        self,
        *,
        max_quota_wait: float,
        clock: Callable[[], float] = time.monotonic,
        store: QuotaStore | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_quota_wait = max_quota_wait
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
        # A probe whose answer says "0 left" is most likely a 429 whose Retry-After is read next:
        # until then its lease holds, or another process would probe the same closed window.
        holding = ticket is not None and ticket.probe and exhausted

        def learn(record: EndpointRecord, now: float) -> None:
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
                else:
                    # Answers arrive out of order: the fewest left is the freshest count.
                    window.left = min(window.left, quota.left)

        self._update(endpoint, learn)
        if holding and ticket is not None:
            self._set_ticket(replace(ticket, answered=True))
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
        self._update(endpoint, lambda record, now: self._end_lease(record, ticket))

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

        def learn(record: EndpointRecord, now: float) -> None:
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
        self._update(endpoint, learn)
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
        first request to an endpoint nothing is known of also goes alone.

        A decision with a ``wait`` admits nothing: sleep that long, then ask again.

        :param endpoint: path template of the request.
        :raises ApolloQuotaExhaustedError: the wait would exceed ``max_quota_wait``.
        """
        ticket = self._ticket()
        stale = ticket if ticket is not None and ticket.answered else None
        granted: list[_Ticket] = []
        too_long: list[tuple[str, float]] = []

        def decide(record: EndpointRecord, now: float) -> PacingDecision:
            self._end_lease(record, stale)
            record.drop_expired_leases(now)
            in_flight = len(record.leases)
            wait, wait_window, full_window = _scan_windows(record, now, in_flight)
            if wait_window is not None:
                if wait > self.max_quota_wait:
                    too_long.append((wait_window, wait))
                return PacingDecision(wait=wait + REOPEN_MARGIN_SECONDS, window=wait_window)
            if not record.windows and in_flight:
                # Nothing known of this endpoint yet: the first answer tells its limits; a burst
                # before it could overrun a window by as many requests as are sent at once.
                return PacingDecision(wait=PROBE_POLL_SECONDS)
            if full_window is not None and in_flight:
                # Requests in flight will report fresher counts (or the 429 that says when).
                return PacingDecision(wait=PROBE_POLL_SECONDS, window=full_window)
            probe = full_window is not None
            lease_id = f"{self._token}-{next(self._lease_numbers)}"
            record.leases[lease_id] = Lease(expires_at=now + self._store.lease_seconds, probe=probe)
            granted.append(_Ticket(endpoint=endpoint, lease_id=lease_id, probe=probe))
            return PacingDecision(window=full_window, probe=probe)

        decision = self._update(endpoint, decide)
        if stale is not None:
            self._set_ticket(None)
        if granted:
            self._set_ticket(granted[-1])
        for window, wait in too_long:
            raise self._exhausted(endpoint, window, wait)
        return decision

    # ---------------------------------------------------------------- store and tickets
    def _update(self, endpoint: str, change: Callable[[EndpointRecord, float], _T]) -> _T:
        """Run ``change`` on ``endpoint``'s record in one transaction; memory if the store fails."""
        try:
            with self._store.transaction(endpoint) as record:
                return change(record, self._clock() + self._wall_offset)
        except QuotaStoreError as exc:
            _log.warning(
                "%s Pacing continues from this process's own knowledge; set the connection extra "
                "'quota_store' to a writable directory, or to \"none\" to silence this.",
                exc,
            )
            self._store = MemoryQuotaStore(self._store.lease_seconds)
            with self._store.transaction(endpoint) as record:
                return change(record, self._clock() + self._wall_offset)

    def _end_lease(self, record: EndpointRecord, ticket: _Ticket | None, *, answer: bool = False) -> None:
        if ticket is not None:
            record.leases.pop(ticket.lease_id, None)
            return
        if not answer:
            return
        # No ticket (the answer is read in another thread or task than the one that planned):
        # end one of this tracker's leases, so the count of requests in flight stays right.
        mine = [lease_id for lease_id in record.leases if lease_id.startswith(f"{self._token}-")]
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
