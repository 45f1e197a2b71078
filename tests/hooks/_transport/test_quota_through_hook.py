"""Quota pacing seen from the hook: headers read, windows waited for, exhausted windows failing fast."""

from __future__ import annotations

import logging

import pytest
import requests_mock

from airflow_provider_apollo.exceptions import ApolloQuotaExhaustedError
from airflow_provider_apollo.hooks.apollo import ApolloHook
from tests._support import BASE, FakeClock, set_connection

CURRENT = {
    "x-rate-limit-minute": "30",
    "x-minute-usage": "28",
    "x-minute-requests-left": "2",
    "x-rate-limit-hourly": "600",
    "x-hourly-usage": "100",
    "x-hourly-requests-left": "500",
    "x-rate-limit-24-hour": "2000",
    "x-24-hour-usage": "100",
    "x-24-hour-requests-left": "1900",
}
LEGACY = {"x-rate-limit-daily": "2000", "x-daily-usage": "1999", "x-daily-requests-left": "1"}
PER_MINUTE = {
    "message": "The maximum number of api calls allowed for api/v1/contacts/search is 30 times per minute."
}
PER_HOUR = {
    "message": "The maximum number of api calls allowed for api/v1/contacts/search is 600 times per hour."
}
PER_DAY = {
    "message": "The maximum number of api calls allowed for api/v1/contacts/search is 2000 times per day."
}


def left(minute: int) -> dict[str, str]:
    return {**CURRENT, "x-minute-requests-left": str(minute), "x-minute-usage": str(30 - minute)}


@pytest.mark.parametrize("headers", [CURRENT, LEGACY], ids=["current", "legacy"])
def test_both_header_spellings_are_read(
    hook: ApolloHook, api: requests_mock.Mocker, headers: dict[str, str]
) -> None:
    api.post(f"{BASE}/contacts/search", json={"contacts": []}, headers=headers)
    hook.search_contacts({})
    status = hook.quota_status("contacts/search")
    assert status is not None
    if headers is CURRENT:
        assert (status.minute.limit, status.minute.usage, status.minute.left) == (30, 28, 2)
        assert status.hour.left == 500
        assert status.day.left == 1900
    else:
        assert (status.day.limit, status.day.usage, status.day.left) == (2000, 1999, 1)
        assert status.minute.left is None


def test_quota_is_tracked_per_endpoint_template(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.get(f"{BASE}/contacts/64f0c3e2a1b2c3d4e5f60718", json={"contact": {"id": "x"}}, headers=left(0))
    hook.get_contact("64f0c3e2a1b2c3d4e5f60718")
    assert hook.quota_status("contacts/{id}") is not None
    assert hook.quota_status("contacts/search") is None


def test_pause_when_requests_left_is_zero_until_the_learned_reset(
    hook: ApolloHook, api: requests_mock.Mocker, clock: FakeClock
) -> None:
    # Window 1: the last request leaves 0; the probe meets a 429 saying when the window reopens.
    api.post(
        f"{BASE}/contacts/search",
        [
            {"json": {"contacts": []}, "headers": left(0)},
            {"status_code": 429, "json": PER_MINUTE, "headers": {**left(0), "Retry-After": "20"}},
            {"json": {"contacts": []}, "headers": left(29)},
            {"json": {"contacts": []}, "headers": left(28)},
        ],
    )
    hook.search_contacts({})
    hook.search_contacts({})  # the probe: 429 then, after the learned wait, success
    assert clock.sleeps == [pytest.approx(20.05)]
    hook.search_contacts({})
    assert clock.sleeps == [pytest.approx(20.05)]  # window open again: no more waiting
    assert api.call_count == 4
    assert sum(r.status_code == 429 for r in api.request_history if hasattr(r, "status_code")) <= 1


def test_known_closed_window_is_waited_for_before_sending(
    hook: ApolloHook, api: requests_mock.Mocker, clock: FakeClock
) -> None:
    api.post(
        f"{BASE}/contacts/search",
        [
            {"status_code": 429, "json": PER_MINUTE, "headers": {**left(0), "Retry-After": "30"}},
            {"json": {"contacts": []}, "headers": left(0)},
            {"json": {"contacts": []}, "headers": left(29)},
        ],
    )
    hook.search_contacts({})  # 429 -> wait 30 s -> success, but that success leaves 0 again
    assert clock.sleeps == [pytest.approx(30.05)]
    # Left is 0 and the window reopened after the answer was seen: one probe goes out.
    hook.search_contacts({})
    assert api.call_count == 3


def test_hourly_429_beyond_max_quota_wait_fails_fast(
    hook: ApolloHook, api: requests_mock.Mocker, clock: FakeClock
) -> None:
    api.post(f"{BASE}/contacts/search", status_code=429, json=PER_HOUR, headers={"Retry-After": "2400"})
    with pytest.raises(ApolloQuotaExhaustedError) as caught:
        hook.search_contacts({})
    assert caught.value.window == "hour"
    assert "per-hour quota for contacts/search" in str(caught.value)
    assert "40 min" in str(caught.value)
    assert api.call_count == 1
    assert clock.sleeps == []


def test_daily_window_fails_fast_without_sleeping(
    hook: ApolloHook, api: requests_mock.Mocker, clock: FakeClock
) -> None:
    api.post(f"{BASE}/contacts/search", status_code=429, json=PER_DAY)
    with pytest.raises(ApolloQuotaExhaustedError) as caught:
        hook.search_contacts({})
    assert caught.value.window == "day"
    assert "per-day quota" in str(caught.value)
    assert "retry the task later" in str(caught.value)
    assert api.call_count == 1
    assert clock.sleeps == []


def test_hourly_wait_within_max_quota_wait_is_waited(
    monkeypatch: pytest.MonkeyPatch, api: requests_mock.Mocker, clock: FakeClock
) -> None:
    set_connection(monkeypatch, extra={"max_quota_wait": 3600})
    hook = ApolloHook()
    hook._sleep, hook._clock = clock.sleep, clock
    api.post(
        f"{BASE}/contacts/search",
        [
            {"status_code": 429, "json": PER_HOUR, "headers": {"Retry-After": "2400"}},
            {"json": {"contacts": []}},
        ],
    )
    hook.search_contacts({})
    assert clock.sleeps == [pytest.approx(2400.05)]


def test_quota_left_is_logged_once_per_batch(
    hook: ApolloHook, api: requests_mock.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    api.post(
        f"{BASE}/people/bulk_match",
        json={"matches": [{"id": f"p{i}", "email": f"p{i}@x.com"} for i in range(10)]},
        headers={"x-rate-limit-minute": "30", "x-minute-requests-left": "12"},
    )
    hook.bulk_enrich_people([{"email": f"p{i}@x.com"} for i in range(20)])
    lines = sorted(r.getMessage() for r in caplog.records if "people/bulk_match: inputs" in r.getMessage())
    assert len(lines) == 2  # the two batches may be answered in either order
    assert "inputs 1-10 of 20 — 10 matched, 0 missing, 10 credits — minute 12/30 left" in lines[0]
