"""Apollo CRM to the warehouse: a daily, incremental, complete export of every CRM object.

``example_apollo_crm_export`` exports contacts, accounts, deals (opportunities), tasks,
sequences, users, labels and the stage lists into ``apollo_<object>`` tables on the SQL
connection ``apollo_warehouse`` (SQLite, PostgreSQL...), and also as gzip JSON Lines under
``export_path`` when that param (or the Variable ``apollo_export_path``) is set. Contacts are
read incrementally (only what changed since the last run, plus a lookback); the other objects
are snapshots compared by content hash. Deleted contacts are found by a reconcile, which reads
every contact: it runs on Sundays, or in any run triggered with ``{"reconcile": true}``.

Each export task emits an event of its object's Asset (``apollo://crm/<object>``) whose extra
says what changed; ``example_apollo_crm_changes`` is scheduled on the contacts Asset and reports
the change. ``python scripts/run_example.py --dag example_apollo_crm_export --twice`` runs it on
the sandbox with a SQLite warehouse, with a burst of rep activity between the two runs.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_apollo.transfers.apollo_to_sql import (
    EXPORTABLE_OBJECTS,
    ApolloCrmExportOperator,
    crm_export_asset,
)

APOLLO_POOL = os.environ.get("APOLLO_POOL", "default_pool")
DEFAULT_ARGS: dict[str, Any] = {"retries": 2, "retry_delay": timedelta(seconds=10), "pool": APOLLO_POOL}

# [START howto_apollo_crm_export]
with DAG(
    dag_id="example_apollo_crm_export",
    description="Export Apollo's CRM objects to the warehouse (incremental, complete, deletes confirmed).",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # two runs of one export would read the same pages twice
    render_template_as_native_obj=True,
    default_args=DEFAULT_ARGS,
    params={
        "reconcile": Param(
            False,
            type="boolean",
            description="Also read every contact and mark the deleted ones (default: on Sundays).",
        ),
        "export_path": Param(
            "",
            type="string",
            description="Object-storage URL or absolute path for gzip JSON Lines ('' = SQL only).",
        ),
    },
    tags=["apollo", "example", "warehouse"],
) as dag:
    exports = [
        ApolloCrmExportOperator(
            task_id=f"export_{name}",
            object=name,
            sql_conn_id="apollo_warehouse",
            export_path="{{ params.export_path or var.value.get('apollo_export_path', '') }}",
            # Contacts only (snapshots confirm deletes on every run). Weekly by default: a
            # reconcile reads every contact, N/100 calls of quota.
            reconcile="{{ params.reconcile or dag_run.run_after.weekday() == 6 }}"
            if name == "contacts"
            else False,
            lookback=timedelta(hours=1),
        )
        for name in EXPORTABLE_OBJECTS
    ]

    @task
    def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
        """What each object's export did, and the calls the run spent (0 credits)."""
        return {
            "objects": {
                r["object"]: {k: r[k] for k in ("mode", "created", "updated", "deleted", "records", "calls")}
                for r in results
            },
            "calls": sum(r["calls"] for r in results),
        }

    summary([export.output for export in exports])
# [END howto_apollo_crm_export]

# [START howto_apollo_crm_changes]
CONTACTS_CHANGED = crm_export_asset("contacts")

with DAG(
    dag_id="example_apollo_crm_changes",
    description="Runs after each contacts export: what changed, from the Asset event.",
    schedule=[CONTACTS_CHANGED],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["apollo", "example", "warehouse"],
) as changes_dag:

    @task(inlets=[CONTACTS_CHANGED])
    def report_changes(*, inlet_events: Any = None) -> dict[str, Any]:
        """The newest contacts export's counts and cursor: start downstream models from here."""
        events = inlet_events[CONTACTS_CHANGED] if inlet_events is not None else []
        if not events:
            return {"created": 0, "updated": 0, "deleted": 0, "cursor": None}
        extra = dict(events[-1].extra)
        return {k: extra.get(k) for k in ("created", "updated", "deleted", "cursor", "mode")}

    report_changes()
# [END howto_apollo_crm_changes]


if __name__ == "__main__":
    dag.test()
