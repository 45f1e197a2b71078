"""Data-aware scheduling: one DAG finds new prospects, another runs whenever they arrive.

``example_apollo_assets_producer`` searches people (0 credits) and writes them to a file
through ``output_path``. Because that path is a literal, the search task declares it as an
outlet Asset: each successful run records an event of the Asset, whose ``extra`` is what the
task returned, ``{"path", "count"}``.

``example_apollo_assets_consumer`` is scheduled on that Asset (``schedule=[PROSPECTS]``), so
the scheduler runs it after each producer run. It reads the newest event, enriches the people
in the file within a credit budget, makes them contacts, enrols them in a sequence and gives
each one a call task. In the Airflow UI, those tasks have buttons that open the contacts, the
sequence and the task list in Apollo.

The file is under ``$AIRFLOW_HOME/apollo/``: fine on one machine. On a cluster, give an
object-storage URL (``s3://aws_default@bucket/apollo/new_prospects.jsonl``): the Asset is then
``s3://bucket/apollo/new_prospects.jsonl``. Runs as is against the local sandbox (set up as
in docs/examples.md): ``python example_dags/example_apollo_assets.py`` runs the producer, then
the consumer.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, get_current_context, task

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.operators.assets import output_asset
from airflow_provider_apollo.operators.contacts import ApolloCreateContactsOperator
from airflow_provider_apollo.operators.enrichment import ApolloEnrichPeopleOperator
from airflow_provider_apollo.operators.search import ApolloSearchPeopleOperator
from airflow_provider_apollo.operators.sequences import ApolloAddToSequenceOperator
from airflow_provider_apollo.operators.tasks import ApolloCreateTasksOperator

#: Where the producer writes the people it found: a literal path, so its Asset is known at parse time.
PROSPECTS_PATH = str(
    Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow") / "apollo" / "new_prospects.jsonl"
)
#: The Asset the producer's search task declares for PROSPECTS_PATH (``file:///.../new_prospects.jsonl``).
PROSPECTS = output_asset(PROSPECTS_PATH)

# Workers on several hosts share one Apollo key, and so one set of rate-limit windows: give the
# Apollo tasks their own Airflow pool in production (`airflow pools set apollo 4 "Apollo API"`,
# then APOLLO_POOL=apollo) so the scheduler caps how many run at once, wherever they run.
APOLLO_POOL = os.environ.get("APOLLO_POOL", "default_pool")

DEFAULT_ARGS: dict[str, Any] = {"retries": 2, "retry_delay": timedelta(seconds=10), "pool": APOLLO_POOL}

with DAG(
    dag_id="example_apollo_assets_producer",
    description="Search new prospects and write them to a file that is an Airflow Asset.",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args=DEFAULT_ARGS,
    params={
        "person_titles": Param(["sales"], type="array", items={"type": "string"}, title="Job titles"),
        "person_seniorities": Param(
            ["vp", "head", "director"], type="array", items={"type": "string"}, title="Seniorities"
        ),
        "person_locations": Param(
            ["United States"], type="array", items={"type": "string"}, title="Person locations"
        ),
        "max_people": Param(10, type="integer", minimum=1, maximum=50000, title="People per run"),
    },
    tags=["apollo", "example", "assets"],
    doc_md=__doc__,
) as dag:
    # [START howto_operator_apollo_output_asset]
    ApolloSearchPeopleOperator(
        task_id="search_new_prospects",
        filters={
            "person_titles": "{{ params.person_titles }}",
            "person_seniorities": "{{ params.person_seniorities }}",
            "person_locations": "{{ params.person_locations }}",
        },
        max_records="{{ params.max_people }}",
        # A literal path: the task declares outlets=[PROSPECTS] by itself. A templated path
        # (".../{{ ds }}.jsonl") has no URI at parse time: pass outlets=[Asset(...)] then.
        output_path=PROSPECTS_PATH,
    )
    # [END howto_operator_apollo_output_asset]


with DAG(
    dag_id="example_apollo_assets_consumer",
    description="Whenever new prospects arrive: enrich them, make them contacts, enrol them, plan calls.",
    # [START howto_schedule_on_apollo_output_asset]
    schedule=[PROSPECTS],
    # [END howto_schedule_on_apollo_output_asset]
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args=DEFAULT_ARGS,
    params={
        "max_credits": Param(20, type="integer", minimum=0, title="Credit budget per run"),
        "label": Param("Airflow new prospects", type="string", title="Label for the new contacts"),
        "sequence_name": Param("Sandbox Outreach", type="string", title="Sequence to enrol the contacts in"),
        "email_account": Param(
            "sdr@sandbox.example.com",
            type="string",
            title="Sender email account (an address linked in Apollo)",
        ),
    },
    tags=["apollo", "example", "assets"],
    doc_md=__doc__,
) as consumer_dag:
    # [START howto_read_apollo_output_asset]
    @task(inlets=[PROSPECTS], multiple_outputs=False)
    def newest_prospects() -> dict[str, Any]:
        """The newest event's ``{"path", "count"}``: the input the enrich operator reads the file from.

        ``inlet_events`` works in every run, including one triggered by hand or by ``dag.test()``,
        where no event "triggered" the run.
        """
        events = get_current_context()["inlet_events"][PROSPECTS]
        if not events:
            raise ApolloConfigurationError(
                f"No event of {PROSPECTS.uri} yet: run example_apollo_assets_producer first."
            )
        reference = dict(events[-1].extra)
        print(f"{reference['count']} new prospects in {reference['path']}")
        return reference

    enriched = ApolloEnrichPeopleOperator(
        task_id="enrich_prospects",
        people=newest_prospects(),  # a {"path", "count"} reference: the records are read from the file
        max_credits="{{ params.max_credits }}",
        on_budget_exhausted="skip",
    )
    # [END howto_read_apollo_output_asset]

    contacts = ApolloCreateContactsOperator(
        task_id="create_contacts",
        contacts=enriched.output,
        label_names=["{{ params.label }}"],
    )

    ApolloAddToSequenceOperator(
        task_id="add_to_sequence",
        sequence_name="{{ params.sequence_name }}",
        email_account="{{ params.email_account }}",
        contact_ids=contacts.output,
    )

    ApolloCreateTasksOperator(
        task_id="create_call_tasks",
        contact_ids=contacts.output,
        task_type="call",
        # The same due date on every retry, so the operator recognises the tasks it created.
        due_at="{{ (logical_date or dag_run.run_after).strftime('%Y-%m-%dT09:00:00+00:00') }}",
        # None: the team's only Apollo user (as in the sandbox); name the owner on a bigger team.
        user_id=None,
        note="New prospect from {{ params.label }}",
    )


if __name__ == "__main__":
    dag.test()  # the producer: writes the file and records an event of PROSPECTS
    consumer_dag.test()  # reads the newest event's file
