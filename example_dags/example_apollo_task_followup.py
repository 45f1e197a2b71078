"""Task follow-up: once the reps have made their calls, move those contacts to the next stage.

contacts to follow (the label's contacts, or ids given as a param) -> tasks sensor waits until
their call tasks are completed -> contact stage set to ``next_stage`` ("Approaching" by default).

The sensor costs no credits (task search is a CRM endpoint); it checks every five minutes in
``reschedule`` mode, or in the triggerer with ``deferrable=True``. Runs as is against the
local sandbox after the hiring-signals DAG has created call tasks::

    python3 scripts/run_example.py --dag example_apollo_task_followup
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, get_current_context, task

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators.contacts import ApolloUpdateContactStageOperator
from airflow_provider_apollo.sensors.tasks import ApolloTasksSensor

# Workers on several hosts share one Apollo key, and so one set of rate-limit windows: give the
# Apollo tasks their own Airflow pool in production (`airflow pools set apollo 4 "Apollo API"`,
# then APOLLO_POOL=apollo) so the scheduler caps how many run at once, wherever they run.
APOLLO_POOL = os.environ.get("APOLLO_POOL", "default_pool")

with DAG(
    dag_id="example_apollo_task_followup",
    description="Wait for call tasks to be completed, then move their contacts to the next stage.",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10), "pool": APOLLO_POOL},
    params={
        "label": Param(
            "Airflow hiring signals",
            type="string",
            title="Follow up the contacts with this label",
            description="Ignored when contact_ids is given.",
        ),
        "contact_ids": Param(
            [], type="array", items={"type": "string"}, title="Or: these contact ids", description="Optional."
        ),
        "next_stage": Param(
            "Approaching",
            type="string",
            title="Stage to move them to",
            description="An Apollo contact stage name, such as Approaching or Replied.",
        ),
    },
    tags=["apollo", "example", "tasks"],
    doc_md=__doc__,
) as dag:

    @task
    def contacts_to_follow() -> list[str]:
        """The contact ids given as a param, or else every contact carrying the label."""
        params = get_current_context()["params"]
        if params["contact_ids"]:
            return list(params["contact_ids"])
        hook = ApolloHook()
        label_name = str(params["label"]).strip().lower()
        label_ids = [
            label["id"] for label in hook.list_labels() if str(label.get("name", "")).lower() == label_name
        ]
        if not label_ids:
            raise ApolloConfigurationError(
                f"params.label: no Apollo label is named {params['label']!r}. Run "
                "example_apollo_hiring_signals first, or trigger with contact_ids."
            )
        contact_ids = [contact["id"] for contact in hook.iter_contacts({"label_ids": label_ids})]
        print(f"{len(contact_ids)} contacts carry the label {params['label']!r}.")
        return contact_ids

    # [START howto_sensor_apollo_tasks]
    completed_calls = ApolloTasksSensor(
        task_id="wait_for_completed_calls",
        contact_ids=contacts_to_follow(),
        task_type="call",
        target_statuses=("completed",),
        poke_interval=300,
        mode="reschedule",
        timeout=timedelta(hours=20),
    )
    # [END howto_sensor_apollo_tasks]

    @task
    def called_contacts(tasks: list[dict[str, Any]]) -> list[str]:
        """The contacts whose call tasks are completed (each once, in task order).

        :param tasks: the completed tasks the sensor returned.
        """
        return list(dict.fromkeys(str(item["contact_id"]) for item in tasks if item.get("contact_id")))

    followed_up = called_contacts(completed_calls.output)

    # [START howto_operator_apollo_update_contact_stage]
    moved = ApolloUpdateContactStageOperator(
        task_id="move_to_next_stage",
        contact_ids=followed_up,
        contact_stage_name="{{ params.next_stage }}",
    )
    # [END howto_operator_apollo_update_contact_stage]

    @task
    def summary(tasks: list[dict[str, Any]], moved_contacts: dict[str, Any]) -> dict[str, Any]:
        """Count the completed calls and the contacts moved on, print it, and return it.

        :param tasks: the completed tasks the sensor returned.
        :param moved_contacts: the stage update's ``{"contact_stage_id", "contact_ids"}`` answer.
        """
        counts = {
            "completed_call_tasks": len(tasks),
            "contacts_moved": len(moved_contacts["contact_ids"]),
            "stage": get_current_context()["params"]["next_stage"],
        }
        print(f"Follow-up summary: {counts}")
        return counts

    summary(completed_calls.output, moved.output)


if __name__ == "__main__":
    dag.test()
