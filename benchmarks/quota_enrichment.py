"""Scenario 1: a big enrichment against a tight quota, provider vs hand-rolled, one task each.

The sandbox allows ``L`` bulk-enrichment calls and ``10 L`` single-enrichment calls per
window of ``W`` seconds (a compressed minute). Enriching ``N`` people takes at least
``ceil(N / 10)`` calls (bulk, 10 people each), so at least ``ceil(ceil(N / 10) / L)``
windows: the bound is that many windows times ``W``. The hand-rolled way needs ``N`` single
calls at ``10 L`` per window: the same number of windows, so both are held to the same bound.

On loopback a call takes a few milliseconds; Apollo answers in hundreds. A second pair of
runs adds an assumed API latency (``latency_seconds`` of real time, compressed like the
minute: ``latency_seconds * W / 60`` per request, through the sandbox's ``slow`` fault), which
is what a serial one-call-per-person loop pays ``N`` times and a batching client ``N / 10``.

The paid-plan shape (a second table) turns it around: the per-minute limits are high and
Apollo's bulk calls take seconds, so a client sending one request at a time is bound by
latency rather than by the quota. ``N`` = 3,000 people, ``L`` = 100 bulk calls per window,
at 0.3 s, 1.5 s and 3 s of Apollo latency (compressed like the minute).
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.enrichment_runs import (
    RunResult,
    baseline_worker,
    bound_windows,
    match_details,
    provider_worker,
    quota_limits,
    run_side,
)
from benchmarks.report import Table, verdict

TITLE = "1. Quota-bound enrichment"
PAID_TITLE = "1b. Quota-bound enrichment, paid-plan shape (high limits, slow answers)"
TARGET_RATIO = 1.15
TARGET_429_PER_WINDOW = 1


@dataclass(frozen=True)
class Sizes:
    """The run's size.

    :param people: ``N``, people to enrich.
    :param bulk_per_window: ``L``, bulk calls per window (single calls: ``10 L``).
    :param window_seconds: ``W``, the compressed minute.
    :param latency_seconds: assumed Apollo latency per request, in real seconds (compressed
        by ``W / 60`` like the minute) for the second pair of runs.
    """

    people: int
    bulk_per_window: int
    window_seconds: float
    latency_seconds: float = 0.3


QUICK = Sizes(people=60, bulk_per_window=3, window_seconds=0.5)
FULL = Sizes(people=3000, bulk_per_window=30, window_seconds=2.0)


@dataclass(frozen=True)
class PaidSizes:
    """The paid-plan shape: high limits, Apollo latency in seconds.

    :param people: ``N``, people to enrich.
    :param bulk_per_window: ``L``, bulk calls per window (single calls: ``10 L``).
    :param window_seconds: ``W``, the compressed minute.
    :param latencies: assumed Apollo latencies per request, in real seconds (each compressed
        by ``W / 60``), one pair of runs each.
    """

    people: int
    bulk_per_window: int
    window_seconds: float
    latencies: tuple[float, ...] = (0.3, 1.5, 3.0)


PAID_QUICK = PaidSizes(people=200, bulk_per_window=10, window_seconds=0.5)
PAID_FULL = PaidSizes(people=3000, bulk_per_window=100, window_seconds=1.0)


def add_side(table: Table, name: str, result: RunResult, bound_seconds: float, people: int) -> None:
    """One row per side; the columns are the same in scenarios 1 and 2.

    :param table: the table.
    :param name: the row's name.
    :param result: the side's run.
    :param bound_seconds: the quota's bound.
    :param people: people asked for, over all workers.
    """
    windows = max(1, len(result.per_window_429))
    table.add_row(
        name,
        result.wall_seconds,
        result.wall_seconds / bound_seconds,
        result.calls,
        result.rate_limited,
        result.rate_limited / windows,
        result.max_429_per_window,
        result.credits,
        f"{result.matched}/{people}",
        result.failed_tasks,
    )


COLUMNS = [
    "side",
    "wall (s)",
    "wall / bound",
    "API calls",
    "429s",
    "429s / window",
    "max 429s in a window",
    "credits",
    "matched",
    "failed tasks",
]


def run(quick: bool) -> list[Table]:
    """Both shapes: the free plan's tight quota, then the paid plan's high limits and slow answers.

    :param quick: tiny sizes for CI.
    """
    return [run_free_plan(quick), run_paid_plan(quick)]


def run_free_plan(quick: bool) -> Table:
    """Enrich ``N`` people under the quota, provider then baseline, and compare with the bound.

    :param quick: tiny sizes for CI.
    """
    from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxFaults

    sizes = QUICK if quick else FULL
    latency = sizes.latency_seconds * sizes.window_seconds / 60
    windows = bound_windows(sizes.people, sizes.bulk_per_window)
    bound = windows * sizes.window_seconds
    limits = quota_limits(sizes.bulk_per_window, sizes.window_seconds)
    with ApolloSandbox(seed=5, people=max(5000, sizes.people), limits=limits) as sandbox:
        details = match_details(sandbox, sizes.people)
        provider = run_side(sandbox, provider_worker, [details], window_seconds=sizes.window_seconds)
        baseline = run_side(sandbox, baseline_worker, [details], window_seconds=sizes.window_seconds)
        sandbox.configure(faults=SandboxFaults(slow=1.0, slow_seconds=latency))
        slow_provider = run_side(sandbox, provider_worker, [details], window_seconds=sizes.window_seconds)
        slow_baseline = run_side(sandbox, baseline_worker, [details], window_seconds=sizes.window_seconds)

    table = Table(TITLE, COLUMNS)
    add_side(table, "provider (bulk_enrich_people)", provider, bound, sizes.people)
    add_side(table, "hand-rolled (HttpHook + tenacity)", baseline, bound, sizes.people)
    with_latency = f" + {1000 * sizes.latency_seconds:g} ms latency"
    add_side(table, "provider" + with_latency, slow_provider, bound, sizes.people)
    add_side(table, "hand-rolled" + with_latency, slow_baseline, bound, sizes.people)
    table.note(
        f"N={sizes.people:,} people; bulk limit L={sizes.bulk_per_window}/window, single limit "
        f"{10 * sizes.bulk_per_window}/window, window W={sizes.window_seconds:g}s; no other limit"
    )
    table.note(
        f"bound = ceil(ceil(N/10)/L) = {windows} windows x {sizes.window_seconds:g}s = {bound:g}s "
        f"(the last window's calls can start at {bound - sizes.window_seconds:g}s, so < 1.0 is possible)"
    )
    table.note(
        f"latency rows: every request waits {1000 * latency:.1f} ms in the sandbox first "
        f"({1000 * sizes.latency_seconds:g} ms of Apollo time compressed by W/60; an assumption, "
        "the same for single and bulk calls)"
    )
    ratio = max(provider.wall_seconds, slow_provider.wall_seconds) / bound
    table.note(
        verdict(
            ratio <= TARGET_RATIO,
            f"provider wall/bound {ratio:.2f} (worse of its rows)",
            f"<= {TARGET_RATIO}",
        )
    )
    most_429 = max(provider.max_429_per_window, slow_provider.max_429_per_window)
    table.note(
        verdict(
            most_429 <= TARGET_429_PER_WINDOW,
            f"provider max 429s in one window {most_429}",
            f"<= {TARGET_429_PER_WINDOW}",
        )
    )
    failed = provider.failed_tasks + slow_provider.failed_tasks
    table.note(verdict(failed == 0, f"provider failed tasks {failed}", "0"))
    table.note(
        f"hand-rolled wall/bound {baseline.wall_seconds / bound:.2f}, with latency "
        f"{slow_baseline.wall_seconds / bound:.2f} (no target: reported beside it)"
    )
    sides = (
        ("provider", provider),
        ("hand-rolled", baseline),
        ("provider with latency", slow_provider),
        ("hand-rolled with latency", slow_baseline),
    )
    for side, result in sides:
        for error in result.errors:
            table.note(f"{side} task failed: {error[:300]}")
    return table


def run_paid_plan(quick: bool) -> Table:
    """The paid-plan shape: at each latency, provider then baseline, against the quota's bound.

    :param quick: tiny sizes for CI.
    """
    from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxFaults

    sizes = PAID_QUICK if quick else PAID_FULL
    windows = bound_windows(sizes.people, sizes.bulk_per_window)
    bound = windows * sizes.window_seconds
    limits = quota_limits(sizes.bulk_per_window, sizes.window_seconds)
    runs: list[tuple[float, RunResult, RunResult]] = []
    with ApolloSandbox(seed=5, people=max(5000, sizes.people), limits=limits) as sandbox:
        details = match_details(sandbox, sizes.people)
        for latency in sizes.latencies:
            compressed = latency * sizes.window_seconds / 60
            sandbox.configure(faults=SandboxFaults(slow=1.0, slow_seconds=compressed))
            provider = run_side(sandbox, provider_worker, [details], window_seconds=sizes.window_seconds)
            baseline = run_side(sandbox, baseline_worker, [details], window_seconds=sizes.window_seconds)
            runs.append((latency, provider, baseline))

    table = Table(PAID_TITLE, COLUMNS)
    for latency, provider, baseline in runs:
        add_side(table, f"provider, {latency:g} s latency", provider, bound, sizes.people)
        add_side(table, f"hand-rolled, {latency:g} s latency", baseline, bound, sizes.people)
    table.note(
        f"N={sizes.people:,} people; bulk limit L={sizes.bulk_per_window}/window, single limit "
        f"{10 * sizes.bulk_per_window}/window, window W={sizes.window_seconds:g}s; no other limit"
    )
    table.note(f"bound = ceil(ceil(N/10)/L) = {windows} windows x {sizes.window_seconds:g}s = {bound:g}s")
    table.note(
        "latency: every request waits latency x W/60 in the sandbox before its answer ("
        + ", ".join(f"{1000 * latency * sizes.window_seconds / 60:.1f} ms" for latency in sizes.latencies)
        + "); the same for single and bulk calls"
    )
    for latency, provider, baseline in runs:
        ratio = provider.wall_seconds / bound
        table.note(
            verdict(
                ratio <= TARGET_RATIO and provider.max_429_per_window <= TARGET_429_PER_WINDOW,
                f"provider at {latency:g} s: wall/bound {ratio:.2f}, max 429s in a window "
                f"{provider.max_429_per_window}",
                f"<= {TARGET_RATIO}, <= {TARGET_429_PER_WINDOW}",
            )
        )
        for side, result in (("provider", provider), ("hand-rolled", baseline)):
            for error in result.errors:
                table.note(f"{side} at {latency:g} s latency: task failed: {error[:300]}")
    return table
