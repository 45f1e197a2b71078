"""The CRM export example's extras for ``run_example.py``: a seeded CRM, a SQLite warehouse, counts.

Imported inside the project venv only (it reads the warehouse with the standard library's sqlite3).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DAG_ID = "example_apollo_crm_export"
#: The sandbox CRM the example exports (small enough for a demo; the benchmarks go to 120,000).
CRM_SIZES = {"crm_contacts": 2500, "crm_accounts": 250, "crm_deals": 80, "crm_tasks": 300, "crm_users": 5}
#: What the reps do between the two runs of ``--twice`` (``POST /_sandbox/activity``).
ACTIVITY = {
    "seed": 17,
    "update": 40,
    "create": 15,
    "delete": 5,
    "move_stage": 20,
    "account_update": 5,
    "account_create": 2,
    "deal_update": 3,
    "task_complete": 10,
}


def warehouse_connection(directory: Path) -> tuple[str, Path]:
    """``(AIRFLOW_CONN_APOLLO_WAREHOUSE value, database file)``: a SQLite file in ``directory``."""
    database = directory / "apollo_warehouse.db"
    return json.dumps({"conn_type": "sqlite", "host": str(database)}), database


def print_table_counts(database: Path) -> None:
    """Live and deleted rows of every ``apollo_*`` table, and each export's cursor."""
    print(f"\n--- warehouse tables ({database}) ---")
    if not database.exists():
        print("    (no warehouse file: the run wrote nothing)")
        return
    with sqlite3.connect(database) as db:
        tables = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'apollo_%' ORDER BY name"
            )
        ]
        for table in tables:
            if table == "apollo_export_state":
                continue
            live, deleted = db.execute(
                f"SELECT COUNT(*) - COUNT(deleted_at), COUNT(deleted_at) FROM {table}"
            ).fetchone()
            print(f"    {table:<28} {live:>7} live {deleted:>5} deleted")
        if "apollo_export_state" in tables:
            for name, cursor in db.execute(
                "SELECT object, cursor_value FROM apollo_export_state WHERE cursor_value IS NOT NULL"
            ):
                print(f"    cursor of {name}: {cursor}")


def print_activity(done: Mapping[str, Any]) -> None:
    """What ``POST /_sandbox/activity`` answered."""
    print("\n==> the reps' activity (POST /_sandbox/activity):")
    print("    " + json.dumps(done, sort_keys=True, default=str)[:600])


def print_calls_read(summary: Any) -> None:
    """The calls each object's export spent, from the DAG's summary."""
    if not isinstance(summary, Mapping):
        return
    objects = summary.get("objects", {})
    parts = [f"{name} {o['calls']} ({o['mode']})" for name, o in objects.items()]
    print(f"    calls by object: {', '.join(parts)}; total {summary.get('calls')} (0 credits)")
