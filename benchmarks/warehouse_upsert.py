"""Scenario 11: the warehouse -> Apollo upsert of 10,000 rows at a paid-plan shape, then a re-run.

Shape: every CRM endpoint allows ``L`` calls per window of ``W`` seconds (a compressed minute,
counted per endpoint as Apollo counts them) and every request waits an assumed Apollo latency
(0.5 s, compressed by ``W / 60``). The CRM holds ``E`` contacts; the table has ``N`` rows: ``E``
of them are those contacts with a new title (updates), the rest are new people (creates).

Calls the upsert needs: the lookups (stages, users, custom fields: 1 each), the walk of the
team's contacts (``ceil(E / 100)`` pages of ``contacts/search``), ``ceil((N - E) / 100)``
``bulk_create`` and ``ceil(E / 100)`` ``bulk_update``. Each endpoint has its own window, so the
quota's bound is the windows of the busiest endpoint, plus the full windows the walk needs
before the first write can be planned: ``(ceil(walk / L) - 1 + ceil(max(creates, updates) / L)) x W``.
The upsert (reading the rows from SQLite) runs in a child process (its peak RSS is its own);
the re-run of the same table must send 0 writes.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.measure import current_rss_mib, peak_rss_mib, quiet_logging, reset_peak_rss, run_children
from benchmarks.report import Table, verdict

TITLE = "11. Warehouse -> Apollo upsert: 10,000 rows (creates and updates), then a re-run (paid-plan shape)"
TARGET_RATIO = 1.15
TARGET_RSS_MIB = 64.0
FIELD_MAP = {"email": "email", "first_name": "first_name", "last_name": "last_name", "title": "title"}


@dataclass(frozen=True)
class Sizes:
    """The run's size.

    :param rows: ``N``, rows in the table.
    :param existing: ``E``, contacts already in Apollo (and in the table, with a new title).
    :param per_window: ``L``, calls per endpoint per window.
    :param window_seconds: ``W``, the compressed minute.
    :param latency_seconds: assumed Apollo latency per request (compressed by ``W / 60``).
    """

    rows: int
    existing: int
    per_window: int
    window_seconds: float
    latency_seconds: float = 0.5


QUICK = Sizes(rows=1_000, existing=200, per_window=4, window_seconds=0.5)
FULL = Sizes(rows=10_000, existing=2_000, per_window=20, window_seconds=2.0)


@dataclass(frozen=True)
class UpsertJob:
    """One child's work: the SQLite file holding ``prospects``."""

    database: str


def upsert_worker(job: UpsertJob, gate: Any) -> dict[str, Any]:
    """One run of the upsert, timed, with its peak RSS growth."""
    quiet_logging()
    from airflow_provider_apollo._api.crm_upsert import check_mapping, upsert_object
    from airflow_provider_apollo._warehouse.rows import sql_rows
    from airflow_provider_apollo.hooks.apollo import ApolloHook
    from airflow_provider_apollo.transfers._upsert import Upsert

    os.environ["AIRFLOW_CONN_APOLLO_WAREHOUSE"] = json.dumps({"conn_type": "sqlite", "host": job.database})
    mapping = check_mapping(upsert_object("contacts"), FIELD_MAP, "email")
    list(sql_rows("apollo_warehouse", "SELECT 1"))  # warm up: imports, driver, file
    hook = ApolloHook()
    gate()
    exact = reset_peak_rss()
    before = current_rss_mib()
    started = time.monotonic()
    result = Upsert(hook, mapping).run(sql_rows("apollo_warehouse", "SELECT * FROM prospects")).as_dict()
    ended = time.monotonic()
    return {
        "ended": ended,
        "seconds": ended - started,
        "growth": peak_rss_mib() - before,
        "exact_peak": exact,
        **{k: result[k] for k in ("created", "updated", "unchanged", "failed", "calls", "writes")},
    }


def _seed(database: str, sandbox: Any, sizes: Sizes) -> None:
    existing = [c["email"] for c in sandbox.state.contacts.values() if c.get("email")][: sizes.existing]
    rows = [
        (
            existing[n] if n < len(existing) else f"row{n}@bench{n % 97}.example.org",
            f"First{n}",
            f"Last{n}",
            "Head of Data" if n < len(existing) else "VP Sales",
        )
        for n in range(sizes.rows)
    ]
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE prospects (email TEXT, first_name TEXT, last_name TEXT, title TEXT)")
        db.executemany("INSERT INTO prospects VALUES (?, ?, ?, ?)", rows)


def run(quick: bool) -> list[Table]:
    """Upsert, then re-run the same table; each measured against the quota's bound.

    :param quick: a small table for CI.
    """
    from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxFaults, SandboxLimits, WindowLimits

    sizes = QUICK if quick else FULL
    limits = SandboxLimits(
        other=WindowLimits(per_minute=sizes.per_window), minute_seconds=sizes.window_seconds
    )
    latency = sizes.latency_seconds * sizes.window_seconds / 60
    walk = math.ceil(sizes.existing / 100)
    creates = math.ceil((sizes.rows - sizes.existing) / 100)
    updates = math.ceil(sizes.existing / 100)
    windows = math.ceil(walk / sizes.per_window) - 1 + math.ceil(max(creates, updates) / sizes.per_window)
    bound = windows * sizes.window_seconds
    # The re-run walks the contacts the first run created too: N in all (the CRM held only E).
    rerun_walk = math.ceil(sizes.rows / 100)
    rerun_bound = math.ceil(rerun_walk / sizes.per_window) * sizes.window_seconds
    rows: dict[str, dict[str, Any]] = {}
    with (
        ApolloSandbox(seed=8, people=200, limits=limits, crm_contacts=sizes.existing, crm_users=2) as sandbox,
        tempfile.TemporaryDirectory(prefix="apollo-benchmark-upsert-") as folder,
    ):
        sandbox.configure(faults=SandboxFaults(slow=1.0, slow_seconds=latency))
        database = str(Path(folder) / "warehouse.db")
        _seed(database, sandbox, sizes)
        connection = json.loads(sandbox.connection_json)
        for name in ("upsert", "re-run"):
            # The minute windows restart with the sandbox's counters: each run meets a fresh quota.
            store = tempfile.mkdtemp(prefix="apollo-quota-", dir=folder)
            os.environ["AIRFLOW_CONN_APOLLO_DEFAULT"] = json.dumps(
                {**connection, "extra": {"quota_store": store}}
            )
            started, (report,) = run_children(
                upsert_worker, [UpsertJob(database)], before_start=sandbox.runtime.limiter.reset, timeout=3600
            )
            report["wall"] = report["ended"] - started
            rows[name] = report
    table = Table(
        TITLE,
        [
            "run",
            "wall (s)",
            "wall / bound",
            "API calls",
            "writes",
            "created",
            "updated",
            "unchanged",
            "peak RSS growth (MiB)",
        ],
    )
    for name, report in rows.items():
        table.add_row(
            name,
            report["wall"],
            report["wall"] / (bound if name == "upsert" else rerun_bound),
            report["calls"],
            report["writes"],
            report["created"],
            report["updated"],
            report["unchanged"],
            report["growth"],
        )
    table.note(
        f"N={sizes.rows:,} rows, E={sizes.existing:,} already contacts (new title); "
        f"L={sizes.per_window} calls per endpoint per window, W={sizes.window_seconds:g}s; "
        f"latency {sizes.latency_seconds:g}s compressed to {1000 * latency:.1f} ms"
    )
    table.note(
        f"calls needed: walk {walk}, bulk_create {creates}, bulk_update {updates} (no lookup: no stage, "
        f"owner, label or custom field mapped); bound = (ceil({walk}/L) - 1 + "
        f"ceil({max(creates, updates)}/L)) windows = {windows} x {sizes.window_seconds:g}s = {bound:g}s"
    )
    first, again = rows["upsert"], rows["re-run"]
    ratio = first["wall"] / bound
    table.note(verdict(ratio <= TARGET_RATIO, f"upsert wall/bound {ratio:.2f}", f"<= {TARGET_RATIO}"))
    table.note(
        verdict(
            first["writes"] == creates + updates and first["failed"] == 0,
            f"upsert writes {first['writes']}",
            f"= {creates} + {updates}",
        )
    )
    table.note(
        f"re-run: walk {rerun_walk} pages, bound ceil({rerun_walk}/L) windows = {rerun_bound:g}s; "
        "it must write nothing"
    )
    table.note(verdict(again["writes"] == 0, f"re-run writes {again['writes']}", "0"))
    table.note(
        verdict(
            first["growth"] <= TARGET_RSS_MIB,
            f"peak RSS growth {first['growth']:.1f} MiB for {sizes.rows:,} rows",
            f"<= {TARGET_RSS_MIB:g} MiB (rows streamed 1,000 at a time)",
        )
    )
    return [table]
