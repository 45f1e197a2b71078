"""Every operator can be mapped with .partial().expand() and fed XComArgs; DAG parsing accepts it."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import pendulum
import pytest
from airflow.sdk import DAG
from airflow.sdk.definitions.mappedoperator import MappedOperator

try:  # Airflow 3.2+
    from airflow.serialization.serialized_objects import DagSerialization
except ImportError:  # Airflow 3.1
    from airflow.serialization.serialized_objects import SerializedDAG as DagSerialization  # type: ignore[no-redef]

from airflow_provider_apollo.operators import (
    ApolloAddToSequenceOperator,
    ApolloCreateContactsOperator,
    ApolloCreateTasksOperator,
    ApolloEnrichOrganizationsOperator,
    ApolloEnrichPeopleOperator,
    ApolloOperator,
    ApolloRemoveFromSequenceOperator,
    ApolloSearchOrganizationsOperator,
    ApolloSearchPeopleOperator,
    ApolloUpdateContactStageOperator,
)

START = pendulum.datetime(2026, 1, 1, tz="UTC")


def test_a_chained_dag_with_mapped_operators_serialises():
    with DAG("apollo_mapping", schedule=None, start_date=START) as dag:
        search = ApolloSearchPeopleOperator(task_id="search", filters={"person_titles": ["CTO"]})
        enrich = ApolloEnrichPeopleOperator.partial(task_id="enrich", max_credits=20).expand(
            people=[[{"email": "a@acme.example"}], [{"email": "b@acme.example"}]]
        )
        enrich_from_search = ApolloEnrichPeopleOperator(task_id="enrich_search", people=search.output)
        contacts = ApolloCreateContactsOperator(task_id="contacts", contacts=enrich_from_search.output)
        add = ApolloAddToSequenceOperator.partial(
            task_id="add", sequence_name="Sandbox Outreach", email_account="sdr@sandbox.example.com"
        ).expand(contact_ids=contacts.output)
        tasks = ApolloCreateTasksOperator.partial(task_id="tasks", due_at="{{ data_interval_end }}").expand(
            contact_ids=[["c1"], ["c2"]]
        )
        stage = ApolloUpdateContactStageOperator.partial(task_id="stage", contact_stage_name="Cold").expand(
            contact_ids=contacts.output
        )
        remove = ApolloRemoveFromSequenceOperator.partial(task_id="remove", sequence_ids=["s1"]).expand(
            contact_ids=[["c1"]]
        )
        orgs = ApolloSearchOrganizationsOperator.partial(task_id="orgs").expand(
            filters=[{"organization_locations": ["Berlin"]}, {"organization_locations": ["Paris"]}]
        )
        enrich_orgs = ApolloEnrichOrganizationsOperator.partial(task_id="enrich_orgs").expand(
            domains=[["acme.com"], ["example.org"]]
        )
        generic = ApolloOperator.partial(task_id="generic", method="GET").expand(
            endpoint=["labels", "contact_stages"]
        )

    for mapped in (enrich, add, tasks, stage, remove, orgs, enrich_orgs, generic):
        assert isinstance(mapped, MappedOperator)
    serialised = DagSerialization.to_dict(dag)
    restored = DagSerialization.from_dict(serialised)
    assert set(restored.task_dict) == set(dag.task_dict)
    assert restored.task_dict["contacts"].upstream_task_ids == {"enrich_search"}


@pytest.mark.parametrize(
    ("operator_class", "partial", "expanded", "hook_method", "hook_result", "sent"),
    [
        (
            ApolloEnrichPeopleOperator,
            {"skip_existing_contacts": False},
            {"people": {"email": "a@acme.example"}},
            "bulk_enrich_people",
            [{"id": "p1"}],
            [{"email": "a@acme.example"}],
        ),
        (
            ApolloAddToSequenceOperator,
            {"sequence_id": "s1", "email_account_id": "ea1"},
            {"contact_ids": "c1"},
            "add_contacts_to_sequence",
            {"contacts": [{"id": "c1"}]},
            ["c1"],
        ),
        (
            ApolloCreateContactsOperator,
            {},
            {"contacts": {"email": "a@acme.example"}},
            "bulk_create_contacts",
            [{"id": "c1"}],
            [{"email": "a@acme.example"}],
        ),
    ],
)
def test_a_mapped_instance_executes_on_its_element(
    hook: MagicMock,
    attach: Any,
    context: dict[str, Any],
    operator_class: Any,
    partial: dict[str, Any],
    expanded: dict[str, Any],
    hook_method: str,
    hook_result: Any,
    sent: list[Any],
):
    """``.expand()`` hands each mapped task one element (a dict or an id, not a list)."""
    with DAG("apollo_mapped_instance", schedule=None, start_date=START):
        mapped = operator_class.partial(task_id="m", **partial).expand(
            **{name: [value, value] for name, value in expanded.items()}
        )
    getattr(hook, hook_method).return_value = hook_result

    instance = attach(mapped.unmap(expanded))
    instance.execute(context)

    call = getattr(hook, hook_method).call_args
    assert sent in call.args
