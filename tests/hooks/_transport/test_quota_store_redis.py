"""One quota per key across hosts: the Redis store behind QuotaTracker, against a real Redis.

Each "host" is a separate store object (its own Redis client, its own cache of the record),
as separate machines would have; processes are real forked processes.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests_mock

from airflow_provider_apollo.exceptions import (
    ApolloQuotaExhaustedError,
    ApolloQuotaStoreUnavailableError,
)
from airflow_provider_apollo.hooks._transport.quota import QuotaTracker
from airflow_provider_apollo.hooks._transport.quota_store_redis import RECORD_TTL_SECONDS, RedisQuotaStore
from airflow_provider_apollo.hooks.apollo import ApolloHook
from scripts.local_services import free_port
from tests.services import RedisServer

ENDPOINT = "people/bulk_match"
CANARY_KEY = "canary-KEY-3c9e41-never-in-redis"
BASE = "https://api.apollo.io/api/v1"


def headers(left: int, limit: int = 30, window: str = "minute") -> dict[str, str]:
    names = {
        "minute": ("x-rate-limit-minute", "x-minute-requests-left"),
        "hour": ("x-rate-limit-hourly", "x-hourly-requests-left"),
    }
    limit_header, left_header = names[window]
    return {limit_header: str(limit), left_header: str(left)}


@pytest.fixture
def redis_conn(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """``redis_default`` points at the session's Redis, emptied for each test."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_REDIS_DEFAULT",
        json.dumps({"conn_type": "redis", "host": "127.0.0.1", "port": redis_server.port}),
    )
    client = redis.Redis(host="127.0.0.1", port=redis_server.port)
    client.flushall()
    yield client
    client.flushall()


def host_store(key: str = CANARY_KEY, lease_seconds: float = 35.0) -> RedisQuotaStore:
    """The store one host builds from the connection ``redis_default``."""
    return RedisQuotaStore("redis_default", key, lease_seconds=lease_seconds)


def tracker(store: RedisQuotaStore, **kwargs: Any) -> QuotaTracker:
    return QuotaTracker(max_quota_wait=900, store=store, **kwargs)


def admitted(decision: Any) -> bool:
    return decision.wait == 0


# ------------------------------------------------------------------ the semantics of the SQLite store


def test_requests_in_flight_on_any_host_count_against_the_requests_left(redis_conn: redis.Redis) -> None:
    first, second = tracker(host_store()), tracker(host_store())
    first.plan(ENDPOINT)
    first.observe(ENDPOINT, headers(left=2))
    assert admitted(first.plan(ENDPOINT))
    assert admitted(second.plan(ENDPOINT))
    blocked = first.plan(ENDPOINT)  # 2 left, 2 in flight on two hosts
    assert blocked.wait > 0 and not blocked.probe
    second.observe(ENDPOINT, headers(left=1))
    assert blocked.wait > 0 and second.plan(ENDPOINT).wait > 0  # 1 left, 1 still in flight


def test_one_probe_per_closed_window_for_every_host(redis_conn: redis.Redis) -> None:
    first, second = tracker(host_store()), tracker(host_store())
    first.plan(ENDPOINT)
    first.observe(ENDPOINT, headers(left=0))
    assert first.plan(ENDPOINT).probe
    waiting = second.plan(ENDPOINT)
    assert not waiting.probe and waiting.wait > 0


def test_a_probe_lease_expires_when_its_host_never_reports(redis_conn: redis.Redis) -> None:
    # The lease is timed on Redis' clock: the host that took it is presumed gone after 0.5 s.
    first, second = tracker(host_store(lease_seconds=0.5)), tracker(host_store(lease_seconds=0.5))
    first.plan(ENDPOINT)
    first.observe(ENDPOINT, headers(left=0))
    assert first.plan(ENDPOINT).probe  # ... and this host dies without an answer
    assert second.plan(ENDPOINT).wait > 0
    time.sleep(0.7)
    assert second.plan(ENDPOINT).probe


def test_a_closed_day_window_is_remembered_by_every_host(redis_conn: redis.Redis) -> None:
    first, second = tracker(host_store()), tracker(host_store())
    first.plan(ENDPOINT)
    with pytest.raises(ApolloQuotaExhaustedError):
        first.observe_rate_limited(ENDPOINT, window="day", retry_after=None)
    with pytest.raises(ApolloQuotaExhaustedError, match="per-day quota for people/bulk_match"):
        second.plan(ENDPOINT)  # fails fast: no request, no second 429
    (key,) = redis_conn.keys("*")
    assert 86_400 < redis_conn.ttl(key) <= RECORD_TTL_SECONDS  # remembered, and still forgotten in time


def test_a_window_closed_for_a_while_reopens_for_every_host(redis_conn: redis.Redis) -> None:
    first, second = tracker(host_store()), tracker(host_store())
    first.plan(ENDPOINT)
    first.observe(ENDPOINT, headers(left=0))
    first.observe_rate_limited(ENDPOINT, window="minute", retry_after=0.3)
    decision = second.plan(ENDPOINT)
    assert decision.window == "minute" and 0.1 < decision.wait <= 0.36
    time.sleep(decision.wait)
    assert admitted(second.plan(ENDPOINT))


def _admit_all(key_port: tuple[str, int], attempts: int, queue: Any) -> None:
    store = RedisQuotaStore("unused", key_port[0], client=redis.Redis(host="127.0.0.1", port=key_port[1]))
    quota = tracker(store)
    queue.put(sum(admitted(quota.plan(ENDPOINT)) for _ in range(attempts)))


def test_admission_is_atomic_across_processes(redis_conn: redis.Redis, redis_server: RedisServer) -> None:
    seed = tracker(host_store())
    seed.plan(ENDPOINT)
    seed.observe(ENDPOINT, headers(left=25, limit=1000))
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [
        context.Process(target=_admit_all, args=((CANARY_KEY, redis_server.port), 20, queue))
        for _ in range(6)
    ]
    for worker in workers:
        worker.start()
    counts = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    assert sum(counts) == 25  # 120 attempts, nobody answering: exactly the requests left
    assert len([count for count in counts if count]) > 1  # they really raced


def test_admission_is_atomic_across_threads_of_many_hosts(redis_conn: redis.Redis) -> None:
    import threading

    seed = tracker(host_store())
    seed.plan(ENDPOINT)
    seed.observe(ENDPOINT, headers(left=30, limit=1000))
    counts: list[int] = []

    def run(quota: QuotaTracker) -> None:
        counts.append(sum(admitted(quota.plan(ENDPOINT)) for _ in range(15)))

    hosts = [tracker(host_store()) for _ in range(3)]
    threads = [threading.Thread(target=run, args=(hosts[n % 3],)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 30


def test_blocks_of_admissions_never_take_a_window_below_zero(redis_conn: redis.Redis) -> None:
    hosts = [tracker(host_store(), batch=8) for _ in range(4)]
    hosts[0].plan(ENDPOINT)
    hosts[0].observe(ENDPOINT, headers(left=60, limit=1000))
    sent = sum(admitted(host.plan(ENDPOINT)) for _ in range(40) for host in hosts)
    assert sent == 60  # 160 attempts by 4 hosts taking blocks of 8, nobody answering


# ------------------------------------------------------------------ no key in Redis


def test_the_api_key_is_in_no_redis_key_or_value(redis_conn: redis.Redis) -> None:
    quota = tracker(host_store(), priority="low", reserve={"hour": 0.3})
    quota.plan(ENDPOINT)
    quota.observe(ENDPOINT, headers(left=50, window="hour", limit=100))
    quota.plan(ENDPOINT)
    quota.observe_rate_limited(ENDPOINT, window="minute", retry_after=30)
    keys = redis_conn.keys("*")
    assert keys
    for key in keys:
        assert CANARY_KEY.encode() not in key
        assert redis_conn.ttl(key) > 0
        stored: dict[bytes, bytes] = redis_conn.hgetall(key)  # type: ignore[assignment]
        for field, value in stored.items():
            assert CANARY_KEY.encode() not in field + value


# ------------------------------------------------------------------ Redis down


@pytest.fixture
def redis_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_REDIS_DOWN",
        json.dumps({"conn_type": "redis", "host": "127.0.0.1", "port": free_port()}),
    )


def _hook(monkeypatch: pytest.MonkeyPatch, **extra: Any) -> ApolloHook:
    monkeypatch.setenv(
        "AIRFLOW_CONN_APOLLO_DEFAULT",
        json.dumps({"conn_type": "apollo", "password": CANARY_KEY, "extra": {"max_retries": 0, **extra}}),
    )
    return ApolloHook()


def test_redis_down_fails_the_task_before_sending_and_says_what_to_check(
    redis_down: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = _hook(monkeypatch, quota_store="redis:redis_down")
    with requests_mock.Mocker() as api:
        api.post(f"{BASE}/contacts/search", json={"contacts": []})
        with pytest.raises(ApolloQuotaStoreUnavailableError) as caught:
            hook.search_contacts({})
        assert api.call_count == 0
    message = str(caught.value)
    assert "'redis_down'" in message and "that Redis runs" in message
    assert "quota_store_fallback" in message and CANARY_KEY not in message


def test_redis_down_paces_per_process_only_when_asked(
    redis_down: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    hook = _hook(monkeypatch, quota_store="redis:redis_down", quota_store_fallback="process")
    with requests_mock.Mocker() as api, caplog.at_level(logging.WARNING):
        api.post(f"{BASE}/contacts/search", json={"contacts": [], "pagination": {"total_pages": 1}})
        hook.search_contacts({})
        assert api.call_count == 1
    assert "redis_down" in caplog.text and "own knowledge" in caplog.text


def test_the_hook_shares_its_quota_through_the_redis_connection(
    redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = _hook(monkeypatch, quota_store="redis:redis_default")
    other_host = tracker(host_store())
    with requests_mock.Mocker() as api:
        api.post(f"{BASE}/contacts/search", json={"contacts": []}, headers=headers(left=0))
        hook.search_contacts({})
    assert other_host.plan("contacts/search").probe  # learned from the hook's answer, through Redis


def test_a_missing_redis_connection_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = _hook(monkeypatch, quota_store="redis:no_such_redis")
    with requests_mock.Mocker() as api:
        api.get(f"{BASE}/auth/health", json={"is_logged_in": True})
        with pytest.raises(ApolloQuotaStoreUnavailableError, match=r"'no_such_redis'.*connection exists"):
            hook.request("GET", "auth/health")
        assert api.call_count == 0


def test_what_a_block_s_answers_said_reaches_the_other_hosts(redis_conn: redis.Redis) -> None:
    first, second = tracker(host_store(), batch=4), tracker(host_store())
    first.plan(ENDPOINT)
    first.observe(ENDPOINT, headers(left=100, limit=100))
    for left in (99, 98, 97, 96):  # one block of 4: the store is not asked in between
        assert admitted(first.plan(ENDPOINT))
        first.observe(ENDPOINT, headers(left=left, limit=100))
    record = host_store().update(ENDPOINT, lambda record, now: record, time.time)
    assert record.windows["minute"].left == 100 and record.in_flight() == 4  # the block, as 4 in flight
    assert admitted(first.plan(ENDPOINT))  # the block is used up: settled, a new one taken
    record = host_store().update(ENDPOINT, lambda record, now: record, time.time)
    assert record.windows["minute"].left == 96 and record.in_flight() == 4
    assert admitted(second.plan(ENDPOINT))
