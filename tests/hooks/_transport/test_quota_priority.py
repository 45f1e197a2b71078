"""Priorities between DAGs: low-priority work stops at the reserve kept for the others (every store)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests_mock

from airflow_provider_apollo.exceptions import ApolloConfigurationError, ApolloQuotaFloorReached
from airflow_provider_apollo.hooks._transport.connection import read_connection
from airflow_provider_apollo.hooks._transport.quota import QuotaTracker
from airflow_provider_apollo.hooks._transport.quota_store import (
    MemoryQuotaStore,
    QuotaStore,
    RedisStoreRef,
    SqliteQuotaStore,
)
from airflow_provider_apollo.hooks._transport.quota_store_redis import RedisQuotaStore
from airflow_provider_apollo.hooks.apollo import ApolloHook

ENDPOINT = "mixed_people/api_search"
KEY = "canary-KEY-priority-0b7d"
BASE = "https://api.apollo.io/api/v1"
RESERVE = {"hour": 0.3, "day": 0.3}


def hourly(left: int, limit: int = 100) -> dict[str, str]:
    return {"x-rate-limit-hourly": str(limit), "x-hourly-requests-left": str(left)}


def daily(left: int, limit: int = 100) -> dict[str, str]:
    return {"x-rate-limit-24-hour": str(limit), "x-24-hour-requests-left": str(left)}


@pytest.fixture(params=["memory", "sqlite", "redis"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], QuotaStore]:
    """Stores of one kind; each call is another process's (or host's) view of the same one."""
    if request.param == "memory":
        shared = MemoryQuotaStore()
        return lambda: shared
    if request.param == "sqlite":
        return lambda: SqliteQuotaStore.for_key(KEY, tmp_path)
    import redis

    server = request.getfixturevalue("redis_server")
    redis.Redis(host="127.0.0.1", port=server.port).flushall()
    return lambda: RedisQuotaStore("r", KEY, client=redis.Redis(host="127.0.0.1", port=server.port))


def low(store: QuotaStore, **kwargs: Any) -> QuotaTracker:
    return QuotaTracker(max_quota_wait=900, store=store, priority="low", reserve=RESERVE, **kwargs)


def normal(store: QuotaStore) -> QuotaTracker:
    return QuotaTracker(max_quota_wait=900, store=store, reserve=RESERVE)


def test_low_priority_stops_at_the_floor_and_normal_priority_goes_on(
    new_store: Callable[[], QuotaStore],
) -> None:
    export, prospecting = low(new_store()), normal(new_store())
    for left in (32, 31, 30):
        assert export.plan(ENDPOINT).wait == 0  # the last one leaves exactly 30 % of 100
        export.observe(ENDPOINT, hourly(left=left))
    with pytest.raises(ApolloQuotaFloorReached) as stopped:
        export.plan(ENDPOINT)  # one more would leave 29
    error = stopped.value
    assert (error.window, error.left, error.floor, error.retry_after) == ("hour", 30, 30.0, 3600.0)
    assert "quota_reserve" in str(error) and "hour" in str(error)
    for _ in range(5):  # the reserve is the normal-priority work's
        assert prospecting.plan(ENDPOINT).wait == 0
        prospecting.observe(ENDPOINT, hourly(left=25))


def test_requests_in_flight_count_towards_the_floor(new_store: Callable[[], QuotaStore]) -> None:
    export, other_export = low(new_store()), low(new_store())
    export.plan(ENDPOINT)
    export.observe(ENDPOINT, daily(left=32))
    assert export.plan(ENDPOINT).wait == 0
    assert other_export.plan(ENDPOINT).wait == 0
    with pytest.raises(ApolloQuotaFloorReached, match="day window"):
        export.plan(ENDPOINT)  # 32 left, 2 in flight: a third would go below 30


def test_low_priority_resumes_once_the_window_was_reset(new_store: Callable[[], QuotaStore]) -> None:
    export, prospecting = low(new_store()), normal(new_store())
    export.plan(ENDPOINT)
    export.observe(ENDPOINT, hourly(left=30))
    with pytest.raises(ApolloQuotaFloorReached):
        export.plan(ENDPOINT)
    prospecting.plan(ENDPOINT)
    prospecting.observe(ENDPOINT, hourly(left=99))  # more left than in flight can explain: a new hour
    assert export.plan(ENDPOINT).wait == 0


def test_blocks_of_admissions_stop_at_the_floor_too(tmp_path: Path) -> None:
    exports = [low(SqliteQuotaStore.for_key(KEY, tmp_path), batch=8) for _ in range(3)]
    exports[0].plan(ENDPOINT)
    exports[0].observe(ENDPOINT, hourly(left=100))
    sent = 0
    for _ in range(30):
        for export in exports:
            with contextlib.suppress(ApolloQuotaFloorReached):
                sent += export.plan(ENDPOINT).wait == 0
    assert sent == 70  # 100 left, 30 kept: nobody answering, blocks included


# ------------------------------------------------------------------ from the hook and the connection


def _connection(monkeypatch: pytest.MonkeyPatch, **extra: Any) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_APOLLO_DEFAULT",
        json.dumps({"conn_type": "apollo", "password": KEY, "extra": {"quota_store": "none", **extra}}),
    )


def test_a_low_priority_hook_stops_before_sending_past_the_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(monkeypatch, quota_reserve={"hour": 0.3})
    hook, other = ApolloHook(priority="low"), ApolloHook()
    with requests_mock.Mocker() as api:
        api.post(f"{BASE}/contacts/search", json={"contacts": []}, headers=hourly(left=30))
        hook.search_contacts({})
        with pytest.raises(ApolloQuotaFloorReached):
            hook.search_contacts({})
        assert api.call_count == 1
        other.search_contacts({})  # normal priority: not held back
        assert api.call_count == 2


def test_an_unknown_priority_is_refused_naming_the_argument() -> None:
    with pytest.raises(ApolloConfigurationError, match=r"priority must be one of 'low', 'normal'.*'urgent'"):
        ApolloHook(priority="urgent")  # type: ignore[arg-type]


class _Conn:
    def __init__(self, extra: dict[str, Any]) -> None:
        self.conn_id = "apollo_x"
        self.host: str | None = None
        self.port: int | None = None
        self.password: str | None = KEY
        self.extra_dejson = extra


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"quota_reserve": {"minute": 0.3}}, "names the window 'minute'.*hour, day"),
        ({"quota_reserve": {"hour": 1.5}}, "from 0 to below 1"),
        ({"quota_reserve": 0.3}, "must be an object such as"),
        ({"quota_store": "redis:"}, "names no Redis connection"),
        ({"quota_store_fallback": "maybe"}, "'quota_store_fallback' must be"),
        ({"quota_batch": 0}, "quota_batch must be 1 or more"),
    ],
)
def test_quota_extras_that_cannot_be_used_are_named(extra: dict[str, Any], says: str) -> None:
    with pytest.raises(ApolloConfigurationError, match=says):
        read_connection(_Conn(extra))


def test_quota_extras_are_read() -> None:
    config = read_connection(
        _Conn({"quota_store": "redis:redis_default", "quota_reserve": RESERVE, "quota_batch": 4})
    )
    assert config.quota_store == RedisStoreRef("redis_default")
    assert not config.quota_store_fallback  # Redis fails loudly unless asked
    assert (dict(config.quota_reserve), config.quota_batch) == (RESERVE, 4)
    assert read_connection(_Conn({"quota_store": "/tmp/q"})).quota_store_fallback
    asked = read_connection(_Conn({"quota_store": "redis:r", "quota_store_fallback": "process"}))
    assert asked.quota_store_fallback
