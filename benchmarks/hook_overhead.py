"""Scenario 6: what ApolloHook adds per call over a bare ``requests.Session``, on loopback.

The same cheap authenticated call (``GET /auth/health``) is sent sequentially by a bare
``requests.Session`` with the key header, by ``ApolloHook.request`` (pacing, retries, error
mapping, counters) with each quota store (the host's SQLite file, the deployment's Redis,
none), and by the hand-rolled ``HttpHook`` + tenacity. The ``quota_batch 1`` rows ask the
store for every request, as the hook does once a window is tight; the default takes
admissions from the store in blocks while plenty is left (``quota_batch.py``). Clients take turns in
rounds, so a slow moment on a shared machine hits all of them alike. The sandbox serves from
the parent process; the clients run in one child process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.measure import StartGate, median, quiet_logging, run_children
from benchmarks.report import Table, verdict

TITLE = "6. Hook overhead per call"
TARGET_RATIO = 1.3
HEALTH_PATH = "auth/health"


@dataclass(frozen=True)
class Sizes:
    """The run's size.

    :param calls: calls per client.
    :param rounds: turns each client takes (``calls / rounds`` calls per turn).
    """

    calls: int
    rounds: int


QUICK = Sizes(calls=40, rounds=2)
FULL = Sizes(calls=1000, rounds=20)


@dataclass(frozen=True)
class OverheadJob:
    """What the child needs.

    :param base_url: the sandbox's ``http://127.0.0.1:PORT``.
    :param api_key: the sandbox's key.
    :param sizes: calls and rounds.
    """

    base_url: str
    api_key: str
    sizes: Sizes


#: Connections like ``apollo_default`` (the host's SQLite store) with other quota extras.
STORE_CONNECTIONS: dict[str, dict[str, object]] = {
    "apollo_per_process": {"quota_store": "none"},
    "apollo_sqlite_per_call": {"quota_batch": 1},
    "apollo_redis": {"quota_store": "redis:redis_benchmark"},
    "apollo_redis_per_call": {"quota_store": "redis:redis_benchmark", "quota_batch": 1},
}
SQLITE_ROW = "ApolloHook.request, SQLite store"
REDIS_ROW = "ApolloHook.request, Redis store"


def _clients(job: OverheadJob) -> dict[str, Callable[[], Any]]:
    import requests

    from airflow_provider_apollo.hooks.apollo import ApolloHook
    from benchmarks.baseline import HandRolledApollo

    session = requests.Session()
    session.headers.update({"X-Api-Key": job.api_key, "Accept": "application/json"})
    url = f"{job.base_url}/api/v1/{HEALTH_PATH}"

    def bare() -> Any:
        response = session.get(url, timeout=30)
        response.raise_for_status()
        return response.json()

    hooks = {
        SQLITE_ROW: ApolloHook(),
        f"{SQLITE_ROW}, quota_batch 1": ApolloHook("apollo_sqlite_per_call"),
        REDIS_ROW: ApolloHook("apollo_redis"),
        f"{REDIS_ROW}, quota_batch 1": ApolloHook("apollo_redis_per_call"),
        "ApolloHook.request, quota_store none": ApolloHook("apollo_per_process"),
    }
    hand_rolled = HandRolledApollo()
    clients: dict[str, Callable[[], Any]] = {"bare requests.Session": bare}
    for name, hook in hooks.items():
        clients[name] = _health_call(hook)
    clients["hand-rolled HttpHook.run + tenacity"] = lambda: hand_rolled.get(HEALTH_PATH)
    return clients


def _health_call(hook: Any) -> Callable[[], Any]:
    return lambda: hook.request("GET", HEALTH_PATH)


def overhead_worker(job: OverheadJob, gate: StartGate) -> dict[str, list[float]]:
    """Time every call of each client, clients taking turns in rounds; seconds per call.

    :param job: the sandbox and sizes.
    :param gate: waits for the parent.
    """
    quiet_logging()
    clients = _clients(job)
    for call in clients.values():  # connections, connection lookups and imports out of the way
        for _ in range(5):
            call()
    gate()
    per_round = max(1, job.sizes.calls // job.sizes.rounds)
    timings: dict[str, list[float]] = {name: [] for name in clients}
    names = list(clients)
    for round_number in range(job.sizes.rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:  # rotate who goes first
            call, spent = clients[name], timings[name]
            for _ in range(per_round):
                started = time.perf_counter()
                call()
                spent.append(time.perf_counter() - started)
    return timings


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(quick: bool) -> list[Table]:
    """Time the clients against an unthrottled sandbox and compare with the bare session.

    :param quick: tiny sizes for CI.
    """
    import os

    from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxLimits
    from benchmarks.environment import BASELINE_CONN_ID, baseline_connection_json
    from scripts.local_services import running_redis

    sizes = QUICK if quick else FULL
    with (
        running_redis() as redis_server,
        ApolloSandbox(seed=7, people=100, limits=SandboxLimits.unlimited()) as sandbox,
    ):
        os.environ["AIRFLOW_CONN_REDIS_BENCHMARK"] = json.dumps(
            {"conn_type": "redis", "host": redis_server.host, "port": redis_server.port}
        )
        os.environ.update(sandbox.env)
        os.environ[f"AIRFLOW_CONN_{BASELINE_CONN_ID.upper()}"] = baseline_connection_json(
            sandbox.base_url, sandbox.api_key
        )
        # The same connection with each store: what a store costs per call.
        for conn_id, extra in STORE_CONNECTIONS.items():
            connection = {**json.loads(sandbox.connection_json), "extra": extra}
            os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(connection)
        job = OverheadJob(base_url=sandbox.base_url, api_key=sandbox.api_key, sizes=sizes)
        _, (timings,) = run_children(overhead_worker, [job], fork_server=True)

    bare = median(timings["bare requests.Session"])
    table = Table(
        TITLE,
        ["client", "calls", "median ms / call", "p90 ms / call", "mean ms / call", "median ratio to bare"],
    )
    for name, calls in timings.items():
        table.add_row(
            name,
            len(calls),
            1000 * median(calls),
            1000 * _percentile(calls, 0.9),
            1000 * sum(calls) / len(calls),
            median(calls) / bare,
        )
    table.note(
        f"GET /api/v1/{HEALTH_PATH} on loopback, sequential; clients take turns in {sizes.rounds} rounds; "
        "each call timed; ratio of medians (the mean also carries the shared machine's stalls); "
        "Redis on loopback, started for the run"
    )
    alone = median(timings["ApolloHook.request, quota_store none"]) / bare
    for row in (SQLITE_ROW, REDIS_ROW):
        per_call = median(timings[f"{row}, quota_batch 1"]) / bare
        ratio = median(timings[row]) / bare
        table.note(
            f"{row}: asking the store for every request adds {per_call - alone:.2f} of a bare loopback "
            f"call, admissions in blocks {ratio - alone:.2f}; a real Apollo call takes 100 ms to seconds"
        )
        table.note(verdict(ratio <= TARGET_RATIO, f"{row} / bare session {ratio:.2f}", f"<= {TARGET_RATIO}"))
    return [table]
