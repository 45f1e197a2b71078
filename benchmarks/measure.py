"""Timing, memory and child-process helpers every scenario shares.

Clients run in child processes: the sandbox's server threads stay in the parent, so client
timings and memory are not mixed with the server's, and several children can share one
sandbox quota the way Airflow workers share one API key. Children start with ``spawn``, or,
when they only need modules that are safe to import before forking (hooks, not the metadata
DB), from a ``forkserver`` that has imported Airflow once: that saves about a second per child.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import statistics
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: What a child's target receives to wait for the common start: it returns the start instant.
StartGate = Callable[[], float]

#: What the fork server imports once for ``run_children(..., fork_server=True)`` children.
FORK_SERVER_PRELOAD = (
    "airflow.sdk",
    "airflow.providers.http.hooks.http",
    "airflow_provider_apollo.hooks.apollo",
    "benchmarks.baseline",
    "benchmarks.enrichment_runs",
)


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (which must not be empty).

    :param values: measurements.
    """
    if not values:
        raise ValueError("median() of no measurements")
    return float(statistics.median(values))


class ChildFailed(RuntimeError):
    """A benchmark child process raised or died; the message carries its traceback."""


def _child_entry(
    target: Callable[[Any, StartGate], Any],
    argument: Any,
    barrier: Any,
    results: Any,
    index: int,
    environment: dict[str, str],
) -> None:
    # A fork server's children inherit its environment, not the parent's current one
    # (which holds the connections of the sandbox started since).
    os.environ.update(environment)

    def gate() -> float:
        barrier.wait()  # every child is imported and ready
        barrier.wait()  # the parent has reset the sandbox: go
        return time.monotonic()

    try:
        results.put((index, target(argument, gate), None))
    except BaseException:
        barrier.abort()
        results.put((index, None, traceback.format_exc()))


def run_children(
    target: Callable[[Any, StartGate], Any],
    arguments: Sequence[Any],
    *,
    before_start: Callable[[], None] | None = None,
    timeout: float = 900.0,
    fork_server: bool = False,
) -> tuple[float, list[Any]]:
    """Run ``target(argument, gate)`` in one spawned process per argument, started together.

    Each child imports what it needs, builds its client, then calls ``gate()``. Once every
    child is waiting there, ``before_start`` runs in the parent (reset the sandbox, so its
    rate-limit windows start now) and all children are released at once.

    :param target: a module-level function (it is pickled by name).
    :param arguments: one picklable argument per child.
    :param before_start: called in the parent between "all ready" and "go".
    :param timeout: seconds to wait for the children, from start to last result.
    :param fork_server: fork the children from a server that has imported
        ``FORK_SERVER_PRELOAD`` (only for children that do not touch the metadata DB).
    :return: the parent's start instant (``time.monotonic()``, comparable with the children's
        on Linux) and the children's return values, in argument order.
    """
    context: Any
    if fork_server:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(FORK_SERVER_PRELOAD))  # no-op once the server runs
    else:
        context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(arguments) + 1)
    results = context.Queue()
    environment = dict(os.environ)
    processes = [
        context.Process(
            target=_child_entry,
            args=(target, argument, barrier, results, index, environment),
            daemon=True,
        )
        for index, argument in enumerate(arguments)
    ]
    for process in processes:
        process.start()
    deadline = time.monotonic() + timeout
    try:
        try:
            barrier.wait(timeout=timeout)
            if before_start is not None:
                before_start()
            barrier.wait(timeout=timeout)
        except threading.BrokenBarrierError:
            pass  # a child failed before the start: its traceback is in the queue
        started = time.monotonic()
        outcomes: dict[int, Any] = {}
        errors: list[str] = []
        while len(outcomes) + len(errors) < len(processes):
            remaining = deadline - time.monotonic()
            try:
                index, value, error = results.get(timeout=max(0.1, min(remaining, 5.0)))
            except queue.Empty:
                dead = [p for p in processes if not p.is_alive() and p.exitcode not in (0, None)]
                if dead or remaining <= 0:
                    codes = [p.exitcode for p in processes]
                    raise ChildFailed(
                        f"benchmark children stopped answering (exit codes {codes}, "
                        f"{len(outcomes)} of {len(processes)} results received)"
                    ) from None
                continue
            if error is not None:
                errors.append(error)
            else:
                outcomes[index] = value
        if errors:
            raise ChildFailed("a benchmark child process failed:\n" + "\n".join(errors))
        return started, [outcomes[index] for index in range(len(processes))]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()


def quiet_logging() -> None:
    """Silence a worker's output: hundreds of logged 429s would bury the tables.

    Airflow logs through structlog straight to the standard streams, so those are pointed at
    ``/dev/null``; a worker's failure still reaches the parent with its traceback.
    """
    logging.disable(logging.CRITICAL)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


# ---------------------------------------------------------------------------- memory (Linux)
_STATUS = Path("/proc/self/status")


def _status_kib(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"{_STATUS} has no {field} line")


def current_rss_mib() -> float:
    """This process's resident set size now, in MiB (Linux ``VmRSS``)."""
    return _status_kib("VmRSS") / 1024


def peak_rss_mib() -> float:
    """This process's peak resident set size since the last reset, in MiB (``VmHWM``)."""
    return _status_kib("VmHWM") / 1024


def reset_peak_rss() -> bool:
    """Restart the peak RSS count at the current RSS (Linux ``clear_refs`` 5).

    :return: whether the kernel accepted it; without it the peak is the process's lifetime peak.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True
