"""Rate-limit header parsing and pacing decisions (quota.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_apollo.exceptions import ApolloQuotaExhaustedError
from airflow_provider_apollo.hooks._transport.quota import QuotaTracker
from airflow_provider_apollo.hooks._transport.rate_limit_headers import (
    parse_rate_limit_headers,
    retry_after_seconds,
    window_named_in,
)

counts = st.integers(min_value=0, max_value=10**6)


@given(limit=counts, usage=counts, left=counts, legacy=st.booleans(), upper=st.booleans())
def test_day_window_parsed_from_either_spelling_and_any_case(
    limit: int, usage: int, left: int, legacy: bool, upper: bool
) -> None:
    names = (
        ("x-rate-limit-daily", "x-daily-usage", "x-daily-requests-left")
        if legacy
        else ("x-rate-limit-24-hour", "x-24-hour-usage", "x-24-hour-requests-left")
    )
    headers = {(n.upper() if upper else n): str(v) for n, v in zip(names, (limit, usage, left), strict=True)}
    windows = parse_rate_limit_headers(headers)
    assert windows is not None
    assert (windows["day"].limit, windows["day"].usage, windows["day"].left) == (limit, usage, left)
    assert windows["minute"].left is None


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=20), max_size=8))
def test_parser_never_raises_on_arbitrary_headers(headers: dict[str, str]) -> None:
    windows = parse_rate_limit_headers(headers)
    assert windows is None or set(windows) == {"minute", "hour", "day"}


def test_empty_header_means_unlimited_and_left_is_derived() -> None:
    windows = parse_rate_limit_headers(
        {"x-rate-limit-minute": "", "x-rate-limit-hourly": "600", "x-hourly-usage": "590"}
    )
    assert windows is not None
    assert windows["minute"].limit is None
    assert windows["hour"].left == 10
    assert parse_rate_limit_headers({"content-type": "application/json"}) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "12"}, 12.0),
        ({"Retry-After": "11.25"}, 11.25),
        ({"X-Sandbox-Retry-After-Exact": "11.25"}, None),  # only what Apollo sends is read
        ({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, 30.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    now = 1445412480.0  # 2015-10-21 07:28:00 UTC
    assert retry_after_seconds(headers, now=lambda: now) == expected


@pytest.mark.parametrize(
    ("message", "window"),
    [
        ("The maximum number of api calls allowed for api/v1/contacts is 600 times per hour.", "hour"),
        ("... is 50 times per minute. Please ...", "minute"),
        ("... 2000 times per day", "day"),
        ("... 2000 times per 24 hours", "day"),
        ("daily limit reached", "day"),
        ("Too many requests", None),
    ],
)
def test_window_named_in_message(message: str, window: str | None) -> None:
    assert window_named_in(message) == window


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_tracker_probes_once_then_waits_for_the_learned_reopening() -> None:
    clock = Clock()
    tracker = QuotaTracker(max_quota_wait=900, clock=clock)
    assert tracker.plan("people/bulk_match").wait == 0
    tracker.observe("people/bulk_match", {"x-minute-requests-left": "0", "x-rate-limit-minute": "30"})
    first = tracker.plan("people/bulk_match")
    assert first.probe and first.window == "minute"
    assert tracker.plan("people/bulk_match").wait > 0  # another caller waits while the probe is out
    tracker.observe_rate_limited("people/bulk_match", window="minute", retry_after=40)
    decision = tracker.plan("people/bulk_match")
    assert decision.wait == pytest.approx(40.05) and not decision.probe
    clock.now += 40.05
    assert tracker.plan("people/bulk_match").wait == 0  # reopened: the stale 0 no longer counts
    assert tracker.plan("contacts/search").wait == 0  # other endpoints are unaffected


@given(
    retry_after=st.floats(min_value=0, max_value=10**6, allow_nan=False),
    window=st.sampled_from(["minute", "hour", "day"]),
)
def test_never_waits_longer_than_max_quota_wait(retry_after: float, window: str) -> None:
    tracker = QuotaTracker(max_quota_wait=900, clock=Clock())
    try:
        tracker.observe_rate_limited("x", window=window, retry_after=retry_after)
    except ApolloQuotaExhaustedError as exc:
        assert retry_after > 900 and exc.window == window
        return
    assert tracker.plan("x").wait <= 900 + 0.05 + 1e-9


def test_hour_or_day_429_without_retry_after_fails_fast() -> None:
    tracker = QuotaTracker(max_quota_wait=900, clock=Clock())
    for window in ("hour", "day"):
        with pytest.raises(ApolloQuotaExhaustedError, match=f"per-{window} quota for {window}-ep"):
            tracker.observe_rate_limited(f"{window}-ep", window=window, retry_after=None)
        # Remembered: the next request of this process fails at once instead of probing again.
        with pytest.raises(ApolloQuotaExhaustedError, match=f"per-{window} quota for {window}-ep is used up"):
            tracker.plan(f"{window}-ep")
    tracker.observe_rate_limited("x", window="minute", retry_after=None)  # left to the backoff
    assert tracker.plan("x").wait == 0


def test_status_describe() -> None:
    tracker = QuotaTracker(max_quota_wait=900, clock=Clock())
    status = tracker.observe(
        "people/bulk_match",
        {
            "x-rate-limit-minute": "30",
            "x-minute-requests-left": "12",
            "x-rate-limit-hourly": "",
            "x-hourly-requests-left": "",
        },
    )
    assert status is not None and status.describe() == "minute 12/30 left"
    assert tracker.statuses() == {"people/bulk_match": status}
