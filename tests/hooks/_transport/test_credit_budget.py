"""The credit budget that guarantees ``max_credits``: reserve, settle, lose, release, and under threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from airflow_provider_apollo.hooks._transport.credit_budget import CreditBudget


def test_a_reservation_that_fits_is_granted_and_one_that_does_not_is_refused() -> None:
    budget = CreditBudget(limit=10)

    assert budget.reserve(6)
    assert not budget.reserve(5)  # 6 reserved + 5 > 10
    assert budget.reserve(4)  # exactly the limit is allowed
    assert not budget.reserve(0.5)
    assert (budget.spent, budget.at_risk, budget.worst_case) == (0, 0, 0)


def test_settle_frees_the_reservation_and_counts_what_apollo_charged() -> None:
    budget = CreditBudget(limit=10)
    assert budget.reserve(8)

    budget.settle(8, charged=3)  # 8 people asked, 3 matched and were charged

    assert (budget.spent, budget.at_risk, budget.worst_case) == (3, 0, 3)
    assert budget.reserve(7) and not budget.reserve(0.5)  # what was not charged is available again
    assert budget.describe() == "3 credits"


def test_release_gives_back_a_reservation_apollo_never_acted_on() -> None:
    budget = CreditBudget(limit=5)
    assert budget.reserve(5)
    assert not budget.reserve(1)

    budget.release(5)  # 429 or 4xx: nothing was done, nothing charged

    assert (budget.spent, budget.at_risk, budget.worst_case) == (0, 0, 0)
    assert budget.reserve(5)


def test_a_lost_answer_keeps_its_worst_case_counted_against_the_limit() -> None:
    budget = CreditBudget(limit=10)
    assert budget.reserve(4)
    budget.settle(4, charged=4)
    assert budget.reserve(4)

    budget.lose(4)  # the request may have been charged: a resend may be charged again

    assert (budget.spent, budget.at_risk, budget.worst_case) == (4, 4, 8)
    assert not budget.reserve(4)  # resending the same 4 people could reach 12 > 10
    assert budget.reserve(2)
    assert budget.describe() == "4 to 8 credits (up to 4 for answers that were lost)"


def test_affordable_counts_whole_items_in_what_is_left() -> None:
    budget = CreditBudget(limit=10)
    assert budget.reserve(3)
    budget.lose(3)

    assert budget.affordable(unit=1, count=20) == 7
    assert budget.affordable(unit=2, count=20) == 3
    assert budget.affordable(unit=8, count=20) == 0
    assert budget.affordable(unit=1, count=2) == 2


def test_no_limit_grants_everything_and_still_counts() -> None:
    budget = CreditBudget(limit=None)

    assert budget.reserve(10**6)
    budget.settle(10**6, charged=12.5)

    assert budget.spent == 12.5
    assert budget.affordable(unit=8, count=1000) == 1000
    assert budget.describe() == "12.5 credits"


def test_one_credit_is_said_in_the_singular() -> None:
    budget = CreditBudget(limit=None)
    budget.reserve(1)
    budget.settle(1, charged=1)

    assert budget.describe() == "1 credit"


@pytest.mark.parametrize("unit", [1, 3, 8])
def test_threads_reserving_together_never_exceed_the_limit(unit: int) -> None:
    """Many workers reserve, then settle, lose or release: granted worst cases never pass the limit."""
    limit = 100
    budget = CreditBudget(limit=limit)
    lock = threading.Lock()
    outstanding = 0.0  # reserved and not yet settled/lost/released, as the workers saw it
    committed = 0.0  # settled charges plus lost worst cases
    peak = 0.0
    start = threading.Barrier(16)

    def worker(seed: int) -> int:
        nonlocal outstanding, committed, peak
        start.wait()
        granted = 0
        for attempt in range(200):
            if not budget.reserve(unit):
                continue
            granted += 1
            with lock:
                outstanding += unit
                peak = max(peak, outstanding + committed)
            outcome = (seed + attempt) % 3
            with lock:
                outstanding -= unit
                if outcome != 2:
                    committed += unit
            if outcome == 0:
                budget.settle(unit, charged=unit)
            elif outcome == 1:
                budget.lose(unit)
            else:
                budget.release(unit)
        return granted

    with ThreadPoolExecutor(max_workers=16) as pool:
        granted = sum(pool.map(worker, range(16)))

    assert granted > 0
    assert peak <= limit
    assert budget.worst_case == committed <= limit
    # The budget was used up: nothing more of one unit fits.
    assert limit - budget.worst_case < unit
    assert not budget.reserve(unit)
