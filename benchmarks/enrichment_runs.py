"""Quota-bound enrichment runs shared by scenarios 1 and 2: workers, window sampling, the bound.

A run resets the sandbox (so its fixed rate-limit windows start at the common start), lets
every worker process loose at once, samples the sandbox's 429 count at each window boundary,
and reads calls and credits from the sandbox's own counters (the same for both sides).

The provider's workers read the connection extra ``quota_store``: a fresh directory per run
(the processes of the run share the key's windows, as on one host) or ``"none"`` (each
process paces alone, as before the shared store existed).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from benchmarks.environment import BASELINE_CONN_ID, baseline_connection_json
from benchmarks.measure import StartGate, quiet_logging, run_children

if TYPE_CHECKING:
    from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxLimits

#: Apollo's bulk people enrichment takes at most this many people per call.
BULK_SIZE = 10
BULK_ENDPOINT = "POST /api/v1/people/bulk_match"
SINGLE_ENDPOINT = "POST /api/v1/people/match"


def quota_limits(bulk_per_window: int, window_seconds: float) -> SandboxLimits:
    """Issue 5's quota: bulk enrichment ``L`` per window, single enrichment ``10 L``, nothing else limited.

    :param bulk_per_window: ``L``, bulk enrichment calls per window.
    :param window_seconds: ``W``, the compressed minute.
    """
    from airflow_provider_apollo.sandbox import SandboxLimits, WindowLimits

    return SandboxLimits.unlimited(
        enrichment=WindowLimits(per_minute=10 * bulk_per_window),
        bulk_enrichment=WindowLimits(per_minute=bulk_per_window),
        minute_seconds=window_seconds,
    )


def bound_windows(people: int, bulk_per_window: int) -> int:
    """The fewest windows the quota allows for the fewest calls (``ceil(N / 10)`` bulk calls).

    :param people: people to enrich.
    :param bulk_per_window: bulk calls allowed per window.
    """
    return math.ceil(math.ceil(people / BULK_SIZE) / bulk_per_window)


def match_details(sandbox: ApolloSandbox, count: int, *, offset: int = 0) -> list[dict[str, Any]]:
    """What a user has to enrich: first name, last name and company domain of world people.

    :param sandbox: the sandbox whose world the people come from.
    :param count: how many people.
    :param offset: skip this many world people first (distinct people per worker).
    """
    world = sandbox.state.world
    people = world.people[offset : offset + count]
    if len(people) < count:
        raise ValueError(f"the sandbox world has {len(world.people)} people; {offset + count} are needed")
    return [
        {
            "first_name": person["first_name"],
            "last_name": person["last_name"],
            "domain": world.organizations_by_id[person["organization_id"]]["primary_domain"],
        }
        for person in people
    ]


@dataclass(frozen=True)
class EnrichJob:
    """One worker's share of a run.

    :param details: the people it enriches.
    :param time_scale: sandbox seconds per Apollo second (the baseline's backoff scale).
    :param connection_json: this worker's own ``apollo_default`` (its host's quota store), if any.
    """

    details: list[dict[str, Any]]
    time_scale: float
    connection_json: str | None = None


#: ``run_side(quota_store=...)``: every provider process of the run shares one fresh store.
SHARED_STORE = "shared"
#: ``run_side(quota_store=...)``: every provider process paces alone.
PER_PROCESS = "none"


def provider_hook() -> Any:
    """An ``ApolloHook`` on ``apollo_default``, its connection read (the hook paces with the
    connection's quota store itself)."""
    from airflow_provider_apollo.hooks._transport.quota_store import RedisStoreRef
    from airflow_provider_apollo.hooks.apollo import ApolloHook

    hook = ApolloHook()
    config = hook.config  # read the connection before the clock starts, as a task would at start
    if isinstance(config.quota_store, RedisStoreRef):
        # Imported before the clock starts, like the rest of the provider: the Redis client's import
        # is a task's start-up cost, not pacing. (Preloading it in the fork server slowed every
        # child's threads down on the 2-core machine.)
        import airflow.providers.redis.hooks.redis  # noqa: F401
    return hook


def provider_worker(job: EnrichJob, gate: StartGate) -> dict[str, Any]:
    """Enrich ``job.details`` with ``ApolloHook.bulk_enrich_people`` (one task's work).

    :param job: the people.
    :param gate: waits for the common start.
    """
    quiet_logging()
    if job.connection_json is not None:
        os.environ["AIRFLOW_CONN_APOLLO_DEFAULT"] = job.connection_json
    hook = provider_hook()
    started = gate()
    error = None
    matched = 0
    try:
        matched = sum(person is not None for person in hook.bulk_enrich_people(job.details))
    except Exception as exc:  # a failed task is a result here, not a crash of the benchmark
        error = f"{type(exc).__name__}: {exc}"
    return {
        "started": started,
        "ended": time.monotonic(),
        "matched": matched,
        "error": error,
        "requests_sent": hook.requests_sent,
        "credits_seen": hook.credits_spent,
    }


def baseline_worker(job: EnrichJob, gate: StartGate) -> dict[str, Any]:
    """Enrich ``job.details`` one ``people/match`` at a time through ``HttpHook`` + tenacity.

    :param job: the people.
    :param gate: waits for the common start.
    """
    quiet_logging()
    from benchmarks.baseline import HandRolledApollo

    client = HandRolledApollo(time_scale=job.time_scale)
    started = gate()
    error = None
    matched = 0
    try:
        for details in job.details:
            matched += client.enrich_person(details) is not None
    except Exception as exc:  # the task would fail here: retries exhausted
        error = f"{type(exc).__name__}: {exc}"
    return {"started": started, "ended": time.monotonic(), "matched": matched, "error": error}


class WindowSampler:
    """Reads the sandbox's 429 and request counters at every window boundary, in a thread.

    :param sandbox: the sandbox.
    :param window_seconds: the window length.
    """

    def __init__(self, sandbox: ApolloSandbox, window_seconds: float) -> None:
        self._sandbox = sandbox
        self._window = window_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="window-sampler", daemon=True)
        self.rate_limited: list[int] = []
        self._origin = 0.0

    def start(self) -> None:
        """Start sampling; call right after the sandbox reset (the windows' origin)."""
        self._origin = time.monotonic()
        self._thread.start()

    def _sample(self) -> None:
        previous = 0
        boundary = 1
        while True:
            # A hair before the boundary, so a request counted just after it is not put in this window.
            wait = self._origin + boundary * self._window - 0.005 - time.monotonic()
            if self._stop.wait(max(0.0, wait)):
                break
            total = int(self._sandbox.stats()["rate_limited"])
            self.rate_limited.append(total - previous)
            previous = total
            boundary += 1
        total = int(self._sandbox.stats()["rate_limited"])
        self.rate_limited.append(total - previous)

    def stop(self) -> list[int]:
        """Stop and return the 429s counted in each window, first window first."""
        self._stop.set()
        self._thread.join()
        return self.rate_limited


@dataclass
class RunResult:
    """What one side's run did, from the sandbox's counters and the workers' reports.

    :param wall_seconds: common start to last worker done.
    :param calls: enrichment calls the sandbox counted (429s included).
    :param rate_limited: 429 answers.
    :param per_window_429: 429s in each window.
    :param credits: credits the sandbox charged.
    :param matched: people matched, over all workers.
    :param failed_tasks: workers that ended with an error.
    :param errors: those errors.
    :param workers: the workers' raw reports.
    """

    wall_seconds: float
    calls: int
    rate_limited: int
    per_window_429: list[int]
    credits: float
    matched: int
    failed_tasks: int
    errors: list[str] = field(default_factory=list)
    workers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def max_429_per_window(self) -> int:
        """The most 429s any one window received."""
        return max(self.per_window_429, default=0)


def run_side(
    sandbox: ApolloSandbox,
    worker: Any,
    shares: Sequence[list[dict[str, Any]]],
    *,
    window_seconds: float,
    quota_store: str = SHARED_STORE,
) -> RunResult:
    """Run one side (provider or baseline): one worker process per share, started together.

    :param sandbox: the shared sandbox (its quota is reset at the start).
    :param worker: :func:`provider_worker` or :func:`baseline_worker`.
    :param shares: the people each worker enriches.
    :param window_seconds: the window length (for sampling and the baseline's backoff scale).
    :param quota_store: :data:`SHARED_STORE` (a fresh store for this run, since the sandbox's
        windows restart with it) or :data:`PER_PROCESS`.
    """
    with tempfile.TemporaryDirectory(prefix="apollo-quota-") as directory:
        extra = {"quota_store": directory if quota_store == SHARED_STORE else PER_PROCESS}
        connection = {**json.loads(sandbox.connection_json), "extra": extra}
        os.environ["AIRFLOW_CONN_APOLLO_DEFAULT"] = json.dumps(connection)
        return run_prepared_side(sandbox, worker, shares, window_seconds=window_seconds)


def run_prepared_side(
    sandbox: ApolloSandbox,
    worker: Any,
    shares: Sequence[list[dict[str, Any]]],
    *,
    window_seconds: float,
    connections: Sequence[str | None] | None = None,
    before_start: Any = None,
) -> RunResult:
    """:func:`run_side` with the connections already set: one per worker, or the environment's.

    :param sandbox: the shared sandbox (its quota is reset at the start).
    :param worker: :func:`provider_worker` or :func:`baseline_worker`.
    :param shares: the people each worker enriches.
    :param window_seconds: the window length.
    :param connections: each worker's ``apollo_default`` as JSON (``None``: the environment's).
    :param before_start: called just before the sandbox's windows restart.
    """
    os.environ[f"AIRFLOW_CONN_{BASELINE_CONN_ID.upper()}"] = baseline_connection_json(
        sandbox.base_url, sandbox.api_key
    )
    sampler = WindowSampler(sandbox, window_seconds)

    def start_windows() -> None:
        if before_start is not None:
            before_start()  # e.g. empty the Redis store: the sandbox's windows restart now
        sandbox.reset()
        sampler.start()

    per_worker = connections or [None] * len(shares)
    jobs = [
        EnrichJob(details=list(share), time_scale=window_seconds / 60, connection_json=connection)
        for share, connection in zip(shares, per_worker, strict=True)
    ]
    started, reports = run_children(worker, jobs, before_start=start_windows, fork_server=True)
    per_window = sampler.stop()
    stats = sandbox.stats()
    by_endpoint = stats["requests"]["by_endpoint"]
    errors = [report["error"] for report in reports if report["error"]]
    return RunResult(
        wall_seconds=max(report["ended"] for report in reports) - started,
        calls=int(by_endpoint.get(BULK_ENDPOINT, 0) + by_endpoint.get(SINGLE_ENDPOINT, 0)),
        rate_limited=int(stats["rate_limited"]),
        per_window_429=per_window,
        credits=float(stats["credits"]["total"]),
        matched=sum(int(report["matched"]) for report in reports),
        failed_tasks=len(errors),
        errors=errors,
        workers=list(reports),
    )
