"""Warehouse to Apollo: make Apollo's accounts and contacts match a ``prospects`` table, then enrol the new.

``example_apollo_warehouse_to_apollo`` reads the ``prospects`` table on the SQL connection
``apollo_warehouse`` (SQLite by default; any ``common.sql`` connection) and upserts its companies
into Apollo accounts (matched by domain: stage and owner) and its people into Apollo contacts
(matched by email: name, title, company, stage by name, owner by email, the custom fields
"Lead Source" and "ICP Score"). Apollo's current records are read first (0 credits) and only
what differs is written: a re-run of an unchanged table sends no write. Every row's result lands
in the ``apollo_upsert_report`` table; the contacts created by this run are enrolled in a
sequence. Trigger with ``{"dry_run": true}`` to see the plan (counts and a sample) with no write.

``python scripts/run_example.py --dag example_apollo_warehouse_to_apollo --twice`` seeds the
table, runs the DAG on the sandbox, changes a few rows and runs it again.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_apollo.operators.sequences import ApolloAddToSequenceOperator
from airflow_provider_apollo.transfers.warehouse_to_apollo import ApolloUpsertOperator

APOLLO_POOL = os.environ.get("APOLLO_POOL", "default_pool")
DEFAULT_ARGS: dict[str, Any] = {"retries": 2, "retry_delay": timedelta(seconds=10), "pool": APOLLO_POOL}

# [START howto_apollo_warehouse_to_apollo]
with DAG(
    dag_id="example_apollo_warehouse_to_apollo",
    description="Upsert a prospects table into Apollo accounts and contacts (only what changed).",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args=DEFAULT_ARGS,
    params={
        "dry_run": Param(
            False, type="boolean", description="Read and diff only: report the plan, write nothing."
        ),
        "sequence_name": Param("Sandbox Outreach", type="string", description="Sequence for new contacts."),
        "email_account": Param("sdr@sandbox.example.com", type="string", description="Sending mailbox."),
    },
    tags=["apollo", "example", "warehouse"],
) as dag:
    accounts = ApolloUpsertOperator(
        task_id="upsert_accounts",
        object="accounts",
        sql_conn_id="apollo_warehouse",
        # One row per company: the accounts' fields come from the prospects table.
        sql="""
            SELECT company_domain AS domain, MIN(company_name) AS name,
                   MIN(account_stage) AS stage, MIN(account_owner) AS owner
            FROM prospects GROUP BY company_domain
        """,
        field_map={"domain": "domain", "name": "name", "stage": "stage", "owner": "owner"},
        match_on="domain",
        report_table="apollo_upsert_report",
        dry_run="{{ params.dry_run }}",
    )
    contacts = ApolloUpsertOperator(
        task_id="upsert_contacts",
        object="contacts",
        sql_conn_id="apollo_warehouse",
        sql="""
            SELECT email, first_name, last_name, title, company_name, lifecycle_stage,
                   owner_email, lead_source, icp_score
            FROM prospects
        """,
        field_map={
            "email": "email",
            "first_name": "first_name",
            "last_name": "last_name",
            "title": "title",
            "company_name": "organization_name",
            "lifecycle_stage": "stage",  # a contact stage, by name
            "owner_email": "owner",  # a team user, by email
            "lead_source": "custom:Lead Source",  # custom fields, by name
            "icp_score": "custom:ICP Score",
        },
        match_on="email",
        report_table="apollo_upsert_report",
        dry_run="{{ params.dry_run }}",
    )
    enrolment = ApolloAddToSequenceOperator(
        task_id="enrol_new_contacts",
        sequence_name="{{ params.sequence_name }}",
        email_account="{{ params.email_account }}",
        # Only the contacts this run created (none on a re-run, none in a dry run).
        contact_ids="{{ ti.xcom_pull(task_ids='upsert_contacts')['created_ids'] }}",
        # Warehouse sign-ups carry addresses Apollo has not verified yet: enrol them anyway.
        sequence_unverified_email=True,
    )
    # [END howto_apollo_warehouse_to_apollo]

    @task
    def summary(
        accounts: dict[str, Any], contacts: dict[str, Any], enrolled: dict[str, Any]
    ) -> dict[str, Any]:
        """What each upsert did and how many calls and writes it sent (0 credits)."""
        keys = ("rows", "created", "updated", "unchanged", "invalid", "failed", "calls", "writes", "lookup")
        return {
            "accounts": {k: accounts.get(k) for k in keys},
            "contacts": {k: contacts.get(k) for k in keys},
            "enrolled": len(enrolled.get("added") or []),
            "dry_run": contacts.get("dry_run"),
        }

    accounts >> contacts >> enrolment
    summary(accounts.output, contacts.output, enrolment.output)


if __name__ == "__main__":
    dag.test()
