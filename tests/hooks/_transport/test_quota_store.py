"""One quota per key across processes: the shared SQLite store behind QuotaTracker (quota_store.py)."""

from __future__ import annotations

import contextvars
import logging
import math
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_apollo.exceptions import ApolloQuotaExhaustedError
from airflow_provider_apollo.hooks._transport.quota import QuotaTracker
from airflow_provider_apollo.hooks._transport.quota_store import SqliteQuotaStore, store_file_name
from tests._support import CANARY_KEY

ENDPOINT = "people/bulk_match"


class Clock:
    """A monotonic clock tests move by hand; ``start`` differs per "process" on purpose."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def tracker_on(store: SqliteQuotaStore, clock: Clock, *, wall_now: float = 1_000_000.0) -> QuotaTracker:
    """A tracker created at wall time ``wall_now``, whatever its monotonic clock reads then."""
    return QuotaTracker(max_quota_wait=900, clock=clock, store=store, wall_clock=lambda: wall_now)


def headers(left: int, limit: int = 30) -> dict[str, str]:
    return {"x-rate-limit-minute": str(limit), "x-minute-requests-left": str(left)}


def store_in(directory: Path, key: str = "some-key", lease_seconds: float = 35.0) -> SqliteQuotaStore:
    return SqliteQuotaStore.for_key(key, directory, lease_seconds=lease_seconds)


# ------------------------------------------------------------------ two trackers, one store


def test_a_window_closed_for_one_process_is_closed_for_the_other(tmp_path: Path) -> None:
    # Different monotonic clocks, as two processes have: the reopening is compared in wall time.
    first = tracker_on(store_in(tmp_path), Clock(start=50.0))
    second_clock = Clock(start=9_000.0)
    second = tracker_on(store_in(tmp_path), second_clock)
    assert first.plan(ENDPOINT).probe is False
    first.observe(ENDPOINT, headers(left=0))
    first.observe_rate_limited(ENDPOINT, window="minute", retry_after=40)

    decision = second.plan(ENDPOINT)
    assert decision.wait == pytest.approx(40.05) and decision.window == "minute"
    second_clock.now += 40.05
    assert second.plan(ENDPOINT).wait == 0  # reopened for both


def test_one_probe_for_a_window_both_processes_saw_exhausted(tmp_path: Path) -> None:
    first, second = tracker_on(store_in(tmp_path), Clock()), tracker_on(store_in(tmp_path), Clock())
    first.observe(ENDPOINT, headers(left=0))
    second.observe(ENDPOINT, headers(left=0))
    assert first.plan(ENDPOINT).probe
    waiting = second.plan(ENDPOINT)
    assert not waiting.probe and waiting.wait > 0  # the other process's probe is out


def test_requests_in_flight_in_any_process_count_against_the_requests_left(tmp_path: Path) -> None:
    first, second = tracker_on(store_in(tmp_path), Clock()), tracker_on(store_in(tmp_path), Clock())
    first.observe(ENDPOINT, headers(left=2))
    assert first.plan(ENDPOINT).wait == 0
    assert second.plan(ENDPOINT).wait == 0
    blocked = first.plan(ENDPOINT)  # 2 left, 2 in flight
    assert blocked.wait > 0 and not blocked.probe
    second.observe(ENDPOINT, headers(left=1))  # its answer: one request left, one still in flight
    assert first.plan(ENDPOINT).wait > 0
    first.observe(ENDPOINT, headers(left=1))  # the other one is back too (out of order: 1, not 0)
    assert first.plan(ENDPOINT).wait == 0


def test_an_hour_window_too_far_away_fails_the_other_process_without_a_request(tmp_path: Path) -> None:
    first, second = tracker_on(store_in(tmp_path), Clock()), tracker_on(store_in(tmp_path), Clock())
    first.plan(ENDPOINT)
    with pytest.raises(ApolloQuotaExhaustedError):
        first.observe_rate_limited(ENDPOINT, window="hour", retry_after=3000)
    with pytest.raises(ApolloQuotaExhaustedError, match="per-hour quota for people/bulk_match"):
        second.plan(ENDPOINT)


def test_an_unusable_store_falls_back_to_pacing_per_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the store's directory should be")
    tracker = tracker_on(store_in(blocker), Clock())
    with caplog.at_level(logging.WARNING, logger="airflow_provider_apollo.hooks._transport.quota"):
        tracker.observe(ENDPOINT, headers(left=0))
        assert tracker.plan(ENDPOINT).probe  # still paced, from this process's knowledge
    assert "shared quota store" in caplog.text and "quota_store" in caplog.text


def test_a_crashed_probers_probe_expires(tmp_path: Path) -> None:
    clock = Clock()
    store = store_in(tmp_path, lease_seconds=10)
    tracker_on(store, Clock()).observe(ENDPOINT, headers(left=0))
    context = multiprocessing.get_context("fork")
    prober = context.Process(target=_probe_then_crash, args=(tmp_path,))
    prober.start()
    prober.join(timeout=30)
    assert prober.exitcode == 17  # it planned its probe and died before any answer

    survivor = tracker_on(store, clock)
    waiting = survivor.plan(ENDPOINT)
    assert not waiting.probe and waiting.wait > 0  # the dead process's probe still holds
    clock.now += 10.01
    assert survivor.plan(ENDPOINT).probe  # expired: this process probes instead


def _probe_then_crash(directory: Path) -> None:
    tracker = tracker_on(store_in(directory, lease_seconds=10), Clock())
    os._exit(17 if tracker.plan(ENDPOINT).probe else 1)


# ------------------------------------------------------------------ the key stays off the disk


def test_the_key_never_appears_in_the_store(tmp_path: Path) -> None:
    store = SqliteQuotaStore.for_key(CANARY_KEY, tmp_path)
    tracker = tracker_on(store, Clock())
    for endpoint in (ENDPOINT, "contacts/search", "organizations/{id}/job_postings"):
        tracker.plan(endpoint)
        tracker.observe(endpoint, headers(left=0))
        tracker.plan(endpoint)
        tracker.observe_rate_limited(endpoint, window="minute", retry_after=12)
    files = list(tmp_path.rglob("*"))
    assert store.path in files and store.path.name == store_file_name(CANARY_KEY)
    for path in files:
        assert "canary" not in path.name.lower()
        content = path.read_bytes()
        for form in (CANARY_KEY, CANARY_KEY.lower(), "5e1f0c7a9b3d"):
            assert form.encode() not in content and form.encode("utf-16-le") not in content
    assert store_file_name(CANARY_KEY) != store_file_name(CANARY_KEY + "x")


# ------------------------------------------------------------------ two real processes, one window


class FakeWindow:
    """Apollo's fixed minute window in shared memory: ``limit`` calls per ``seconds``.

    :param context: the multiprocessing context whose processes share it.
    :param limit: calls per window.
    :param seconds: the window's length.
    """

    def __init__(self, context: Any, limit: int, seconds: float, windows: int) -> None:
        self.limit, self.seconds = limit, seconds
        self.origin = context.Value("d", time.time())
        self.lock = context.Lock()
        self.used = context.Array("i", windows + 50)
        self.refused = context.Array("i", windows + 50)

    def call(self) -> tuple[int, float | None]:
        """One request: (requests left, ``None``) or (0, seconds until the window reopens)."""
        with self.lock:
            elapsed = time.time() - self.origin.value
            index = math.floor(elapsed / self.seconds)
            if self.used[index] >= self.limit:
                self.refused[index] += 1
                return 0, (index + 1) * self.seconds - elapsed
            self.used[index] += 1
            return self.limit - self.used[index], None


def _send_through_tracker(directory: Path, window: FakeWindow, requests: int) -> None:
    """A worker process: ``requests`` calls, each paced by a tracker on the shared store."""
    tracker = QuotaTracker(max_quota_wait=60, store=store_in(directory, key=CANARY_KEY))
    done = 0
    while done < requests:
        decision = tracker.plan(ENDPOINT)
        if decision.wait > 0:
            time.sleep(decision.wait)
            continue
        left, reopens_in = window.call()
        tracker.observe(ENDPOINT, headers(left=left, limit=window.limit))
        if reopens_in is None:
            done += 1
        else:
            tracker.observe_rate_limited(ENDPOINT, window="minute", retry_after=reopens_in)
    os._exit(0)


@pytest.mark.slow  # a fresh interpreter (or server) starts: over a second
def test_two_processes_send_one_probe_per_closed_window(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    limit, requests_each, workers = 4, 14, 2
    window = FakeWindow(context, limit=limit, seconds=0.4, windows=(requests_each * workers) // limit)
    processes = [
        context.Process(target=_send_through_tracker, args=(tmp_path, window, requests_each))
        for _ in range(workers)
    ]
    window.origin.value = time.time()
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [process.exitcode for process in processes] == [0] * workers
    used, refused = list(window.used), list(window.refused)
    assert sum(used) == requests_each * workers
    assert sum(refused) >= 1  # windows did close while both processes wanted more
    assert max(refused) == 1, f"429s per window: {refused}"  # one probe per closed window, not one each


# ------------------------------------------------------------------ one process, several requests at once


def test_the_first_request_to_an_unknown_endpoint_goes_alone() -> None:
    tracker = QuotaTracker(max_quota_wait=900, clock=Clock())
    first = contextvars.copy_context().run(tracker.plan, ENDPOINT)
    assert first.wait == 0
    # No burst before the first answer tells the limits:
    assert contextvars.copy_context().run(tracker.plan, ENDPOINT).wait > 0
    assert contextvars.copy_context().run(tracker.plan, "contacts/search").wait == 0  # other endpoints go


def test_each_answer_ends_the_lease_of_the_request_it_answers() -> None:
    tracker = QuotaTracker(max_quota_wait=900, clock=Clock())
    tracker.observe(ENDPOINT, headers(left=0))
    prober, other = contextvars.copy_context(), contextvars.copy_context()
    assert prober.run(tracker.plan, ENDPOINT).probe
    assert other.run(tracker.plan, ENDPOINT).wait > 0  # a wait admits nothing: no lease taken
    prober.run(tracker.observe, ENDPOINT, headers(left=0))
    prober.run(tracker.observe_rate_limited, ENDPOINT, window="minute", retry_after=30)
    assert other.run(tracker.plan, ENDPOINT).wait == pytest.approx(30.05)
