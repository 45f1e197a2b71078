"""Every templated field of every operator renders (and is stored under its own name)."""

from __future__ import annotations

from typing import Any

import pytest

import airflow_provider_apollo.operators as operators

REQUIRED: dict[str, dict[str, Any]] = {
    "ApolloSearchPeopleOperator": {"filters": {}},
    "ApolloSearchOrganizationsOperator": {"filters": {}},
    "ApolloEnrichPeopleOperator": {"people": []},
    "ApolloEnrichOrganizationsOperator": {"domains": []},
    "ApolloCreateContactsOperator": {"contacts": []},
    "ApolloUpdateContactStageOperator": {"contact_ids": []},
    "ApolloAddToSequenceOperator": {"contact_ids": []},
    "ApolloRemoveFromSequenceOperator": {"sequence_ids": [], "contact_ids": []},
    "ApolloCreateTasksOperator": {"contact_ids": [], "due_at": "2026-03-02"},
    "ApolloOperator": {"method": "GET", "endpoint": "labels"},
}

#: ``task_type`` is a read-only BaseOperator property, so that argument is stored as
#: ``apollo_task_type`` (the only field not stored under its argument's name).
ARGUMENT_OF = {"apollo_task_type": "task_type"}


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_template_field_renders(name: str):
    operator_class = getattr(operators, name)
    fields = operator_class.template_fields
    arguments = {
        **REQUIRED[name],
        **{ARGUMENT_OF.get(field, field): f"{{{{ params.v }}}}-{field}" for field in fields},
    }
    operator = operator_class(task_id="t", **arguments)

    operator.render_template_fields({"params": {"v": "rendered"}})

    for field in fields:
        assert getattr(operator, field) == f"rendered-{field}", f"{name}.{field}"
