"""Hiring signals: when a target account posts matching jobs, call its decision makers.

job-postings sensor on the target accounts' domains -> decision makers (VP, head, director,
C-suite) at the organizations that are hiring -> enrich -> contacts -> a call task for each,
assigned to the Apollo user ``task_owner_email`` and due the day after the run's date.

The run's date is ``dag_run.run_after``, which Airflow 3 sets on every run: a run triggered
without a logical date (``airflow dags trigger`` or the REST API without one) has no
``logical_date``, ``ds`` or data interval, and these templates must render there too.

Job postings cost a credit per page per organization (and resolving a domain a credit), so
the sensor pokes hourly in ``reschedule`` mode: it frees its worker slot between pokes.
Runs as is against the local sandbox::

    python3 scripts/run_example.py --dag example_apollo_hiring_signals
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, get_current_context, task

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators.contacts import ApolloCreateContactsOperator
from airflow_provider_apollo.operators.enrichment import ApolloEnrichPeopleOperator
from airflow_provider_apollo.operators.search import ApolloSearchPeopleOperator
from airflow_provider_apollo.operators.tasks import ApolloCreateTasksOperator
from airflow_provider_apollo.sensors.job_postings import ApolloJobPostingsSensor

#: Apollo seniority values of the people who decide on a purchase.
DECISION_MAKER_SENIORITIES = ["c_suite", "vp", "head", "director"]
#: Midnight UTC ``lookback_days`` before the run's date: whole days, so that a retry or a
#: re-run of the same DAG run looks at the same postings. ``run_after`` is always set (a
#: scheduled run's is its logical date; a run triggered without a logical date has one too).
POSTED_SINCE = (
    "{{ (dag_run.run_after - macros.timedelta(days=params.lookback_days))"
    ".strftime('%Y-%m-%dT00:00:00+00:00') }}"
)
#: 09:00 UTC the day after the run's date: the same value on every retry and re-run of the DAG
#: run, which is what lets the operator recognise the tasks it already created.
DUE_AT = "{{ (dag_run.run_after + macros.timedelta(days=1)).strftime('%Y-%m-%dT09:00:00+00:00') }}"

# Workers on several hosts share one Apollo key, and so one set of rate-limit windows: give the
# Apollo tasks their own Airflow pool in production (`airflow pools set apollo 4 "Apollo API"`,
# then APOLLO_POOL=apollo) so the scheduler caps how many run at once, wherever they run.
APOLLO_POOL = os.environ.get("APOLLO_POOL", "default_pool")

with DAG(
    dag_id="example_apollo_hiring_signals",
    description="Call the decision makers of target accounts that are hiring for matching roles.",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10), "pool": APOLLO_POOL},
    params={
        "target_domains": Param(
            # Accounts of the sandbox world (seed 42): two posted sales roles yesterday, one did not.
            ["atlas-networks.example.com", "summit-systems.example.com", "beacon-foods.example.com"],
            type="array",
            items={"type": "string"},
            minItems=1,
            title="Target account domains",
        ),
        "title_keywords": Param(
            ["sales", "revenue", "account executive"],
            type="array",
            items={"type": "string"},
            title="Job title keywords",
            description="A posting counts when its title contains any of these (case-insensitive).",
        ),
        "lookback_days": Param(
            1,
            type="integer",
            minimum=0,
            title="Postings since the start of the day N days before the run's date",
            description="1 (default): postings published since the start of the previous day count.",
        ),
        "max_people_per_run": Param(20, type="integer", minimum=1, title="Decision makers per run"),
        "max_credits": Param(40, type="integer", minimum=0, title="Credit budget for enrichment"),
        "label": Param("Airflow hiring signals", type="string", title="Label for the new contacts"),
        "task_owner_email": Param(
            "owner@sandbox.example.com", type="string", title="Apollo user who gets the call tasks"
        ),
    },
    tags=["apollo", "example", "signals"],
    doc_md=__doc__,
) as dag:
    # [START howto_sensor_apollo_job_postings]
    hiring = ApolloJobPostingsSensor(
        task_id="wait_for_job_postings",
        organization_domains="{{ params.target_domains }}",
        title_keywords="{{ params.title_keywords }}",
        posted_after=POSTED_SINCE,
        poke_interval=3600,
        mode="reschedule",
        timeout=timedelta(hours=20),  # give up before the next daily run starts
    )
    # [END howto_sensor_apollo_job_postings]

    @task
    def decision_maker_filters(hiring_organizations: list[dict[str, Any]]) -> dict[str, Any]:
        """People-search filters for the decision makers of the organizations that are hiring.

        :param hiring_organizations: what the job-postings sensor returned.
        """
        organization_ids = sorted({entry["organization_id"] for entry in hiring_organizations})
        print(f"{len(organization_ids)} target organizations are hiring: {', '.join(organization_ids)}")
        return {"organization_ids": organization_ids, "person_seniorities": DECISION_MAKER_SENIORITIES}

    people = ApolloSearchPeopleOperator(
        task_id="search_decision_makers",
        filters=decision_maker_filters(hiring.output),
        max_records="{{ params.max_people_per_run }}",
    )

    enriched = ApolloEnrichPeopleOperator(
        task_id="enrich_decision_makers",
        people=people.output,
        max_credits="{{ params.max_credits }}",
        on_budget_exhausted="skip",
    )

    contacts = ApolloCreateContactsOperator(
        task_id="create_contacts",
        contacts=enriched.output,
        label_names=["{{ params.label }}"],
    )

    @task
    def task_owner() -> str:
        """The Apollo user id of ``params.task_owner_email``: who the call tasks are for."""
        email = str(get_current_context()["params"]["task_owner_email"]).strip().lower()
        users = ApolloHook().list_users()
        for user in users:
            if str(user.get("email", "")).lower() == email:
                return str(user["id"])
        known = ", ".join(sorted(str(user.get("email")) for user in users)) or "none"
        raise ApolloConfigurationError(
            f"params.task_owner_email: no Apollo user has the email {email!r} (users: {known}). "
            "Trigger the DAG with the email of a user of your team."
        )

    # [START howto_operator_apollo_create_tasks]
    call_tasks = ApolloCreateTasksOperator(
        task_id="create_call_tasks",
        contact_ids=contacts.output,
        task_type="call",
        priority="high",
        due_at=DUE_AT,
        user_id=task_owner(),
        note="{{ params.label }}: the account is hiring for matching roles.",
    )
    # [END howto_operator_apollo_create_tasks]

    @task
    def summary(
        hiring_organizations: list[dict[str, Any]],
        enrichment: list[dict[str, Any]],
        created_contacts: list[dict[str, Any]],
        tasks: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """Count what the run found and created, print it, and return it.

        :param hiring_organizations: what the job-postings sensor returned.
        :param enrichment: one result per decision maker from the enrich task.
        :param created_contacts: contact records from the create-contacts task.
        :param tasks: the call tasks (created now or already there).
        """
        counts = {
            "hiring_organizations": len(hiring_organizations),
            "matching_postings": sum(len(entry.get("postings", [])) for entry in hiring_organizations),
            "decision_makers": len(enrichment),
            "enriched": sum(1 for result in enrichment if result["status"] == "matched"),
            "existing_contacts": sum(1 for result in enrichment if result["status"] == "existing_contact"),
            "contacts": len(created_contacts),
            "call_tasks": len(tasks),
        }
        print("Hiring signals summary:")
        for name, value in counts.items():
            print(f"  {name:<22} {value}")
        return counts

    summary(hiring.output, enriched.output, contacts.output, call_tasks.output)


if __name__ == "__main__":
    dag.test()
