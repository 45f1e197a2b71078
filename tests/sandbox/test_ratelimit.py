"""Rate limits: fixed windows per endpoint, Apollo's headers, 429 with Retry-After."""

from __future__ import annotations

import time

import pytest

from airflow_provider_apollo.sandbox import SandboxLimits, WindowLimits
from airflow_provider_apollo.sandbox.ratelimit import RateLimiter, endpoint_group


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_groups_of_endpoints():
    assert endpoint_group("/people/match") == "enrichment"
    assert endpoint_group("/organizations/enrich") == "enrichment"
    assert endpoint_group("/people/bulk_match") == "bulk_enrichment"
    assert endpoint_group("/organizations/bulk_enrich") == "bulk_enrichment"
    assert endpoint_group("/mixed_people/api_search") == "search"
    assert endpoint_group("/organizations/{id}/job_postings") == "search"
    assert endpoint_group("/contacts") == "other"


def test_fixed_windows_refuse_without_counting_and_reset_at_the_boundary():
    clock = FakeClock()
    limiter = RateLimiter(SandboxLimits(other=WindowLimits(2, 3, None), minute_seconds=10), clock=clock)

    assert limiter.hit("POST /contacts", "other").allowed
    clock.now += 4
    assert limiter.hit("POST /contacts", "other").allowed
    refused = limiter.hit("POST /contacts", "other")
    assert not refused.allowed
    assert refused.window == "minute"
    assert refused.retry_after == pytest.approx(6.0)
    assert refused.headers["x-minute-usage"] == "2"  # the refused call was not counted
    assert limiter.hit("GET /contact_stages", "other").allowed  # each endpoint has its own quota

    clock.now += 6
    assert limiter.hit("POST /contacts", "other").allowed
    hourly = limiter.hit("POST /contacts", "other")
    assert not hourly.allowed
    assert hourly.window == "hour"
    assert hourly.retry_after == pytest.approx(3600 - 10)


def test_headers_report_limits_usage_and_empty_for_unlimited():
    limiter = RateLimiter(SandboxLimits(enrichment=WindowLimits(5, None, 100)), clock=FakeClock())

    headers = limiter.hit("POST /people/match", "enrichment").headers

    assert headers == {
        "x-rate-limit-minute": "5",
        "x-minute-usage": "1",
        "x-minute-requests-left": "4",
        "x-rate-limit-hourly": "",
        "x-hourly-usage": "1",
        "x-hourly-requests-left": "",
        "x-rate-limit-24-hour": "100",
        "x-24-hour-usage": "1",
        "x-24-hour-requests-left": "99",
    }


def test_limits_from_json_keep_unset_windows_and_reject_unknown_keys():
    limits = SandboxLimits.from_dict({"search": {"per_minute": 3}, "minute_seconds": 2})

    assert limits.search == WindowLimits(3, SandboxLimits().search.per_hour, SandboxLimits().search.per_day)
    assert limits.minute_seconds == 2
    with pytest.raises(ValueError, match="unknown limits key"):
        SandboxLimits.from_dict({"serch": {"per_minute": 3}})
    with pytest.raises(ValueError, match="minute_seconds must be > 0"):
        SandboxLimits(minute_seconds=0)


def test_every_authenticated_response_carries_the_full_header_set(api):
    response = api.post("/contacts/search", json={})

    for name in (
        "x-rate-limit-minute",
        "x-rate-limit-hourly",
        "x-rate-limit-24-hour",
        "x-minute-usage",
        "x-hourly-usage",
        "x-24-hour-usage",
        "x-minute-requests-left",
        "x-hourly-requests-left",
        "x-24-hour-requests-left",
    ):
        assert name in response.headers


def test_legacy_header_spelling(sb, api):
    sb.configure(limits=SandboxLimits(legacy_headers=True))

    headers = api.get("/auth/health").headers

    assert headers["x-rate-limit-daily"] == str(SandboxLimits().other.per_day)
    assert headers["x-daily-usage"] == "1"
    assert "x-daily-requests-left" in headers
    assert "x-rate-limit-24-hour" not in headers


@pytest.mark.slow  # a fresh interpreter (or server) starts: over a second
def test_over_limit_answers_429_with_apollo_message_and_retry_after_then_recovers(sb, api):
    sb.configure(limits=SandboxLimits(enrichment=WindowLimits(2, None, None), minute_seconds=1.0))
    sb.reset()  # restart the windows so the 1-second window is fresh
    person = sb.state.world.people[0]

    first = api.post("/people/match", json={"id": person["id"]})
    second = api.post("/people/match", json={"id": person["id"]})
    refused = api.post("/people/match", json={"id": person["id"]})

    assert first.status_code == second.status_code == 200
    assert second.headers["x-minute-requests-left"] == "0"
    assert refused.status_code == 429
    assert refused.json()["message"].startswith(
        "The maximum number of api calls allowed for api/v1/people/match is 2 times per minute."
    )
    # A sub-second wait is sent as decimal seconds in Retry-After itself: no sandbox-only header.
    exact = float(refused.headers["retry-after"])
    assert 0 < exact <= 1.0
    assert refused.headers["retry-after"] != "1"
    assert not [name for name in refused.headers if name.lower().startswith("x-sandbox")]
    stats = sb.stats()
    assert stats["rate_limited"] == 1
    assert stats["rate_limited_by_endpoint"] == {"POST /api/v1/people/match": 1}
    assert stats["credits"]["total"] == 2.0  # the refused call spent nothing

    time.sleep(exact + 0.02)
    assert api.post("/people/match", json={"id": person["id"]}).status_code == 200


def test_usage_stats_endpoint_reports_per_endpoint_limits_and_consumption(sb, api):
    sb.configure(limits=SandboxLimits(other=WindowLimits(50, 500, None)))
    api.post("/contacts/search", json={})
    api.post("/contacts/search", json={})

    usage = api.post("/usage_stats/api_usage_stats").json()

    entry = usage['["api/v1/contacts", "search"]']
    assert entry["minute"] == {"limit": 50, "consumed": 2, "left_over": 48}
    assert entry["day"] == {"limit": None, "consumed": 2, "left_over": None}


def test_bulk_enrichment_gets_half_the_single_per_minute_limit_and_the_same_hour_and_day():
    # apollo-api-notes.md: "Bulk endpoints get about half of the single endpoint's per-minute
    # limit". Only the minute is halved.
    paid = SandboxLimits()
    free = SandboxLimits.free_plan()
    custom = SandboxLimits(enrichment=WindowLimits(90, 900, None))

    assert paid.for_group("bulk_enrichment") == WindowLimits(500, 10000, 50000)
    assert free.for_group("bulk_enrichment") == WindowLimits(25, 200, 600)
    assert custom.for_group("bulk_enrichment") == WindowLimits(45, 900, None)
    assert SandboxLimits.unlimited().for_group("bulk_enrichment") == WindowLimits()


def test_explicit_bulk_limits_win_and_partial_json_keeps_the_derived_windows():
    explicit = SandboxLimits(bulk_enrichment=WindowLimits(7, 8, 9))
    partial = SandboxLimits.from_dict({"bulk_enrichment": {"per_minute": 3}})

    assert explicit.for_group("bulk_enrichment") == WindowLimits(7, 8, 9)
    assert partial.for_group("bulk_enrichment") == WindowLimits(3, 10000, 50000)


def test_bulk_match_is_refused_at_half_the_single_minute_limit(sb, api):
    sb.configure(limits=SandboxLimits(enrichment=WindowLimits(4, 100, 100)))
    sb.reset()
    details = {"details": [{"id": sb.state.world.people[0]["id"]}]}

    answers = [api.post("/people/bulk_match", json=details).status_code for _ in range(3)]
    single = api.post("/people/match", json={"id": sb.state.world.people[0]["id"]})

    assert answers == [200, 200, 429]
    assert single.status_code == 200
    assert single.headers["x-rate-limit-minute"] == "4" and single.headers["x-rate-limit-hourly"] == "100"
