from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

import pytest

from airflow_provider_apollo.exceptions import ApolloAmbiguousWriteError, ApolloConfigurationError
from airflow_provider_apollo.hooks._resources.tasks import TasksCreated
from airflow_provider_apollo.operators.tasks import ApolloCreateTasksOperator

DUE = "2026-03-02T09:00:00Z"


def _created(contact_ids: Sequence[str], created: int = 0) -> TasksCreated:
    tasks = [{"id": f"t-{c}", "contact_id": c, "type": "call"} for c in contact_ids]
    return TasksCreated(tasks=tasks, created=created, already_there=len(tasks) - created)


def _op(**kwargs: Any) -> ApolloCreateTasksOperator:
    arguments: dict[str, Any] = {"task_id": "t", "contact_ids": ["c1", "c2", "c3"], "due_at": DUE, **kwargs}
    return ApolloCreateTasksOperator(**arguments)


def test_the_hook_creates_the_tasks_and_the_operator_reports_them(hook, attach, context, capsys):
    hook.bulk_create_tasks.return_value = _created(["c1", "c2", "c3"], created=2)

    result = attach(_op(task_type="action_item", priority="high", note="Intro call")).execute(context)

    assert [t["id"] for t in result] == ["t-c1", "t-c2", "t-c3"]
    hook.bulk_create_tasks.assert_called_once_with(
        ["c1", "c2", "c3"],
        task_type="action_item",
        priority="high",
        due_at=datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.timezone.utc),
        user_id=None,
        note="Intro call",
        status="scheduled",
        max_attempts=3,
    )
    assert "3 tasks for 3 contacts: 2 created, 1 already there" in capsys.readouterr().out


def test_max_create_attempts_is_the_hooks_bound(hook, attach, context):
    hook.bulk_create_tasks.return_value = _created(["c1"])
    attach(_op(contact_ids=["c1"], max_create_attempts=5)).execute(context)
    assert hook.bulk_create_tasks.call_args.kwargs["max_attempts"] == 5


def test_hook_failures_reach_the_task(hook, attach, context):
    hook.bulk_create_tasks.side_effect = ApolloAmbiguousWriteError("after 3 create attempts")
    with pytest.raises(ApolloAmbiguousWriteError, match="after 3 create attempts"):
        attach(_op()).execute(context)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"due_at": "next tuesday"}, "due_at=.next tuesday. is not an ISO 8601 timestamp"),
        ({"due_at": "09:00"}, "due_at=.09:00. is not an ISO 8601 date-time"),
        ({"due_at": None}, "due_at must be a datetime"),
        ({"task_type": "meeting"}, "task_type must be one of 'call', 'outreach_manual_email', 'action_item'"),
        ({"priority": "urgent"}, "priority must be one of 'high', 'medium', 'low'"),
        ({"contact_ids": [{"email": "x"}]}, r"contact_ids\[0\] must be a contact id"),
        ({"max_create_attempts": 0}, "max_create_attempts"),
    ],
)
def test_arguments_are_checked_before_any_call(hook, attach, context, kwargs, message):
    op = attach(_op(**kwargs))
    with pytest.raises(ApolloConfigurationError, match=message):
        op.execute(context)
    assert hook.method_calls == []


def test_no_contacts_no_request(hook, attach, context):
    assert attach(_op(contact_ids=[])).execute(context) == []
    assert hook.method_calls == []


def test_due_at_and_note_are_templated():
    op = _op(due_at="{{ data_interval_end }}", note="Follow up {{ ds }}")
    op.render_template_fields({"data_interval_end": "2026-03-02T09:00:00+00:00", "ds": "2026-03-01"})
    assert op.due_at == "2026-03-02T09:00:00+00:00"
    assert op.note == "Follow up 2026-03-01"
