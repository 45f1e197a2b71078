"""Scenario 7: one key's quota across hosts (per-host SQLite vs Redis), and priorities between DAGs.

**7. Several hosts.** 4 "hosts" x 4 worker processes enrich their share of people on one key,
as mapped tasks of a CeleryExecutor with workers on four machines (or pods) would. A host is a
store scope: with the per-host SQLite store each host's 4 processes share one directory and
the 4 hosts know nothing of each other (what 4 machines get today); with Redis all 16 share
one store. Free-plan shape (tight minute window, fast answers) and paid-plan shape (more
calls per window, slow answers). The bound is the quota's, as in scenario 2.

**8. Priorities.** On one key with a small daily window of people search and
``quota_reserve: {"day": 0.3}``, a low-priority export-like load (pages of search as fast as
it can) and a normal-priority prospecting-like load (a few searches, spaced out) start
together on two hosts sharing Redis. The prospecting load should finish; the export should
stop at its floor (``ApolloQuotaFloorReached``), not at a 429.

Redis is started for the run by ``scripts/local_services.py`` (Debian's ``redis-server``).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchmarks.enrichment_runs import (
    BULK_SIZE,
    RunResult,
    match_details,
    provider_worker,
    quota_limits,
    run_prepared_side,
)
from benchmarks.measure import StartGate, quiet_logging, run_children
from benchmarks.quota_enrichment import COLUMNS, add_side
from benchmarks.report import Table, verdict

if TYPE_CHECKING:
    from airflow_provider_apollo.sandbox import ApolloSandbox

TITLE = "7. Several hosts on one key: per-host SQLite store vs Redis"
PRIORITY_TITLE = "8. Priorities on one key: low-priority export beside normal-priority prospecting"
TARGET_RATIO = 1.15
TARGET_429_PER_WINDOW = 1
REDIS_CONN_ID = "redis_benchmark"
SEARCH_PATH = "mixed_people/api_search"


@dataclass(frozen=True)
class Shape:
    """One plan's shape.

    :param name: shown in the rows.
    :param people_each: people per worker process.
    :param bulk_per_window: ``L``, bulk calls per window.
    :param window_seconds: ``W``, the compressed minute.
    :param latency_seconds: Apollo's latency per request (real seconds, compressed by ``W / 60``).
    """

    name: str
    people_each: int
    bulk_per_window: int
    window_seconds: float
    latency_seconds: float = 0.0


@dataclass(frozen=True)
class Sizes:
    """The run's size.

    :param hosts: store scopes.
    :param processes: worker processes per host.
    :param shapes: the plans' shapes.
    :param day_limit: the priority run's daily window of people search.
    :param prospecting_searches: searches of the normal-priority load.
    """

    hosts: int
    processes: int
    shapes: tuple[Shape, ...]
    day_limit: int
    prospecting_searches: int


QUICK = Sizes(
    hosts=4,
    processes=4,
    shapes=(Shape("free plan", 10, 4, 0.5), Shape("paid plan", 20, 10, 0.5, latency_seconds=1.5)),
    day_limit=40,
    prospecting_searches=8,
)
FULL = Sizes(
    hosts=4,
    processes=4,
    shapes=(Shape("free plan", 60, 30, 2.0), Shape("paid plan", 200, 100, 1.0, latency_seconds=1.5)),
    day_limit=200,
    prospecting_searches=40,
)


def run(quick: bool) -> list[Table]:
    """Both scenarios, against one Redis started for the run.

    :param quick: tiny sizes for CI.
    """
    from scripts.local_services import running_redis

    sizes = QUICK if quick else FULL
    with running_redis() as server:
        os.environ[f"AIRFLOW_CONN_{REDIS_CONN_ID.upper()}"] = json.dumps(
            {"conn_type": "redis", "host": server.host, "port": server.port}
        )
        return [run_hosts(sizes, server.port), run_priorities(sizes, server.port)]


def _flush(port: int) -> None:
    import redis

    redis.Redis(host="127.0.0.1", port=port).flushall()


def run_hosts(sizes: Sizes, redis_port: int) -> Table:
    """Per shape: the same 16 workers with per-host SQLite stores, then with one Redis store.

    :param sizes: the run's settings.
    :param redis_port: the run's Redis (emptied before each side: the sandbox's windows restart).
    """
    from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxFaults

    table = Table(TITLE, COLUMNS)
    workers = sizes.hosts * sizes.processes
    for shape in sizes.shapes:
        limits = quota_limits(shape.bulk_per_window, shape.window_seconds)
        people = workers * shape.people_each
        windows = math.ceil(workers * math.ceil(shape.people_each / BULK_SIZE) / shape.bulk_per_window)
        bound = windows * shape.window_seconds
        with ApolloSandbox(seed=8, people=max(5000, people), limits=limits) as sandbox:
            if shape.latency_seconds:
                compressed = shape.latency_seconds * shape.window_seconds / 60
                sandbox.configure(faults=SandboxFaults(slow=1.0, slow_seconds=compressed))
            shares = [
                match_details(sandbox, shape.people_each, offset=n * shape.people_each)
                for n in range(workers)
            ]
            sides: list[tuple[str, RunResult]] = []
            with tempfile.TemporaryDirectory(prefix="apollo-hosts-") as root:
                per_host = [
                    _connection(sandbox, f"{root}/host-{n // sizes.processes}") for n in range(workers)
                ]
                result = run_prepared_side(
                    sandbox,
                    provider_worker,
                    shares,
                    window_seconds=shape.window_seconds,
                    connections=per_host,
                )
                sides.append((f"{shape.name}: per-host SQLite ({sizes.hosts} stores)", result))
            redis = [_connection(sandbox, f"redis:{REDIS_CONN_ID}")] * workers
            result = run_prepared_side(
                sandbox,
                provider_worker,
                shares,
                window_seconds=shape.window_seconds,
                connections=redis,
                before_start=lambda: _flush(redis_port),
            )
            sides.append((f"{shape.name}: Redis (one store)", result))
        for name, result in sides:
            add_side(table, name, result, bound, people)
        latency = f", {1000 * shape.latency_seconds:g} ms Apollo latency" if shape.latency_seconds else ""
        table.note(
            f"{shape.name}: {sizes.hosts} hosts x {sizes.processes} processes x {shape.people_each} "
            f"people; bulk limit L={shape.bulk_per_window}/window, W={shape.window_seconds:g}s{latency}; "
            f"bound = {windows} windows x {shape.window_seconds:g}s = {bound:g}s"
        )
        for name, result in sides:
            table.note(f"{name}: 429s per window {result.per_window_429}")
            for error in result.errors[:3]:
                table.note(f"{name}: task failed: {error[:300]}")
        redis_result = sides[-1][1]
        ratio = redis_result.wall_seconds / bound
        table.note(
            verdict(
                ratio <= TARGET_RATIO
                and redis_result.max_429_per_window <= TARGET_429_PER_WINDOW
                and redis_result.failed_tasks == 0,
                f"{shape.name}, Redis: wall/bound {ratio:.2f}, max 429s in a window "
                f"{redis_result.max_429_per_window}, failed tasks {redis_result.failed_tasks}",
                f"<= {TARGET_RATIO}, <= {TARGET_429_PER_WINDOW}, 0",
            )
        )
    return table


def _connection(sandbox: ApolloSandbox, quota_store: str, **extra: Any) -> str:
    return json.dumps({**json.loads(sandbox.connection_json), "extra": {"quota_store": quota_store, **extra}})


# ---------------------------------------------------------------------------------- priorities


@dataclass(frozen=True)
class SearchJob:
    """One load of the priority run.

    :param connection_json: its ``apollo_default``.
    :param priority: ``low`` or ``normal``.
    :param searches: pages to ask for (the export asks for more than the window has).
    :param pause: seconds between two searches (prospecting spaces them out).
    """

    connection_json: str
    priority: str
    searches: int
    pause: float


def search_worker(job: SearchJob, gate: StartGate) -> dict[str, Any]:
    """Send ``job.searches`` people searches at ``job.priority``; report how it ended.

    :param job: the load.
    :param gate: waits for the common start.
    """
    quiet_logging()
    os.environ["AIRFLOW_CONN_APOLLO_DEFAULT"] = job.connection_json
    from airflow_provider_apollo.exceptions import ApolloQuotaFloorReached
    from airflow_provider_apollo.hooks.apollo import ApolloHook

    hook = ApolloHook(priority=job.priority)  # type: ignore[arg-type]
    hook.config  # noqa: B018  (the connection is read before the clock starts)
    started = gate()
    done, ended_by = 0, "finished"
    try:
        for page in range(1, job.searches + 1):
            hook.request("POST", SEARCH_PATH, json={"page": page, "per_page": 10})
            done += 1
            time.sleep(job.pause)
    except ApolloQuotaFloorReached as stop:
        ended_by = f"floor reached ({stop.left} left, {stop.floor:g} kept)"
    except Exception as exc:  # a failed task is a result here
        ended_by = f"{type(exc).__name__}: {str(exc)[:200]}"
    return {"done": done, "ended_by": ended_by, "seconds": time.monotonic() - started}


def run_priorities(sizes: Sizes, redis_port: int) -> Table:
    """The export and the prospecting load on one key, sharing Redis, with a 30 % daily reserve.

    :param sizes: the run's settings.
    :param redis_port: the run's Redis.
    """
    from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxLimits, WindowLimits

    reserve = 0.3
    limits = SandboxLimits.unlimited(search=WindowLimits(per_day=sizes.day_limit))
    with ApolloSandbox(seed=9, people=500, limits=limits) as sandbox:
        connection = _connection(sandbox, f"redis:{REDIS_CONN_ID}", quota_reserve={"day": reserve})
        jobs = [
            SearchJob(connection, "low", searches=sizes.day_limit * 2, pause=0.0),
            SearchJob(connection, "normal", searches=sizes.prospecting_searches, pause=0.02),
        ]

        def start() -> None:
            _flush(redis_port)
            sandbox.reset()

        _, (export, prospecting) = run_children(search_worker, jobs, before_start=start, fork_server=True)
        stats = sandbox.stats()
    table = Table(
        PRIORITY_TITLE, ["load", "priority", "searches asked", "searches sent", "ended by", "seconds"]
    )
    table.add_row(
        "export-like", "low", jobs[0].searches, export["done"], export["ended_by"], export["seconds"]
    )
    table.add_row(
        "prospecting-like",
        "normal",
        jobs[1].searches,
        prospecting["done"],
        prospecting["ended_by"],
        prospecting["seconds"],
    )
    rate_limited = int(stats["rate_limited"])
    table.note(
        f"daily window of {SEARCH_PATH}: {sizes.day_limit} requests; quota_reserve day {reserve:g} keeps "
        f"{reserve * sizes.day_limit:g} for normal priority; both loads on separate hosts sharing Redis; "
        f"429s: {rate_limited}"
    )
    table.note(
        verdict(
            prospecting["done"] == jobs[1].searches
            and export["ended_by"].startswith("floor reached")
            and rate_limited == 0,
            f"prospecting sent {prospecting['done']}/{jobs[1].searches}, export ended by "
            f"{export['ended_by']}, 429s {rate_limited}",
            "all, the floor, 0",
        )
    )
    return table
