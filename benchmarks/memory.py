"""Scenario 5: memory of a 100,000-person search, streamed to a file vs returned through XCom.

Apollo shows at most 50,000 people per query, so the search is split by country into
queries under that cap (what a user does, e.g. with one mapped task per split). Each side
runs in its own fresh worker process, after a small warm-up search has loaded every module;
the figure is that process's peak RSS growth over the whole search (Linux ``VmHWM``, reset
just before the search). Splits run one after the other in that one process, so the figure
covers the largest split and anything a split leaves behind.

Sides: ``ApolloSearchPeopleOperator`` with ``output_path`` (JSON Lines, streamed page by
page); the same operator returning the people for XCom (the list plus its JSON
serialisation, which is what storing it in XCom does); and the hand-rolled ``HttpHook`` loop
that collects pages into a list for XCom.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_apollo._api.limits import DISPLAY_CAP
from benchmarks.measure import (
    StartGate,
    current_rss_mib,
    peak_rss_mib,
    quiet_logging,
    reset_peak_rss,
    run_children,
)
from benchmarks.report import Table, verdict

if TYPE_CHECKING:
    from airflow_provider_apollo.sandbox import ApolloSandbox

TITLE = "5. Memory: big people search, streamed vs XCom"
TARGET_GROWTH_MIB = 64.0
STREAM, XCOM, HAND_ROLLED = "provider, output_path (streamed)", "provider, through XCom", "hand-rolled, XCom"


@dataclass(frozen=True)
class Sizes:
    """The run's size.

    :param people: people in the search (the sandbox world has exactly this many).
    """

    people: int


QUICK = Sizes(people=2_000)
FULL = Sizes(people=100_000)


@dataclass(frozen=True)
class SearchJob:
    """One side's search.

    :param side: which way the people are returned.
    :param splits: the filters of each query (each under the display cap).
    :param folder: where the streamed side writes its files.
    """

    side: str
    splits: list[dict[str, Any]]
    folder: str


def country_splits(sandbox: ApolloSandbox, cap: int = DISPLAY_CAP) -> list[dict[str, Any]]:
    """Filters by ``person_locations`` (countries), packed so each query stays under ``cap``.

    A user would size the splits with ``total_entries``; the world's counts are the same numbers.

    :param sandbox: the sandbox.
    :param cap: most people per query.
    """
    by_country = Counter(person["country"] for person in sandbox.state.world.people)
    splits: list[list[str]] = []
    sizes: list[int] = []
    for country, count in by_country.most_common():
        if count >= cap:
            raise ValueError(f"{country} alone has {count} people, over the {cap} cap: split it further")
        for index, size in enumerate(sizes):
            if size + count < cap:
                splits[index].append(country)
                sizes[index] += count
                break
        else:
            splits.append([country])
            sizes.append(count)
    return [{"person_locations": countries} for countries in splits]


@contextmanager
def memoised_sandbox_search() -> Iterator[None]:
    """Cache the sandbox's people-search matches per filter set while the scenario runs.

    The sandbox filters its whole world on every page (about 0.4 s per page at 100,000
    people), which would make 1,000 pages per side take minutes. Its world is read-only, so
    the matches of one filter set never change: caching them speeds up the server only, and
    changes no answer and nothing the clients do.
    """
    from airflow_provider_apollo.sandbox import prospecting

    original = prospecting.search_people
    cache: dict[str, Any] = {}

    def search_people(world: Any, filters: dict[str, Any]) -> Any:
        key = json.dumps({k: v for k, v in filters.items() if k not in ("page", "per_page")}, sort_keys=True)
        if key not in cache:
            cache[key] = original(world, filters)
        return cache[key]

    prospecting.search_people = search_people  # type: ignore[assignment]
    try:
        yield
    finally:
        prospecting.search_people = original  # type: ignore[assignment]


def _provider_search(job: SearchJob, splits: list[dict[str, Any]], folder: Path) -> tuple[int, int]:
    from airflow_provider_apollo.operators.search import ApolloSearchPeopleOperator

    count = size = 0
    for index, filters in enumerate(splits):
        streamed = job.side == STREAM
        operator = ApolloSearchPeopleOperator(
            task_id=f"search_split_{index}",
            filters=filters,
            max_records=None,
            output_path=str(folder / f"people-{index}.jsonl") if streamed else None,
        )
        result: Any = operator.execute(context={})  # type: ignore[arg-type]
        if streamed:
            count += int(result["count"])
            size += Path(result["path"]).stat().st_size
        else:
            payload = json.dumps(result)  # what pushing the return value to XCom serialises
            count += len(result)
            size += len(payload)
            del payload, result
    return count, size


def _hand_rolled_search(splits: list[dict[str, Any]]) -> tuple[int, int]:
    from benchmarks.baseline import HandRolledApollo

    client = HandRolledApollo()
    count = size = 0
    for filters in splits:
        people = client.iter_people(filters, max_records=None)
        payload = json.dumps(people)
        count += len(people)
        size += len(payload)
        del payload, people
    return count, size


def memory_worker(job: SearchJob, gate: StartGate) -> dict[str, Any]:
    """Warm up, then run the whole search and report the peak RSS growth.

    :param job: the side and the splits.
    :param gate: waits for the parent.
    """
    quiet_logging()
    folder = Path(job.folder)
    warm_up = [{**job.splits[0], "person_seniorities": ["owner"]}]
    if job.side == HAND_ROLLED:
        _hand_rolled_search(warm_up)
    else:
        _provider_search(job, warm_up, folder / "warm-up")
    gate()
    exact = reset_peak_rss()
    before = current_rss_mib()
    started = time.monotonic()
    if job.side == HAND_ROLLED:
        count, size = _hand_rolled_search(job.splits)
    else:
        count, size = _provider_search(job, job.splits, folder)
    seconds = time.monotonic() - started
    return {
        "growth": peak_rss_mib() - before,
        "before": before,
        "people": count,
        "bytes": size,
        "seconds": seconds,
        "exact_peak": exact,
    }


def run(quick: bool) -> list[Table]:
    """Run the three sides one after the other, each in a fresh process, on one sandbox.

    :param quick: a small world for CI.
    """
    import os

    from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxLimits
    from benchmarks.environment import BASELINE_CONN_ID, baseline_connection_json

    sizes = QUICK if quick else FULL
    # A small world's countries are small: quick mode splits at a proportionally small cap.
    cap = DISPLAY_CAP if not quick else sizes.people // 2
    reports: dict[str, dict[str, Any]] = {}
    with (
        ApolloSandbox(seed=8, people=sizes.people, limits=SandboxLimits.unlimited()) as sandbox,
        memoised_sandbox_search(),
        tempfile.TemporaryDirectory(prefix="apollo-benchmark-memory-") as folder,
    ):
        os.environ.update(sandbox.env)
        os.environ[f"AIRFLOW_CONN_{BASELINE_CONN_ID.upper()}"] = baseline_connection_json(
            sandbox.base_url, sandbox.api_key
        )
        splits = country_splits(sandbox, cap)
        for side in (STREAM, XCOM, HAND_ROLLED):
            _, (report,) = run_children(memory_worker, [SearchJob(side=side, splits=splits, folder=folder)])
            reports[side] = report

    table = Table(
        TITLE, ["side", "people", "peak RSS growth (MiB)", "RSS before (MiB)", "output (MiB)", "seconds"]
    )
    for side, report in reports.items():
        table.add_row(
            side,
            report["people"],
            report["growth"],
            report["before"],
            report["bytes"] / 2**20,
            report["seconds"],
        )
    table.note(
        f"{sizes.people:,} people in {len(splits)} queries of at most {cap - 1:,} (by country): "
        + ", ".join("+".join(split["person_locations"]) for split in splits)
    )
    table.note("output: JSON Lines files (streamed) or the JSON an XCom push would store")
    if not all(report["exact_peak"] for report in reports.values()):
        table.note("the kernel refused to reset the peak RSS: growth is over the process's lifetime peak")
    growth = reports[STREAM]["growth"]
    met = growth <= TARGET_GROWTH_MIB and reports[STREAM]["people"] >= sizes.people
    table.note(verdict(met, f"streamed peak RSS growth {growth:.1f} MiB", f"<= {TARGET_GROWTH_MIB:g} MiB"))
    return [table]
