"""Exhausted quotas (issue 6, part 3): fail fast, or wait once; never a tight retry loop.

* A used-up **daily** window cannot reopen within any sensible wait: the task fails at once
  with ``ApolloQuotaExhaustedError`` naming the window, after at most one 429.
* A used-up **hourly** window waits for the window to reopen when that is within the
  connection extra ``max_quota_wait`` (seconds, default 900), and fails fast otherwise.

Requests are counted by the sandbox: one probe per closed window, not a storm of 429s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_apollo.exceptions import ApolloQuotaExhaustedError
from airflow_provider_apollo.operators.enrichment import ApolloEnrichPeopleOperator
from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxLimits, WindowLimits

BULK_MATCH = "POST /api/v1/people/bulk_match"


def _people(count: int) -> list[dict[str, Any]]:
    """People to enrich (whether Apollo matches them does not matter to the quota)."""
    return [
        {"email": f"nobody{i}@quota.example", "first_name": "No", "last_name": f"Body{i}"}
        for i in range(count)
    ]


def _enrich(count: int) -> Any:
    operator = ApolloEnrichPeopleOperator(task_id="e", people=_people(count), skip_existing_contacts=False)
    # The operator pushes what it enriched before failing, so the context needs a ``ti``.
    return operator.execute({"ti": MagicMock(name="ti")})  # type: ignore[arg-type]


def test_an_exhausted_daily_window_fails_fast_with_one_429(
    clean_sandbox: ApolloSandbox,
    use_connection: Callable[..., None],
    fast_waits: list[float],
    record_figures: Callable[..., None],
) -> None:
    use_connection(max_retries=5)
    clean_sandbox.configure(
        limits=SandboxLimits(bulk_enrichment=WindowLimits(per_minute=100, per_hour=100, per_day=2))
    )

    started = time.monotonic()
    with pytest.raises(ApolloQuotaExhaustedError) as raised:
        _enrich(40)  # 4 batches of 10: the day allows 2
    elapsed = time.monotonic() - started

    stats = clean_sandbox.stats()
    message = str(raised.value)
    record_figures(
        "quota",
        "daily",
        {
            "bulk_match_requests": stats["requests"]["by_endpoint"].get(BULK_MATCH),
            "rate_limited": stats["rate_limited"],
            "hook_waits": fast_waits,
            "seconds": round(elapsed, 2),
            "message": message[:200],
        },
    )
    assert raised.value.window == "day"
    assert "day" in message or "24" in message
    assert stats["requests"]["by_endpoint"][BULK_MATCH] <= 3  # two allowed, at most one probe
    assert stats["rate_limited"] <= 1
    assert sum(fast_waits) < 5  # it did not wait for the window (hours) nor back off repeatedly


def test_an_hourly_window_that_reopens_soon_is_waited_for_once(
    clean_sandbox: ApolloSandbox, use_connection: Callable[..., None], record_figures: Callable[..., None]
) -> None:
    """Windows shortened to 1.5 s stand for an hour; the hook really waits (no sleep patch)."""
    use_connection(max_retries=5)
    limits = SandboxLimits(
        bulk_enrichment=WindowLimits(per_minute=100, per_hour=2, per_day=1000),
        hour_seconds=1.5,
        minute_seconds=60,
    )
    clean_sandbox.configure(limits=limits)

    started = time.monotonic()
    results = _enrich(40)  # 4 batches: 2 now, 2 after the window reopens
    elapsed = time.monotonic() - started

    stats = clean_sandbox.stats()
    record_figures(
        "quota",
        "hourly_wait",
        {
            "bulk_match_requests": stats["requests"]["by_endpoint"].get(BULK_MATCH),
            "rate_limited": stats["rate_limited"],
            "seconds": round(elapsed, 2),
        },
    )
    assert len(results) == 40
    assert (
        stats["requests"]["by_endpoint"][BULK_MATCH] <= 4 + 2
    )  # 4 batches, at most one probe per closed window
    assert stats["rate_limited"] <= 2
    assert elapsed < 10


def test_an_hourly_window_beyond_max_quota_wait_fails_fast(
    clean_sandbox: ApolloSandbox,
    use_connection: Callable[..., None],
    fast_waits: list[float],
    record_figures: Callable[..., None],
) -> None:
    use_connection(max_retries=5, max_quota_wait=1)
    limits = SandboxLimits(
        bulk_enrichment=WindowLimits(per_minute=100, per_hour=2, per_day=1000), hour_seconds=600
    )
    clean_sandbox.configure(limits=limits)

    with pytest.raises(ApolloQuotaExhaustedError) as raised:
        _enrich(40)

    stats = clean_sandbox.stats()
    message = str(raised.value)
    record_figures(
        "quota",
        "hourly_beyond_max_quota_wait",
        {
            "bulk_match_requests": stats["requests"]["by_endpoint"].get(BULK_MATCH),
            "rate_limited": stats["rate_limited"],
            "hook_waits": fast_waits,
            "message": message[:200],
        },
    )
    assert raised.value.window == "hour"
    assert "max_quota_wait" in message
    assert stats["requests"]["by_endpoint"][BULK_MATCH] <= 3
    assert stats["rate_limited"] <= 1
    assert sum(fast_waits) <= 1
