"""Admissions in blocks: one shared-store round trip for many requests while plenty is left.

Asking a shared store (SQLite, Redis) before and after every request costs two round trips
per call, which on a fast endpoint is a good part of the call itself. While every known
window has far more requests left than are in flight, a tracker takes a **block** of
``quota_batch`` admissions in one store update: one lease that counts ``slots`` requests in
flight for every process. It then admits its requests from the block without the store, and
keeps the fewest requests left their answers reported. The next store update (the next block,
or the per-request path once the window is tight) writes those counts back and ends the block,
or, while some of its requests are still out, shrinks its lease to them.

Safety: a block is only granted when, with it counted, every window still has at least another
block's worth left above the floor (``quota_reserve`` for low-priority work), so admitting
from blocks can never send a window below what per-request admission would allow. A block is
used for at most ``BLOCK_SECONDS``: its lease (the request timeout plus a margin) then still
covers the last request it admitted. A window that turns out tight in an answer (a 429, or
fewer left than a block) closes the block at once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from airflow_provider_apollo.hooks._transport.quota_store import (
    LEASE_MARGIN_SECONDS,
    EndpointRecord,
    Lease,
)
from airflow_provider_apollo.hooks._transport.rate_limit_headers import WindowQuota

#: How long a block admits requests: its lease still covers a request sent at the end of it.
BLOCK_SECONDS = LEASE_MARGIN_SECONDS


@dataclass
class Block:
    """Admissions a tracker took from the store at once, and what their answers said.

    :param lease_id: the block's lease in the store.
    :param slots: requests the lease counts in flight.
    :param usable_until: the tracker's monotonic time after which it admits no more.
    :param taken: requests admitted from it so far.
    :param answered: of those, requests answered or failed.
    :param lowest_left: per window, the fewest requests left its answers reported.
    :param closed: admits no more (expired, used up, or a window got tight).
    """

    lease_id: str
    slots: int
    usable_until: float
    taken: int = 1
    answered: int = 0
    lowest_left: dict[str, int | None] = field(default_factory=dict)
    limits: dict[str, int | None] = field(default_factory=dict)
    closed: bool = False

    @property
    def outstanding(self) -> int:
        """Requests admitted from the block and not answered yet."""
        return self.taken - self.answered

    def admit(self, now: float) -> bool:
        """Take one admission if the block still has one (``now``: the tracker's monotonic time)."""
        if self.closed or self.taken >= self.slots or now >= self.usable_until:
            self.closed = True
            return False
        self.taken += 1
        return True

    def learn(self, windows: Mapping[str, WindowQuota] | None) -> None:
        """Keep what an answer of the block's said; close the block if a window got tight."""
        self.answered += 1
        if windows is None:
            return
        for name, quota in windows.items():
            self.limits[name] = quota.limit
            if quota.left is None:
                continue
            known = self.lowest_left.get(name)
            self.lowest_left[name] = quota.left if known is None else min(known, quota.left)
            if quota.left < 2 * self.slots:
                self.closed = True

    def settle(self, record: EndpointRecord, now: float, lease_seconds: float) -> None:
        """Write the counts back to ``record``; end the lease, or shrink it to the requests still out."""
        for name, left in self.lowest_left.items():
            window = record.window(name)
            window.limit = self.limits.get(name, window.limit)
            if left is not None and window.reopen_at is None:
                window.left = left if window.left is None else min(window.left, left)
        if self.outstanding <= 0:
            record.leases.pop(self.lease_id, None)
        elif self.lease_id in record.leases:
            lease = record.leases[self.lease_id]
            record.leases[self.lease_id] = replace(
                lease, slots=self.outstanding, expires_at=now + lease_seconds
            )


def room_for_block(
    record: EndpointRecord, *, slots: int, in_flight: int, floors: Mapping[str, float]
) -> bool:
    """Whether a block of ``slots`` leaves every window at least another block above its floor.

    :param record: the endpoint's record (windows known, none closed).
    :param slots: the block's size.
    :param in_flight: requests in flight in every process.
    :param floors: per window, the requests this tracker must leave (priority reserve).
    """
    if slots <= 1 or not record.windows:
        return False
    for name, window in record.windows.items():
        if window.reopen_at is not None:
            return False
        if window.left is None:
            continue
        if window.left - in_flight - slots < slots + floors.get(name, 0.0):
            return False
    return True


def new_block_lease(now: float, lease_seconds: float, slots: int) -> Lease:
    """The store lease of a block granted at ``now`` (store clock)."""
    return Lease(expires_at=now + lease_seconds, slots=slots)


class Blocks:
    """A tracker's blocks: the open one per endpoint, and every one whose lease still lives."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, Block] = {}
        self._live: dict[str, Block] = {}

    def __contains__(self, lease_id: object) -> bool:
        return lease_id in self._live

    def admit(self, endpoint: str, now: float) -> tuple[str | None, Block | None]:
        """A request to ``endpoint`` at ``now`` (monotonic): the block lease it was admitted on,
        or ``None`` and the block that just closed (to settle in the next store update)."""
        with self._lock:
            block = self._open.get(endpoint)
            if block is None:
                return None, None
            if block.admit(now):
                return block.lease_id, None
            del self._open[endpoint]
            return None, block

    def open(self, endpoint: str, lease_id: str, slots: int, usable_until: float) -> None:
        """Register the block the store just granted (its first admission already taken)."""
        with self._lock:
            self._open[endpoint] = self._live[lease_id] = Block(lease_id, slots, usable_until)

    def answered(
        self, endpoint: str, lease_id: str, windows: Mapping[str, WindowQuota] | None, *, close: bool
    ) -> tuple[Block | None, bool]:
        """Count an answer of the block ``lease_id``; the block, and whether it is done (to settle)."""
        with self._lock:
            block = self._live.get(lease_id)
            if block is None:
                return None, False
            block.learn(windows)
            block.closed = block.closed or close
            if block.closed and self._open.get(endpoint) is block:
                del self._open[endpoint]
            return block, block.closed and block.outstanding <= 0

    def forget_if_settled(self, block: Block | None) -> None:
        """Drop ``block`` once it is closed and every request it admitted was answered."""
        if block is not None and block.closed and block.outstanding <= 0:
            with self._lock:
                self._live.pop(block.lease_id, None)

    def clear(self) -> None:
        """Forget every block (the store they were leased in was given up)."""
        with self._lock:
            self._open.clear()
            self._live.clear()
