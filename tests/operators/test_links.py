"""The extra links: which ids each operator stores, and the Apollo app URL built from them.

The links against a real task instance (``dag.test()`` on the sandbox, what the UI shows) are
in tests/e2e/test_assets_and_links_e2e.py.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_apollo.get_provider_info import get_provider_info
from airflow_provider_apollo.hooks._resources.tasks import TasksCreated
from airflow_provider_apollo.operators.contacts import (
    ApolloCreateContactsOperator,
    ApolloUpdateContactStageOperator,
)
from airflow_provider_apollo.operators.links import (
    ApolloContactsLink,
    ApolloSequenceLink,
    ApolloTasksLink,
)
from airflow_provider_apollo.operators.sequences import (
    ApolloAddToSequenceOperator,
    ApolloRemoveFromSequenceOperator,
)
from airflow_provider_apollo.operators.tasks import ApolloCreateTasksOperator


def _pushed(context: dict[str, Any]) -> dict[str, Any]:
    return {call.kwargs["key"]: call.kwargs["value"] for call in context["ti"].xcom_push.call_args_list}


@pytest.mark.parametrize(
    ("link", "ids", "url"),
    [
        (ApolloContactsLink, ["c1"], "https://app.apollo.io/#/contacts/c1"),
        (ApolloContactsLink, ["c1", "c2"], "https://app.apollo.io/#/contacts"),
        (ApolloContactsLink, [], ""),
        (ApolloSequenceLink, ["s1"], "https://app.apollo.io/#/sequences/s1"),
        (ApolloSequenceLink, ["s1", "s2"], "https://app.apollo.io/#/sequences"),
        (ApolloTasksLink, ["t1"], "https://app.apollo.io/#/tasks"),  # tasks have no page of their own
        (ApolloTasksLink, [], ""),
    ],
)
def test_one_record_links_its_page_several_their_list_none_no_link(link: Any, ids: list[str], url: str):
    assert link.url(ids) == url


def test_get_link_reads_the_ids_stored_under_the_links_own_key(monkeypatch: pytest.MonkeyPatch):
    from airflow.sdk.execution_time.xcom import XCom

    stored = {"apollo_sequence_ids": ["seq-9"]}
    asked: list[tuple[Any, str]] = []

    def get_value(*, ti_key: Any, key: str) -> Any:
        asked.append((ti_key, key))
        return stored.get(key)

    monkeypatch.setattr(XCom, "get_value", get_value)
    ti_key = MagicMock(name="ti_key")

    assert (
        ApolloSequenceLink().get_link(MagicMock(), ti_key=ti_key) == "https://app.apollo.io/#/sequences/seq-9"
    )
    assert ApolloContactsLink().get_link(MagicMock(), ti_key=ti_key) == ""  # nothing stored: no link
    assert asked == [(ti_key, "apollo_sequence_ids"), (ti_key, "apollo_contact_ids")]


def test_persist_drops_empty_and_repeated_ids_and_needs_no_task_instance():
    context: dict[str, Any] = {"ti": MagicMock(name="ti")}
    ApolloContactsLink.persist(context, ["c1", None, "", "c2", "c1"])
    assert _pushed(context) == {"apollo_contact_ids": ["c1", "c2"]}

    ApolloContactsLink.persist({}, ["c1"])  # execute() called outside Airflow: nothing to push to


@pytest.mark.parametrize(
    ("operator_class", "link"),
    [
        (ApolloCreateContactsOperator, ApolloContactsLink),
        (ApolloUpdateContactStageOperator, ApolloContactsLink),
        (ApolloAddToSequenceOperator, ApolloSequenceLink),
        (ApolloRemoveFromSequenceOperator, ApolloSequenceLink),
        (ApolloCreateTasksOperator, ApolloTasksLink),
    ],
)
def test_operators_that_touch_apollo_records_carry_their_link(operator_class: Any, link: Any):
    assert [type(each) for each in operator_class.operator_extra_links] == [link]


def test_created_contacts_are_stored_for_the_link(hook, attach, context):
    hook.bulk_create_contacts.return_value = [{"id": "c-1", "email": "ann@acme.example"}]
    op = attach(ApolloCreateContactsOperator(task_id="c", contacts=[{"email": "ann@acme.example"}]))

    op.execute(context)

    assert _pushed(context)["apollo_contact_ids"] == ["c-1"]


def test_the_sequence_is_stored_before_enrolling_so_a_failed_task_still_links_it(hook, attach, context):
    hook.add_contacts_to_sequence.side_effect = RuntimeError("Apollo went away")
    op = attach(
        ApolloAddToSequenceOperator(
            task_id="enrol", sequence_id="seq-1", email_account_id="ea-1", contact_ids=["c1"]
        )
    )

    with pytest.raises(RuntimeError):
        op.execute(context)

    assert _pushed(context)["apollo_sequence_ids"] == ["seq-1"]


def test_the_tasks_found_or_created_are_stored_for_the_link(hook, attach, context):
    due = "2026-03-02T09:00:00.000Z"
    task = {"id": "t-1", "contact_id": "c1", "type": "call", "due_at": due, "status": "scheduled"}
    hook.bulk_create_tasks.return_value = TasksCreated(tasks=[task], created=0, already_there=1)
    op = attach(ApolloCreateTasksOperator(task_id="calls", contact_ids=["c1"], due_at=due))

    op.execute(context)

    assert _pushed(context)["apollo_task_ids"] == ["t-1"]


def test_the_links_are_registered_in_the_provider_info():
    from airflow.providers_manager import ProvidersManager

    declared = get_provider_info()["extra-links"]
    assert declared == [
        "airflow_provider_apollo.operators.links.ApolloContactsLink",
        "airflow_provider_apollo.operators.links.ApolloSequenceLink",
        "airflow_provider_apollo.operators.links.ApolloTasksLink",
    ]
    # Airflow imports each declared class and drops the ones that do not resolve.
    assert set(declared) <= set(ProvidersManager().extra_links_class_names)
