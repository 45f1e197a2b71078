"""Deferred quota waits, against the sandbox: a closed hourly window frees the worker.

What a user would notice: the task defers (``TaskDeferred``) to the quota-window trigger with
the moment the window reopens, instead of sleeping in its worker slot or failing; when it
resumes, it sends only what was not done yet, so the sandbox's credit ledger shows every
person paid for once and every search page read once; a short wait is still slept in place.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_apollo.exceptions import ApolloConfigurationError, ApolloQuotaExhaustedError
from airflow_provider_apollo.operators._quota_deferral import DEFERRALS_KEY
from airflow_provider_apollo.operators.enrichment import PARTIAL_RESULTS_KEY, ApolloEnrichPeopleOperator
from airflow_provider_apollo.operators.search import ApolloSearchOrganizationsOperator
from airflow_provider_apollo.triggers.quota_window import REOPENED, ApolloQuotaWindowTrigger

sandbox = pytest.importorskip("airflow_provider_apollo.sandbox")

BULK_MATCH = "POST /api/v1/people/bulk_match"
ORG_SEARCH = "POST /api/v1/mixed_companies/search"
HOUR = 3600.0


@pytest.fixture(scope="module")
def running_sandbox() -> Iterator[Any]:
    with sandbox.ApolloSandbox(seed=7) as sb:
        yield sb


@pytest.fixture
def sb(running_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The sandbox, reset; ``apollo_default`` points at it with the quota kept per hook.

    Per hook (``quota_store: none``) so that the resumed task, like a task resumed on another
    worker whose host never saw the 429, learns the window from Apollo's answers alone.
    """
    running_sandbox.reset()
    running_sandbox.configure(limits=sandbox.SandboxLimits(), faults=sandbox.SandboxFaults())
    connection = json.loads(running_sandbox.connection_json)
    connection["extra"] = json.dumps({"quota_store": "none"})
    monkeypatch.setenv("AIRFLOW_CONN_APOLLO_DEFAULT", json.dumps(connection))
    return running_sandbox


def _close_after(sb: Any, calls_per_hour: int, group: str) -> None:
    """An hourly window of ``calls_per_hour`` calls on ``group``, minute and day unlimited."""
    sb.configure(
        limits=sandbox.SandboxLimits.from_dict({group: {"per_minute": None, "per_hour": calls_per_hour}})
    )


def _reopen(sb: Any) -> None:
    """What an hour later looks like to the sandbox: every window starts afresh."""
    sb.runtime.limiter.reset()


def _people(sb: Any, count: int) -> list[dict[str, Any]]:
    return [{"id": person["id"]} for person in sb.state.world.people[:count]]


def _stats(sb: Any) -> tuple[float, int, int]:
    """(credits charged, bulk_match requests, 429s) so far."""
    stats = sb.stats()
    return (
        stats["credits"]["total"],
        stats["requests"]["by_endpoint"].get(BULK_MATCH, 0),
        stats["rate_limited"],
    )


def _enrich(people: list[dict[str, Any]], **kwargs: Any) -> ApolloEnrichPeopleOperator:
    return ApolloEnrichPeopleOperator(task_id="enrich", people=people, skip_existing_contacts=False, **kwargs)


def _deferral(operator: Any, context: dict[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    return deferred.value


def _event(deferred: TaskDeferred) -> dict[str, Any]:
    trigger = deferred.trigger
    assert isinstance(trigger, ApolloQuotaWindowTrigger)
    return {"status": REOPENED, "endpoint": trigger.endpoint, "window": trigger.window, "moment": ""}


# ------------------------------------------------------------------------------- enrichment
def test_a_closed_hourly_window_defers_until_it_reopens_carrying_what_was_paid_for(sb, context):
    _close_after(sb, 2, "bulk_enrichment")  # 2 bulk calls of 10 per hour; 30 people need 3
    people = _people(sb, 30)
    before = datetime.now(timezone.utc)

    deferred = _deferral(_enrich(people, deferrable=True), context)

    trigger = deferred.trigger
    assert isinstance(trigger, ApolloQuotaWindowTrigger)
    assert (trigger.window, trigger.endpoint) == ("hour", "people/bulk_match")
    # The sandbox's hour began with the test: it reopens about an hour from now, not in 60 s.
    reopens_in = (trigger.moment - before).total_seconds()
    assert HOUR - 60 < reopens_in < HOUR + 60
    assert deferred.method_name == "execute_complete"
    progress = deferred.kwargs["progress"]
    json.dumps(progress)  # it travels through the metadata DB
    assert progress[DEFERRALS_KEY] == 1
    assert len(progress["enriched"]) == 20 and progress["credits_spent"] == 20
    credits, _calls, rate_limited = _stats(sb)
    assert credits == 20 and rate_limited == 1  # one probe found the window closed, no storm


def test_the_resumed_task_enriches_only_the_rest_and_pays_for_no_one_twice(sb, context):
    _close_after(sb, 2, "bulk_enrichment")
    people = _people(sb, 30)
    deferred = _deferral(_enrich(people, deferrable=True), context)
    _reopen(sb)

    # A fresh operator, as on the worker that picks the task up after the trigger fired.
    resumed = _enrich(people, deferrable=True)
    result = resumed.execute_complete(context, event=_event(deferred), **deferred.kwargs)

    assert [row["status"] for row in result] == ["matched"] * 30
    assert [row["person"]["id"] for row in result] == [person["id"] for person in people]
    credits, calls, rate_limited = _stats(sb)
    assert rate_limited == 1  # the resumed task met no closed window: it had reopened
    assert credits == 30, "a person enriched before the quota wait was paid for again"
    assert calls == 3 + 1  # three batches of 10, plus the one 429 that found the window closed
    assert resumed.hook.credits_spent == 10


def test_a_second_task_meeting_the_same_closed_window_defers_without_a_request(sb, context, monkeypatch):
    """Through the shared quota store (the host's SQLite file here, Redis across hosts)."""
    monkeypatch.setenv("AIRFLOW_CONN_APOLLO_DEFAULT", sb.connection_json)  # default store: shared
    _close_after(sb, 2, "bulk_enrichment")
    first = _deferral(_enrich(_people(sb, 30), deferrable=True), context)
    before = _stats(sb)

    second = _deferral(_enrich(_people(sb, 40)[30:], deferrable=True), context)

    assert _stats(sb) == before, "the second task sent a request to a window known to be closed"
    assert second.kwargs["progress"]["enriched"] == []
    assert abs((second.trigger.moment - first.trigger.moment).total_seconds()) < 5


def test_a_task_that_keeps_meeting_closed_windows_fails_after_max_quota_deferrals(sb, context):
    _close_after(sb, 1, "bulk_enrichment")  # 1 bulk call per hour: 30 people meet it twice
    people = _people(sb, 30)
    deferred = _deferral(_enrich(people, deferrable=True, max_quota_deferrals=1), context)
    assert len(deferred.kwargs["progress"]["enriched"]) == 10
    _reopen(sb)

    again = _enrich(people, deferrable=True, max_quota_deferrals=1)
    with pytest.raises(ApolloQuotaExhaustedError, match="per-hour quota"):
        again.execute_complete(context, event=_event(deferred), **deferred.kwargs)

    # What was paid for over both attempts is kept for the user, and nobody was paid twice.
    kept = context["ti"].xcom_push.call_args.kwargs
    assert kept["key"] == PARTIAL_RESULTS_KEY
    assert sum(row["status"] == "matched" for row in kept["value"]) == 20
    assert _stats(sb)[0] == 20


def test_without_deferrable_a_closed_window_fails_as_before_keeping_the_partial_results(sb, context):
    _close_after(sb, 2, "bulk_enrichment")

    with pytest.raises(ApolloQuotaExhaustedError, match="per-hour quota for people/bulk_match"):
        _enrich(_people(sb, 30), deferrable=False).execute(context)

    kept = context["ti"].xcom_push.call_args.kwargs
    assert kept["key"] == PARTIAL_RESULTS_KEY
    assert sum(row["status"] == "matched" for row in kept["value"]) == 20


def test_a_short_wait_still_sleeps_in_place(sb, context):
    # A 0.5 s "minute" holding one bulk call: the second batch waits well under max_quota_sleep.
    sb.configure(
        limits=sandbox.SandboxLimits.from_dict({"bulk_enrichment": {"per_minute": 1}, "minute_seconds": 0.5})
    )
    operator = _enrich(_people(sb, 20), deferrable=True, max_quota_sleep=30)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    operator.hook._sleep = sleep
    result = operator.execute(context)  # no TaskDeferred

    assert [row["status"] for row in result] == ["matched"] * 20
    assert 0 < sum(slept) < 30
    assert _stats(sb)[0] == 20


class _LowPriorityEnrich(ApolloEnrichPeopleOperator):
    """An enrichment in the low quota class (as an export or backfill would be)."""

    def hook_options(self) -> dict[str, Any]:
        return {**super().hook_options(), "priority": "low"}


def test_low_priority_work_defers_at_its_floor_and_resumes_in_the_next_window(sb, context, monkeypatch):
    _close_after(sb, 4, "bulk_enrichment")  # 4 bulk calls per hour, half kept for normal work
    connection = json.loads(sb.connection_json)
    # One batch at a time: the floor is checked against what Apollo's answers said, and two
    # batches answered out of order could both see the window before the other counted.
    extra = {"quota_store": "none", "quota_reserve": {"hour": 0.5}, "max_concurrency": 1}
    connection["extra"] = json.dumps(extra)
    monkeypatch.setenv("AIRFLOW_CONN_APOLLO_DEFAULT", json.dumps(connection))
    people = _people(sb, 30)

    def enrich() -> _LowPriorityEnrich:
        return _LowPriorityEnrich(
            task_id="backfill", people=people, skip_existing_contacts=False, deferrable=True
        )

    deferred = _deferral(enrich(), context)

    assert deferred.trigger.window == "hour"
    assert len(deferred.kwargs["progress"]["enriched"]) == 20
    credits, _calls, rate_limited = _stats(sb)
    assert credits == 20 and rate_limited == 0  # stopped at the floor: Apollo never refused
    _reopen(sb)

    result = enrich().execute_complete(context, event=_event(deferred), **deferred.kwargs)

    assert [row["status"] for row in result] == ["matched"] * 30
    assert _stats(sb)[0] == 30


def test_max_quota_sleep_must_be_a_number_of_seconds():
    with pytest.raises(ApolloConfigurationError, match="max_quota_sleep"):
        ApolloEnrichPeopleOperator(task_id="enrich", people=[], max_quota_sleep="soon")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------- search
def test_a_search_deferred_half_way_resumes_at_the_next_page_and_reads_no_page_twice(sb, context):
    _close_after(sb, 2, "search")  # 2 pages per hour: 40 organizations at 10 per page need 4

    def search() -> ApolloSearchOrganizationsOperator:
        return ApolloSearchOrganizationsOperator(
            task_id="orgs", filters={}, max_records=40, per_page=10, deferrable=True
        )

    deferred = _deferral(search(), context)
    progress = deferred.kwargs["progress"]
    assert progress["next_page"] == 3 and len(progress["records"]) == 20
    _reopen(sb)

    final = search().execute_complete(context, event=_event(deferred), **deferred.kwargs)

    assert len(final) == 40
    assert len({organization["id"] for organization in final}) == 40
    stats = sb.stats()
    # 1 credit per page: 4 pages, none read twice (the 429s are not charged).
    assert stats["credits"]["by_endpoint"].get(ORG_SEARCH) == 4


# ---------------------------------------------------------------------------------- trigger
async def test_the_trigger_sleeps_until_the_moment_then_fires_once():
    start = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    clock = [start]
    naps: list[float] = []

    async def sleep(seconds: float) -> None:
        naps.append(seconds)
        clock[0] += timedelta(seconds=seconds)

    trigger = ApolloQuotaWindowTrigger(
        moment=start + timedelta(minutes=30), endpoint="people/bulk_match", window="hour"
    )
    trigger._sleep, trigger._now = sleep, lambda: clock[0]

    events = [event.payload async for event in trigger.run()]

    assert events == [
        {
            "status": REOPENED,
            "endpoint": "people/bulk_match",
            "window": "hour",
            "moment": "2026-01-01T12:30:00+00:00",
        }
    ]
    assert sum(naps) == pytest.approx(1800) and max(naps) <= 60


def test_the_trigger_serializes_to_json_and_back():
    trigger = ApolloQuotaWindowTrigger(
        moment="2026-01-01T13:00:00+00:00", endpoint="mixed_companies/search", window="day"
    )
    path, kwargs = trigger.serialize()
    json.dumps(kwargs)
    assert path == "airflow_provider_apollo.triggers.quota_window.ApolloQuotaWindowTrigger"
    assert ApolloQuotaWindowTrigger(**kwargs).moment == trigger.moment
    with pytest.raises(ValueError, match="timezone"):
        ApolloQuotaWindowTrigger(moment="2026-01-01T13:00:00", endpoint=None, window=None)
