"""example_apollo_warehouse_to_apollo end to end on the sandbox, with a SQLite warehouse.

The prospects table is seeded the way ``run_example.py`` seeds it (``scripts/_upsert_example.py``);
the DAG runs, then 25 rows change and it runs again: the second run must send one
``contacts/bulk_update`` and nothing else, and enrol nobody new. A dry run writes nothing.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
DAG_ID = "example_apollo_warehouse_to_apollo"


def _seeding() -> ModuleType:
    spec = importlib.util.spec_from_file_location("e2e_upsert_example", SCRIPTS / "_upsert_example.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _writes(after: dict[str, Any], before: dict[str, Any]) -> dict[str, int]:
    now, then = after["requests"]["by_endpoint"], before["requests"]["by_endpoint"]
    grown = {key: now[key] - then.get(key, 0) for key in now}
    return {key: n for key, n in grown.items() if n and ("bulk_" in key or "add_contact_ids" in key)}


@pytest.mark.slow  # three example DAG runs
def test_upsert_enrol_change_rerun_and_dry_run(
    sandbox: Any, example_dags: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeding = _seeding()
    sandbox.reset(**seeding.CRM_SIZES)
    database = tmp_path / "warehouse.db"
    monkeypatch.setenv(
        "AIRFLOW_CONN_APOLLO_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(database)})
    )
    seeding.seed_prospects(database, sandbox)
    dag = example_dags.load(DAG_ID)

    before = sandbox.stats()
    first = example_dags.result(example_dags.run(dag), "summary")
    assert first["accounts"]["created"] == 40 and first["accounts"]["invalid"] == 0
    assert (first["contacts"]["created"], first["contacts"]["updated"]) == (300, 100)
    assert first["enrolled"] == 300
    sent = _writes(sandbox.stats(), before)
    assert sent["POST /api/v1/contacts/bulk_create"] == 3 and sent["POST /api/v1/accounts/bulk_create"] == 1

    seeding.change_some_rows(database)
    before = sandbox.stats()
    second = example_dags.result(example_dags.run(dag), "summary")
    assert _writes(sandbox.stats(), before) == {"POST /api/v1/contacts/bulk_update": 1}
    assert (second["contacts"]["updated"], second["contacts"]["unchanged"]) == (25, 375)
    assert second["enrolled"] == 0

    with sqlite3.connect(database) as db:
        db.execute("UPDATE prospects SET title = 'Founder' WHERE prospect_id = 'P00001'")
        reported = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT run_id || task_id) FROM apollo_upsert_report"
        ).fetchone()
    assert reported == (2 * (40 + 400), 4)  # every row of both tasks, for each run
    before = sandbox.stats()
    plan = example_dags.result(example_dags.run(dag, conf={"dry_run": True}), "upsert_contacts")
    assert _writes(sandbox.stats(), before) == {}
    assert (plan["would_update"], plan["sample"]["update"][0]["changes"]) == (1, {"title": "Founder"})
