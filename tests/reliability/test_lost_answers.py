"""Issue 12: credits capped, creates converging and order kept when answers are lost or late.

Every test runs against the sandbox, whose ledger is what Apollo would have charged: the
budget must hold on the ledger, not only on what the hook could read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_apollo.exceptions import ApolloBudgetExceededError
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators.contacts import ApolloCreateContactsOperator
from airflow_provider_apollo.operators.enrichment import ApolloEnrichPeopleOperator
from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxFaults, SandboxLimits, WindowLimits

BULK_CREATE = "POST /api/v1/contacts/bulk_create"
BULK_MATCH = "POST /api/v1/people/bulk_match"


def _known_people(sandbox: ApolloSandbox, count: int) -> list[dict[str, Any]]:
    """People Apollo knows (so every match costs a credit), by their id as a search returns them."""
    people = ApolloHook().search_people({}, per_page=count)["people"]
    assert len(people) == count
    return [{"id": person["id"]} for person in people]


def _context() -> Any:
    return {"ti": MagicMock(name="ti")}


@pytest.mark.parametrize(
    "faults",
    [
        # The work is done, the answer arrives after the client gave up.
        SandboxFaults(seed=3, slow=0.5, slow_seconds=1.5, endpoints=["*/people/bulk_match"]),
        # The work is done, the answer cannot be read.
        SandboxFaults(seed=4, malformed_json=0.5, endpoints=["*/people/bulk_match"]),
    ],
    ids=["slow-beyond-timeout", "unreadable"],
)
def test_the_ledger_never_exceeds_max_credits_when_answers_are_lost(
    clean_sandbox: ApolloSandbox,
    use_connection: Callable[..., None],
    fast_waits: list[float],
    faults: SandboxFaults,
) -> None:
    use_connection(timeout=0.5, max_retries=4)
    people = _known_people(clean_sandbox, 60)
    clean_sandbox.configure(faults=faults)

    operator = ApolloEnrichPeopleOperator(
        task_id="e", people=people, max_credits=30, on_budget_exhausted="skip", skip_existing_contacts=False
    )
    try:
        result: Any = operator.execute(_context())
    except ApolloBudgetExceededError:
        result = None  # a resend the budget could not cover: fine, as long as the ledger holds

    ledger = clean_sandbox.stats()["credits"]["by_endpoint"].get(BULK_MATCH, 0)
    assert ledger <= 30, f"Apollo charged {ledger} credits for max_credits=30"
    assert clean_sandbox.stats()["faults"]["total"] >= 1  # the faults really fired
    if result is not None:
        statuses = {r["status"] for r in result}
        assert statuses <= {"matched", "skipped_budget"}
        # What was reported as matched was paid for: never more than the ledger.
        assert sum(r["status"] == "matched" for r in result) <= ledger


def test_contacts_converge_when_every_create_answer_is_lost(
    clean_sandbox: ApolloSandbox, use_connection: Callable[..., None], fast_waits: list[float]
) -> None:
    use_connection(max_retries=3)
    clean_sandbox.configure(faults=SandboxFaults(commit_then_drop=1.0, endpoints=["*/contacts/bulk_create"]))
    people = [
        {"first_name": "Lost", "last_name": f"Answer{i}", "email": f"lost{i}@converge.example"}
        for i in range(12)
    ]

    records: Any = ApolloCreateContactsOperator(task_id="c", contacts=people).execute(_context())

    stats = clean_sandbox.stats()
    assert stats["contacts"] == {"total": 12, "duplicates_by_email": 0}
    # One create (its answer lost), then a look-up found them all: nothing was sent twice.
    assert stats["requests"]["by_endpoint"][BULK_CREATE] == 1
    assert sorted(r["email"] for r in records) == sorted(p["email"] for p in people)


def test_concurrent_batches_come_back_in_input_order_and_each_person_is_paid_once(
    clean_sandbox: ApolloSandbox, use_connection: Callable[..., None]
) -> None:
    use_connection(max_concurrency=4)
    people = _known_people(clean_sandbox, 45)

    hook = ApolloHook()
    matches = hook.bulk_enrich_people(people)

    assert [m["id"] if m else None for m in matches] == [p["id"] for p in people]
    stats = clean_sandbox.stats()
    assert stats["requests"]["by_endpoint"][BULK_MATCH] == 5  # 10+10+10+10+5, none resent
    assert stats["credits"]["by_endpoint"][BULK_MATCH] == hook.credits_spent == 45


def test_no_more_requests_in_flight_than_the_window_has_left(
    clean_sandbox: ApolloSandbox, use_connection: Callable[..., None]
) -> None:
    use_connection(max_concurrency=8, max_retries=5)
    people = _known_people(clean_sandbox, 60)
    # 3 bulk calls per (compressed, 2 s) minute: 6 batches need two windows; the waits are real.
    clean_sandbox.configure(
        limits=SandboxLimits(
            bulk_enrichment=WindowLimits(per_minute=3, per_hour=1000, per_day=1000), minute_seconds=2.0
        )
    )

    matches = ApolloHook().bulk_enrich_people(people)

    assert [m["id"] for m in matches if m] == [p["id"] for p in people]
    # Eight threads wanted to go at once; the window's own figure admitted them, so at most
    # the one probe per closed window met a 429.
    assert clean_sandbox.stats()["rate_limited"] <= 2
