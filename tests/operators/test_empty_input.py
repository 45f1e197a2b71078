"""Empty input means no request, for every operator that takes a list (as docs/operators.md says).

A day with no new prospects hands each task an empty list: the task succeeds with an empty
result without calling Apollo at all, not even to look up a sequence, stage or user name.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_apollo.operators.contacts import (
    ApolloCreateContactsOperator,
    ApolloUpdateContactStageOperator,
)
from airflow_provider_apollo.operators.enrichment import (
    ApolloEnrichOrganizationsOperator,
    ApolloEnrichPeopleOperator,
)
from airflow_provider_apollo.operators.sequences import (
    ApolloAddToSequenceOperator,
    ApolloRemoveFromSequenceOperator,
)
from airflow_provider_apollo.operators.tasks import ApolloCreateTasksOperator

EMPTY_INPUTS: list[tuple[type, dict[str, Any]]] = [
    (ApolloEnrichPeopleOperator, {"people": []}),
    (ApolloEnrichOrganizationsOperator, {"domains": []}),
    (ApolloCreateContactsOperator, {"contacts": [], "contact_stage_name": "Cold", "label_names": ["x"]}),
    (ApolloUpdateContactStageOperator, {"contact_ids": [], "contact_stage_name": "Approaching"}),
    (ApolloAddToSequenceOperator, {"contact_ids": [], "sequence_name": "Q3", "email_account": "a@b.example"}),
    (ApolloRemoveFromSequenceOperator, {"contact_ids": [], "sequence_ids": ["s1"]}),
    (ApolloCreateTasksOperator, {"contact_ids": [], "due_at": "2026-03-01T09:00:00Z"}),
]


@pytest.mark.parametrize(("operator", "kwargs"), EMPTY_INPUTS, ids=lambda v: getattr(v, "__name__", ""))
def test_empty_input_sends_no_request(hook, attach, context, operator: type, kwargs: dict[str, Any]) -> None:
    attach(operator(task_id="t", **kwargs)).execute(context)
    assert hook.method_calls == [], f"{operator.__name__} called Apollo with empty input"
