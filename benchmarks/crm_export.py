"""Scenario 7: the CRM export, a 120,000-contact backfill past the display cap and an incremental run.

Paid-plan shape: ``contacts/search`` allows ``L`` = 200 calls per window of ``W`` seconds (a
compressed minute; no hour or day limit here: a closed window's resume is a test, not a
benchmark) and every request waits an assumed Apollo latency (0.5 s, compressed by ``W / 60``).
The backfill needs ``ceil(N / 100)`` calls, so the quota's bound is ``ceil(ceil(N / 100) / L)``
windows x ``W``. The provider (``CrmExport`` into SQLite) runs in a child process (its peak RSS is
its own); then 1 % of the contacts change (``POST /_sandbox/activity``) and it runs again. The
anchors' way (``crm_baseline.py``: newest first to a strict cursor, stop at 500 pages) runs the
same two steps. Every table is then compared with ``GET /_sandbox/records/contacts``.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.measure import (
    StartGate,
    current_rss_mib,
    peak_rss_mib,
    quiet_logging,
    reset_peak_rss,
    run_children,
)
from benchmarks.report import Table, verdict

TITLE = "7. CRM export: backfill past the 500-page cap, then an incremental run (paid-plan shape)"
TARGET_RATIO = 1.15
TARGET_CALLS = 1.02
TARGET_RSS_MIB = 64.0


@dataclass(frozen=True)
class Sizes:
    """The run's size.

    :param contacts: ``N``.
    :param per_window: ``L``, contacts/search calls per window.
    :param window_seconds: ``W``, the compressed minute.
    :param latency_seconds: assumed Apollo latency per request (compressed by ``W / 60``).
    """

    contacts: int
    per_window: int = 200
    window_seconds: float = 1.0
    latency_seconds: float = 0.5


QUICK = Sizes(contacts=3000, per_window=20, window_seconds=0.5)
# W = 20 s: the sandbox (Python, one process) serves about 25-40 pages a second on a shared 2-core
# machine, so a shorter "minute" (200 calls in it) would measure the sandbox's CPU, not the client
# against the quota.
FULL = Sizes(contacts=120_000, per_window=200, window_seconds=20.0)


@dataclass(frozen=True)
class ExportJob:
    """One child's work: ``side`` is ``provider`` or ``anchor``; state carried between runs."""

    side: str
    database: str
    anchor_state: str


def export_worker(job: ExportJob, gate: StartGate) -> dict[str, Any]:
    """One run of one side, timed, with the provider's peak RSS growth."""
    quiet_logging()
    if job.side == "anchor":
        from benchmarks.crm_baseline import anchor_export

        state_path = Path(job.anchor_state)
        state = json.loads(state_path.read_text()) if state_path.exists() else {"table": {}, "cursor": None}
        connection = json.loads(os.environ["AIRFLOW_CONN_APOLLO_DEFAULT"])
        gate()
        started = time.monotonic()
        ran = anchor_export(
            connection["host"].rstrip("/") + "/api/v1",
            connection["password"],
            state["table"],
            state["cursor"],
        )
        ended = time.monotonic()
        state_path.write_text(json.dumps({"table": state["table"], "cursor": ran["cursor"]}))
        return {"ended": ended, "seconds": ended - started, "calls": ran["calls"], "growth": None}

    from datetime import timedelta

    from airflow_provider_apollo._api.crm_objects import crm_object
    from airflow_provider_apollo._warehouse.sql import SqlDestination
    from airflow_provider_apollo.hooks.apollo import ApolloHook
    from airflow_provider_apollo.transfers._crm_export import CrmExport
    from airflow_provider_apollo.transfers._export_run import table_spec

    os.environ["AIRFLOW_CONN_APOLLO_WAREHOUSE"] = json.dumps({"conn_type": "sqlite", "host": job.database})
    destination = SqlDestination("apollo_warehouse")
    destination.ensure_table(table_spec(crm_object("contacts")))  # warm up: imports, driver, file
    hook = ApolloHook()
    gate()
    exact = reset_peak_rss()
    before = current_rss_mib()
    started = time.monotonic()
    result = CrmExport(hook, crm_object("contacts"), destination, lookback=timedelta(hours=1)).run()
    ended = time.monotonic()
    destination.close()
    return {
        "ended": ended,
        "seconds": ended - started,
        "calls": result.calls,
        "growth": peak_rss_mib() - before,
        "exact_peak": exact,
        "mode": result.mode,
        "read": result.records,
    }


@contextmanager
def memoised_contact_search() -> Iterator[dict[Any, Any]]:
    """Cache the sandbox's contact-search matches per filter set (cleared by the caller on change).

    The sandbox filters all its contacts on every page of a stage-filtered query (a pass over
    120,000 records under its lock), which would make the benchmark measure the sandbox. The
    CRM does not change while a side reads it, so the cache changes no answer; the scenario
    clears it when the reps' activity changes the CRM.
    """
    from airflow_provider_apollo.sandbox.state import SandboxState

    original = SandboxState.search_contacts
    cache: dict[Any, Any] = {}

    def search_contacts(self: Any, filters: dict[str, Any]) -> Any:
        key = (
            id(self),
            json.dumps({k: v for k, v in filters.items() if k not in ("page", "per_page")}, sort_keys=True),
        )
        if key not in cache:
            cache[key] = original(self, filters)
        return cache[key]

    SandboxState.search_contacts = search_contacts  # type: ignore[method-assign]
    try:
        yield cache
    finally:
        SandboxState.search_contacts = original  # type: ignore[method-assign]


def warm_sandbox_search(sandbox: Any) -> None:
    """Ask each query the export will page once before the clock starts, so the memo holds it.

    The first page of a new filter set costs the sandbox a pass and a sort over every contact
    (about half a second at 120,000); Apollo has no such cost. Every side gets the same warm cache.
    """
    import requests

    headers = {"X-Api-Key": sandbox.api_key}
    stages = requests.get(f"{sandbox.base_url}/api/v1/contact_stages", headers=headers, timeout=60).json()
    bodies: list[dict[str, Any]] = [
        {"sort_by_field": "contact_updated_at", "sort_ascending": False},
        {"sort_by_field": "contact_created_at", "sort_ascending": True},
    ]
    for stage in stages["contact_stages"]:
        for ascending in (True, False):
            bodies.append(
                {
                    "contact_stage_ids": [stage["id"]],
                    "sort_by_field": "contact_created_at",
                    "sort_ascending": ascending,
                }
            )
    for body in bodies:
        while True:  # a small quick-mode window may close during the warm-up: wait it out
            answer = requests.post(
                f"{sandbox.base_url}/api/v1/contacts/search",
                json={**body, "page": 1, "per_page": 100},
                headers=headers,
                timeout=120,
            )
            if answer.status_code != 429:
                break
            time.sleep(float(answer.headers.get("retry-after") or 1))
        answer.raise_for_status()


def _truth(sandbox: Any) -> dict[str, Any]:
    import requests

    answer = requests.get(f"{sandbox.base_url.split('/api/v1')[0]}/_sandbox/records/contacts", timeout=300)
    answer.raise_for_status()
    return dict(answer.json())


def _missed_and_stale(stored: dict[str, str], truth: dict[str, Any]) -> tuple[int, int]:
    missing = stale = 0
    for record in truth["live"]:
        have = stored.get(record["id"])
        if have is None:
            missing += 1
        elif have != record["updated_at"]:
            stale += 1
    return missing, stale


def _provider_table(database: str) -> dict[str, str]:
    with sqlite3.connect(database) as db:
        return {
            row[0]: json.loads(row[1]).get("updated_at")
            for row in db.execute("SELECT id, raw FROM apollo_contacts")
        }


def run(quick: bool) -> list[Table]:
    """Backfill, 1 % activity, incremental: provider then anchors, each step side by side.

    :param quick: a small CRM for CI (under the cap: no split happens).
    """
    from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxFaults, SandboxLimits, WindowLimits

    sizes = QUICK if quick else FULL
    limits = SandboxLimits(
        other=WindowLimits(per_minute=sizes.per_window), minute_seconds=sizes.window_seconds
    )
    latency = sizes.latency_seconds * sizes.window_seconds / 60
    needed = math.ceil(sizes.contacts / 100)
    bound = math.ceil(needed / sizes.per_window) * sizes.window_seconds
    changed = max(1, sizes.contacts // 100)
    rows: dict[str, dict[str, Any]] = {}
    with (
        ApolloSandbox(
            seed=11, people=200, limits=limits, crm_contacts=sizes.contacts, crm_users=5
        ) as sandbox,
        tempfile.TemporaryDirectory(prefix="apollo-benchmark-crm-") as folder,
        memoised_contact_search() as search_cache,
    ):
        os.environ.update(sandbox.env)
        sandbox.configure(faults=SandboxFaults(slow=1.0, slow_seconds=latency))
        database, anchor_state = str(Path(folder) / "warehouse.db"), str(Path(folder) / "anchor.json")
        quota_dir = tempfile.mkdtemp(prefix="apollo-quota-", dir=folder)
        connection = {**json.loads(sandbox.connection_json), "extra": {"quota_store": quota_dir}}
        os.environ["AIRFLOW_CONN_APOLLO_DEFAULT"] = json.dumps(connection)

        def step(name: str, side: str) -> None:
            # The minute windows restart with the sandbox's counters, so each step meets a fresh quota.
            fresh = tempfile.mkdtemp(prefix="apollo-quota-", dir=folder)
            os.environ["AIRFLOW_CONN_APOLLO_DEFAULT"] = json.dumps(
                {**connection, "extra": {"quota_store": fresh}}
            )
            started, (report,) = run_children(
                export_worker,
                [ExportJob(side, database, anchor_state)],
                before_start=sandbox.runtime.limiter.reset,
                timeout=3600,
            )
            report["wall"] = report["ended"] - started
            rows[name] = report

        warm_sandbox_search(sandbox)
        step("provider backfill", "provider")
        step("anchors backfill", "anchor")
        truth = _truth(sandbox)
        rows["provider backfill"]["missed"], _ = _missed_and_stale(_provider_table(database), truth)
        rows["anchors backfill"]["missed"], _ = _missed_and_stale(
            json.loads(Path(anchor_state).read_text())["table"], truth
        )
        sandbox.activity(seed=5, update=changed)
        search_cache.clear()  # the CRM changed
        warm_sandbox_search(sandbox)
        step("provider incremental", "provider")
        step("anchors incremental", "anchor")
        truth = _truth(sandbox)
        rows["provider incremental"]["missed"], rows["provider incremental"]["stale"] = _missed_and_stale(
            _provider_table(database), truth
        )
        anchor_missed, anchor_stale = _missed_and_stale(
            json.loads(Path(anchor_state).read_text())["table"], truth
        )
        rows["anchors incremental"]["missed"], rows["anchors incremental"]["stale"] = (
            anchor_missed,
            anchor_stale,
        )

    table = Table(
        TITLE,
        [
            "side, step",
            "wall (s)",
            "wall / bound",
            "API calls",
            "calls / ceil(N/100)",
            "peak RSS growth (MiB)",
            "rows missed",
            "rows stale",
        ],
    )
    for name, report in rows.items():
        full = "backfill" in name
        table.add_row(
            name,
            report["wall"],
            report["wall"] / bound if full else None,
            report["calls"],
            report["calls"] / needed if full else None,
            report["growth"],
            report.get("missed", 0),
            report.get("stale") if not full else None,
        )
    table.note(
        f"N={sizes.contacts:,} contacts; contacts/search limit L={sizes.per_window}/window, W="
        f"{sizes.window_seconds:g}s; latency {sizes.latency_seconds:g}s compressed to {1000 * latency:.1f} ms"
    )
    table.note(
        f"bound = ceil(ceil(N/100)/L) = {math.ceil(needed / sizes.per_window)} windows x "
        f"{sizes.window_seconds:g}s = {bound:g}s; incremental after {changed:,} contacts changed (1 %)"
    )
    backfill, incremental = rows["provider backfill"], rows["provider incremental"]
    ratio = backfill["wall"] / bound
    table.note(
        verdict(ratio <= TARGET_RATIO, f"provider backfill wall/bound {ratio:.2f}", f"<= {TARGET_RATIO}")
    )
    table.note(
        verdict(
            backfill["calls"] <= TARGET_CALLS * needed,
            f"provider backfill calls {backfill['calls']:,}",
            f"<= {TARGET_CALLS} x {needed:,}",
        )
    )
    table.note(
        verdict(
            (backfill["growth"] or 0) <= TARGET_RSS_MIB,
            f"provider peak RSS growth {backfill['growth']:.1f} MiB",
            f"<= {TARGET_RSS_MIB:g} MiB",
        )
    )
    table.note(
        verdict(backfill["missed"] == 0, f"provider backfill missed {backfill['missed']}", "0 (100 %)")
    )
    limit = math.ceil(changed / 100) + 5
    table.note(
        verdict(
            incremental["calls"] <= limit and incremental["missed"] == 0 and incremental["stale"] == 0,
            f"provider incremental calls {incremental['calls']}, missed {incremental['missed']}, "
            f"stale {incremental['stale']} (lookback 1 h counted)",
            f"<= {limit}, 0, 0",
        )
    )
    table.note(
        f"anchors: backfill missed {rows['anchors backfill']['missed']:,} (stops at 500 pages); "
        f"incremental missed {anchor_missed:,}, stale {anchor_stale:,} (strict cursor)"
    )
    return [table]
