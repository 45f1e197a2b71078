"""Daily prospecting: search people, enrich them, make them contacts, enrol them in a sequence.

search (0 credits) -> enrich (1 credit per match; people who are already contacts are read
back for free) -> create contacts (deduplicated, labelled) -> add to a sequence by name ->
summary of what happened and what it cost.

Every step is safe to retry and to re-run: the second run over the same people spends no
credit, creates no contact and enrols nobody twice. Runs as is against the local sandbox::

    python3 scripts/run_example.py

Against Apollo, set the ``apollo_default`` connection to your API key and override the
params that name things in your team (``sequence_name``, ``email_account``).
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_apollo.operators.contacts import ApolloCreateContactsOperator
from airflow_provider_apollo.operators.enrichment import ApolloEnrichPeopleOperator
from airflow_provider_apollo.operators.search import ApolloSearchPeopleOperator
from airflow_provider_apollo.operators.sequences import ApolloAddToSequenceOperator

# Workers on several hosts share one Apollo key, and so one set of rate-limit windows: give the
# Apollo tasks their own Airflow pool in production (`airflow pools set apollo 4 "Apollo API"`,
# then APOLLO_POOL=apollo) so the scheduler caps how many run at once, wherever they run.
APOLLO_POOL = os.environ.get("APOLLO_POOL", "default_pool")

with DAG(
    dag_id="example_apollo_prospecting",
    description="Search, enrich, create contacts and enrol them in a sequence, within a credit budget.",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # two overlapping runs would race to enrich the same people
    # Params render as Python objects ("{{ params.person_titles }}" is a list, not its repr).
    render_template_as_native_obj=True,
    default_args={
        # Every task is safe to retry: enrichment skips people already paid for, contacts are
        # deduplicated by Apollo, enrolment is idempotent.
        "retries": 2,
        "retry_delay": timedelta(seconds=10),
        "pool": APOLLO_POOL,
    },
    params={
        "person_titles": Param(
            ["sales", "revenue", "business development"],
            type="array",
            items={"type": "string"},
            title="Job titles",
            description="Apollo matches each title as a case-insensitive phrase.",
        ),
        "person_seniorities": Param(
            ["c_suite", "vp", "head", "director"],
            type="array",
            items={"type": "string"},
            title="Seniorities",
            description="Apollo seniority values: owner, founder, c_suite, partner, vp, head, director, ...",
        ),
        "person_locations": Param(
            ["United States"], type="array", items={"type": "string"}, title="Person locations"
        ),
        "organization_num_employees_ranges": Param(
            ["51,200", "201,500", "501,1000", "1001,5000", "5001,10000"],
            type="array",
            items={"type": "string"},
            title="Company sizes",
            description="Employee-count ranges as 'min,max' strings.",
        ),
        "max_people": Param(25, type="integer", minimum=1, maximum=50000, title="People per run"),
        "max_credits": Param(
            50,
            type="integer",
            minimum=0,
            title="Credit budget",
            description="Enrichment never starts a batch that could spend more than this.",
        ),
        "label": Param("Airflow prospects", type="string", title="Label for the new contacts"),
        "sequence_name": Param("Sandbox Outreach", type="string", title="Sequence to enrol the contacts in"),
        "email_account": Param(
            "sdr@sandbox.example.com",
            type="string",
            title="Sender email account (an address linked in Apollo)",
        ),
    },
    tags=["apollo", "example", "prospecting"],
    doc_md=__doc__,
) as dag:
    # [START howto_operator_apollo_search_people]
    people = ApolloSearchPeopleOperator(
        task_id="search_people",
        filters={
            "person_titles": "{{ params.person_titles }}",
            "person_seniorities": "{{ params.person_seniorities }}",
            "person_locations": "{{ params.person_locations }}",
            "organization_num_employees_ranges": "{{ params.organization_num_employees_ranges }}",
        },
        max_records="{{ params.max_people }}",
    )
    # [END howto_operator_apollo_search_people]

    # [START howto_operator_apollo_enrich_people]
    enriched = ApolloEnrichPeopleOperator(
        task_id="enrich_people",
        people=people.output,
        skip_existing_contacts=True,
        max_credits="{{ params.max_credits }}",
        # A daily job keeps what the budget paid for and picks the rest up tomorrow.
        on_budget_exhausted="skip",
    )
    # [END howto_operator_apollo_enrich_people]

    # [START howto_operator_apollo_create_contacts]
    contacts = ApolloCreateContactsOperator(
        task_id="create_contacts",
        contacts=enriched.output,
        run_dedupe=True,
        label_names=["{{ params.label }}"],
    )
    # [END howto_operator_apollo_create_contacts]

    # [START howto_operator_apollo_add_to_sequence]
    enrolment = ApolloAddToSequenceOperator(
        task_id="add_to_sequence",
        sequence_name="{{ params.sequence_name }}",
        email_account="{{ params.email_account }}",
        contact_ids=contacts.output,
    )
    # [END howto_operator_apollo_add_to_sequence]

    @task
    def summary(
        found: list[dict[str, Any]],
        enrichment: list[dict[str, Any]],
        created: list[dict[str, Any]],
        enrolled: dict[str, Any],
    ) -> dict[str, Any]:
        """Count what the run did and spent, print it, and return it (for XCom and the runner).

        :param found: people returned by the search.
        :param enrichment: one result per person from the enrich task.
        :param created: contact records from the create-contacts task.
        :param enrolled: the add-to-sequence task's ``{"added", "skipped"}`` answer.
        """
        statuses = Counter(result["status"] for result in enrichment)
        already_contacts = {
            result["person"]["id"] for result in enrichment if result["status"] == "existing_contact"
        }
        skipped = Counter(enrolled["skipped"].values())  # e.g. no_email, already_in_sequence
        counts = {
            "found": len(found),
            "enriched": statuses["matched"],
            "not_found": statuses["not_found"],
            "existing_contacts": statuses["existing_contact"],
            "skipped_budget": statuses["skipped_budget"],
            # Without phone reveals Apollo charges one credit per matched person and nothing else.
            "credits_spent": statuses["matched"],
            "contacts_created": len({contact["id"] for contact in created} - already_contacts),
            "enrolled": len(enrolled["added"]),
            "skipped": dict(skipped),
        }
        print("Prospecting summary:")
        for name, value in counts.items():
            print(f"  {name:<18} {value}")
        return counts

    summary(people.output, enriched.output, contacts.output, enrolment.output)


if __name__ == "__main__":
    dag.test()
