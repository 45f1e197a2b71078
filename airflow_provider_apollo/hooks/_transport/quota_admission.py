"""Whether the next request to an endpoint may go: a pure decision on the endpoint's record.

``QuotaTracker.plan`` runs :func:`admit` inside one atomic store update, so every process
sharing the store decides on the same record and its lease is counted at once.

* a window known to be closed -> wait until it reopens (too long: the tracker fails fast);
* a low-priority request that would take a window below its reserve -> refused (the floor);
* nothing known of the endpoint yet and a request in flight -> wait for its answer;
* a window whose requests left minus those in flight reached 0 -> wait for answers in
  flight, or, with nothing in flight, let exactly one request through as the probe;
* otherwise a lease: one request, or a block of them while plenty is left (``quota_batch.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from airflow_provider_apollo.hooks._transport.quota_batch import new_block_lease, room_for_block
from airflow_provider_apollo.hooks._transport.quota_store import EndpointRecord, Lease
from airflow_provider_apollo.hooks._transport.rate_limit_headers import WINDOWS

# Arrive a little after the reopening instant: client and server clocks tick apart.
REOPEN_MARGIN_SECONDS = 0.05
# How long a caller waits before re-checking while requests in flight may bring fresher counts.
PROBE_POLL_SECONDS = 0.05


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
class Admission:
    """The decision, and what it granted or why it refused.

    :param decision: what the caller does now.
    :param slots: requests the granted lease counts (0: nothing granted; >1: a block).
    :param too_long: the closed window's wait exceeds the caller's patience.
    :param floor: the window whose reserve a low-priority request would break, with the
        requests it has left (those in flight deducted) and the requests the reserve keeps.
    """

    decision: PacingDecision
    slots: int = 0
    too_long: bool = False
    floor: tuple[str, int, float] | None = None


def floors_of(record: EndpointRecord, reserve: Mapping[str, float]) -> dict[str, float]:
    """Per window with a reserve and a known limit: the requests a low-priority caller leaves."""
    floors: dict[str, float] = {}
    for name, share in reserve.items():
        known = record.windows.get(name)
        if known is not None and known.limit:
            floors[name] = share * known.limit
    return floors


def scan_windows(record: EndpointRecord, now: float, in_flight: int) -> tuple[float, str | None, str | None]:
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


def admit(
    record: EndpointRecord,
    now: float,
    *,
    lease_id: str,
    lease_seconds: float,
    max_wait: float,
    reserve: Mapping[str, float],
    block_slots: int,
) -> Admission:
    """Decide on ``record`` at ``now`` (store clock); on admission, add the lease ``lease_id``.

    :param record: the endpoint's record, changed in place (reopened windows, the new lease).
    :param now: the store's clock.
    :param lease_id: the id of the lease to grant.
    :param lease_seconds: how long the lease counts without its answer.
    :param max_wait: the longest wait for a closed window before failing fast.
    :param reserve: per window, the share to leave (empty for normal priority).
    :param block_slots: slots of a block to grant while plenty is left (1: never a block).
    """
    record.drop_expired_leases(now)
    in_flight = record.in_flight()
    wait, wait_window, full_window = scan_windows(record, now, in_flight)
    if wait_window is not None:
        decision = PacingDecision(wait=wait + REOPEN_MARGIN_SECONDS, window=wait_window)
        return Admission(decision, too_long=wait > max_wait)
    floors = floors_of(record, reserve)
    for name, floor in floors.items():
        left = record.windows[name].left
        if left is not None and left - in_flight - 1 < floor:
            return Admission(PacingDecision(window=name), floor=(name, left - in_flight, floor))
    if not record.windows and in_flight:
        # Nothing known of this endpoint yet: the first answer tells its limits; a burst
        # before it could overrun a window by as many requests as are sent at once.
        return Admission(PacingDecision(wait=PROBE_POLL_SECONDS))
    if full_window is not None and in_flight:
        # Requests in flight will report fresher counts (or the 429 that says when).
        return Admission(PacingDecision(wait=PROBE_POLL_SECONDS, window=full_window))
    probe = full_window is not None
    if not probe and room_for_block(record, slots=block_slots, in_flight=in_flight, floors=floors):
        record.leases[lease_id] = new_block_lease(now, lease_seconds, block_slots)
        return Admission(PacingDecision(), slots=block_slots)
    record.leases[lease_id] = Lease(expires_at=now + lease_seconds, probe=probe)
    return Admission(PacingDecision(window=full_window, probe=probe), slots=1)
