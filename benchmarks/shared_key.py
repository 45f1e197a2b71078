"""Scenario 2: 4 and 16 workers share one API key's quota (mapped task instances on one host).

Each worker process enriches its own share of people through the same sandbox quota as
scenario 1. The provider's processes share what they learn of the key's windows through the
shared quota store (the connection extra ``quota_store``); a second provider row keeps it per
process (``"none"``: the answers' headers are then the only shared truth), as before the
store existed. The bound is the quota's: all people, fewest calls, fewest windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchmarks.enrichment_runs import (
    BULK_SIZE,
    PER_PROCESS,
    RunResult,
    baseline_worker,
    bound_windows,
    match_details,
    provider_worker,
    quota_limits,
    run_side,
)
from benchmarks.quota_enrichment import COLUMNS, add_side
from benchmarks.report import Table, verdict

if TYPE_CHECKING:
    from airflow_provider_apollo.sandbox import ApolloSandbox

TITLE = "2. Shared key: worker processes on one quota"
TARGET_RATIO = 1.25
#: 429s allowed in any window with 16 workers on one host (issue 12).
TARGET_429_PER_WINDOW = 2


@dataclass(frozen=True)
class Sizes:
    """The run's size.

    :param workers: worker processes (mapped task instances), one group of runs each.
    :param people: people per worker, one entry per ``workers`` entry.
    :param bulk_per_window: ``L``, bulk calls per window (single calls: ``10 L``).
    :param window_seconds: ``W``, the compressed minute.
    :param per_process_rows: also run the provider with the quota kept per process (the
        provider before the shared store), beside the shared store.
    """

    workers: tuple[int, ...]
    people: tuple[int, ...]
    bulk_per_window: int
    window_seconds: float
    per_process_rows: bool = True


QUICK = Sizes(workers=(4, 16), people=(15, 10), bulk_per_window=3, window_seconds=0.5, per_process_rows=False)
FULL = Sizes(workers=(4, 16), people=(750, 180), bulk_per_window=30, window_seconds=2.0)


def run(quick: bool) -> list[Table]:
    """Run the workers together, provider then baseline, and compare with the quota's bound.

    :param quick: tiny sizes for CI.
    """
    from airflow_provider_apollo.sandbox import ApolloSandbox

    sizes = QUICK if quick else FULL
    table = Table(TITLE, COLUMNS)
    most_people = max(w * n for w, n in zip(sizes.workers, sizes.people, strict=True))
    limits = quota_limits(sizes.bulk_per_window, sizes.window_seconds)
    with ApolloSandbox(seed=6, people=max(5000, most_people), limits=limits) as sandbox:
        for workers, people_each in zip(sizes.workers, sizes.people, strict=True):
            run_workers(sandbox, table, sizes, workers, people_each)
    return [table]


def run_workers(sandbox: ApolloSandbox, table: Table, sizes: Sizes, workers: int, people_each: int) -> None:
    """One group of rows: ``workers`` processes, provider (shared store, per process) and baseline.

    :param sandbox: the sandbox (reset before each side).
    :param table: where the rows and notes go.
    :param sizes: the run's settings.
    :param workers: worker processes.
    :param people_each: people per worker.
    """
    people = workers * people_each
    windows = max(
        bound_windows(people, sizes.bulk_per_window),
        math.ceil(workers * math.ceil(people_each / BULK_SIZE) / sizes.bulk_per_window),
    )
    bound = windows * sizes.window_seconds
    shares = [match_details(sandbox, people_each, offset=index * people_each) for index in range(workers)]
    sides: list[tuple[str, RunResult]] = []
    shared = run_side(sandbox, provider_worker, shares, window_seconds=sizes.window_seconds)
    sides.append((f"provider, {workers} workers, shared quota store", shared))
    if sizes.per_process_rows:
        alone = run_side(
            sandbox, provider_worker, shares, window_seconds=sizes.window_seconds, quota_store=PER_PROCESS
        )
        sides.append((f"provider, {workers} workers, quota per process", alone))
    baseline = run_side(sandbox, baseline_worker, shares, window_seconds=sizes.window_seconds)
    sides.append((f"hand-rolled, {workers} workers", baseline))
    for name, result in sides:
        add_side(table, name, result, bound, people)

    table.note(
        f"{workers} workers: {workers} processes x {people_each:,} people; bulk limit "
        f"L={sizes.bulk_per_window}/window, single {10 * sizes.bulk_per_window}/window, "
        f"W={sizes.window_seconds:g}s, shared by all processes; bound = {windows} windows x "
        f"{sizes.window_seconds:g}s = {bound:g}s (each worker's last bulk call may be partial)"
    )
    for name, result in sides:
        table.note(f"{name}: 429s per window {result.per_window_429}")
    ratio = shared.wall_seconds / bound
    table.note(
        verdict(
            ratio <= TARGET_RATIO and shared.failed_tasks == 0,
            f"provider (shared store), {workers} workers: wall/bound {ratio:.2f}, failed tasks "
            f"{shared.failed_tasks}",
            f"<= {TARGET_RATIO}, 0",
        )
    )
    table.note(
        verdict(
            shared.max_429_per_window <= TARGET_429_PER_WINDOW,
            f"provider (shared store), {workers} workers: max 429s in a window {shared.max_429_per_window}",
            f"<= {TARGET_429_PER_WINDOW}",
        )
    )
    for name, result in sides:
        for error in result.errors:
            table.note(f"{name}: task failed: {error[:300]}")
