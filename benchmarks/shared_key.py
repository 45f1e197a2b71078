"""Scenario 2: four workers share one API key's quota (four mapped task instances).

Each worker process enriches its own share of people through the same sandbox quota as
scenario 1. No worker knows about the others; the rate-limit headers of each answer are the
only shared truth. The bound is the quota's: all people, fewest calls, fewest windows.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.enrichment_runs import (
    baseline_worker,
    bound_windows,
    match_details,
    provider_worker,
    quota_limits,
    run_side,
)
from benchmarks.quota_enrichment import COLUMNS, add_side
from benchmarks.report import Table, verdict

TITLE = "2. Shared key: worker processes on one quota"
TARGET_RATIO = 1.25


@dataclass(frozen=True)
class Sizes:
    """The run's size.

    :param workers: worker processes (mapped task instances).
    :param people_each: people per worker.
    :param bulk_per_window: ``L``, bulk calls per window (single calls: ``10 L``).
    :param window_seconds: ``W``, the compressed minute.
    """

    workers: int
    people_each: int
    bulk_per_window: int
    window_seconds: float


QUICK = Sizes(workers=4, people_each=15, bulk_per_window=3, window_seconds=0.5)
FULL = Sizes(workers=4, people_each=750, bulk_per_window=30, window_seconds=2.0)


def run(quick: bool) -> list[Table]:
    """Run the workers together, provider then baseline, and compare with the quota's bound.

    :param quick: tiny sizes for CI.
    """
    from airflow_provider_apollo.sandbox import ApolloSandbox

    sizes = QUICK if quick else FULL
    people = sizes.workers * sizes.people_each
    windows = bound_windows(people, sizes.bulk_per_window)
    bound = windows * sizes.window_seconds
    limits = quota_limits(sizes.bulk_per_window, sizes.window_seconds)
    with ApolloSandbox(seed=6, people=max(5000, people), limits=limits) as sandbox:
        shares = [
            match_details(sandbox, sizes.people_each, offset=index * sizes.people_each)
            for index in range(sizes.workers)
        ]
        provider = run_side(sandbox, provider_worker, shares, window_seconds=sizes.window_seconds)
        baseline = run_side(sandbox, baseline_worker, shares, window_seconds=sizes.window_seconds)

    table = Table(TITLE, COLUMNS)
    add_side(table, f"provider, {sizes.workers} workers", provider, bound, people)
    add_side(table, f"hand-rolled, {sizes.workers} workers", baseline, bound, people)
    table.note(
        f"{sizes.workers} processes x {sizes.people_each:,} people; "
        f"bulk limit L={sizes.bulk_per_window}/window, single {10 * sizes.bulk_per_window}/window, "
        f"W={sizes.window_seconds:g}s, shared by all processes"
    )
    table.note(
        f"bound = ceil(ceil({people:,}/10)/L) = {windows} windows x {sizes.window_seconds:g}s = {bound:g}s"
    )
    table.note(f"provider 429s per window: {provider.per_window_429}")
    table.note(f"hand-rolled 429s per window: {baseline.per_window_429}")
    ratio = provider.wall_seconds / bound
    table.note(verdict(ratio <= TARGET_RATIO, f"provider wall/bound {ratio:.2f}", f"<= {TARGET_RATIO}"))
    table.note(verdict(provider.failed_tasks == 0, f"provider failed tasks {provider.failed_tasks}", "0"))
    table.note(f"hand-rolled wall/bound {baseline.wall_seconds / bound:.2f} (no target: reported beside it)")
    for side, result in (("provider", provider), ("hand-rolled", baseline)):
        for error in result.errors:
            table.note(f"{side} task failed: {error[:300]}")
    return [table]
