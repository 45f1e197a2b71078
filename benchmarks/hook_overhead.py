"""Scenario 6: what ApolloHook adds per call over a bare ``requests.Session``, on loopback.

The same cheap authenticated call (``GET /auth/health``) is sent sequentially by a bare
``requests.Session`` with the key header, by ``ApolloHook.request`` (pacing, retries, error
mapping, counters) and by the hand-rolled ``HttpHook`` + tenacity. Clients take turns in
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


#: A connection like ``apollo_default`` but pacing per process (extra ``quota_store: none``).
PER_PROCESS_CONN_ID = "apollo_per_process"


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

    hook = ApolloHook()
    alone = ApolloHook(PER_PROCESS_CONN_ID)
    hand_rolled = HandRolledApollo()
    return {
        "bare requests.Session": bare,
        "ApolloHook.request": lambda: hook.request("GET", HEALTH_PATH),
        "ApolloHook.request, quota_store none": lambda: alone.request("GET", HEALTH_PATH),
        "hand-rolled HttpHook.run + tenacity": lambda: hand_rolled.get(HEALTH_PATH),
    }


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

    sizes = QUICK if quick else FULL
    with ApolloSandbox(seed=7, people=100, limits=SandboxLimits.unlimited()) as sandbox:
        os.environ.update(sandbox.env)
        os.environ[f"AIRFLOW_CONN_{BASELINE_CONN_ID.upper()}"] = baseline_connection_json(
            sandbox.base_url, sandbox.api_key
        )
        # The same connection without the host's shared quota store: what the store costs per call.
        shared = json.loads(sandbox.env["AIRFLOW_CONN_APOLLO_DEFAULT"])
        extra = shared.get("extra") or {}
        shared["extra"] = {**(json.loads(extra) if isinstance(extra, str) else extra), "quota_store": "none"}
        os.environ[f"AIRFLOW_CONN_{PER_PROCESS_CONN_ID.upper()}"] = json.dumps(shared)
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
    ratio = median(timings["ApolloHook.request"]) / bare
    table.note(
        f"GET /api/v1/{HEALTH_PATH} on loopback, sequential; clients take turns in {sizes.rounds} rounds; "
        "each call timed; ratio of medians (the mean also carries the shared machine's stalls)"
    )
    alone = median(timings["ApolloHook.request, quota_store none"]) / bare
    table.note(
        f"the shared quota store (two short SQLite transactions per call) adds {ratio - alone:.2f} of a bare "
        f"loopback call here; a real Apollo call takes 100 ms to seconds"
    )
    table.note(verdict(ratio <= TARGET_RATIO, f"ApolloHook / bare session {ratio:.2f}", f"<= {TARGET_RATIO}"))
    return [table]
