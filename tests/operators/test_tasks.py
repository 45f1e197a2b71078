from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from airflow_provider_apollo.exceptions import ApolloAmbiguousWriteError, ApolloConfigurationError
from airflow_provider_apollo.operators.tasks import ApolloCreateTasksOperator

DUE = "2026-03-02T09:00:00Z"


class FakeApolloTasks:
    """Apollo's tasks as the hook double sees them: never deduplicated, searchable."""

    def __init__(self, hook: Any) -> None:
        self.tasks: list[dict[str, Any]] = []
        self.ids = itertools.count(1)
        # Per bulk_create call: "ok", "commit_then_fail" (created, but the client sees an
        # ambiguous failure) or "fail" (not created, ambiguous failure).
        self.outcomes: list[str] = []
        hook.iter_tasks.side_effect = self.iter_tasks
        hook.bulk_create_tasks.side_effect = self.bulk_create_tasks

    def iter_tasks(self, filters: Mapping[str, Any], **kwargs: Any) -> Iterator[dict[str, Any]]:
        wanted = set(filters.get("contact_ids") or ())
        return iter([dict(t) for t in self.tasks if not wanted or t["contact_id"] in wanted])

    def bulk_create_tasks(self, contact_ids: Sequence[str], **fields: Any) -> Any:
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if outcome != "fail":
            for contact_id in contact_ids:
                self.add(contact_id, **fields)
        if outcome != "ok":
            raise ApolloAmbiguousWriteError("POST tasks/bulk_create: connection dropped after sending")
        return True  # Apollo's documented answer carries no task records

    def add(self, contact_id: str, **fields: Any) -> dict[str, Any]:
        task = {
            "id": f"t{next(self.ids)}",
            "contact_id": contact_id,
            "type": fields.get("type", "call"),
            "priority": fields.get("priority", "medium"),
            # Apollo answers with an offset and milliseconds, not the Z string that was sent.
            "due_at": fields.get("due_at", DUE).replace("Z", "+00:00"),
            "user_id": fields.get("user_id") or "owner",
            "note": fields.get("note"),
            "status": fields.get("status", "scheduled"),
            "completed_at": None,
        }
        self.tasks.append(task)
        return task

    def per_contact(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for task in self.tasks:
            counts[task["contact_id"]] = counts.get(task["contact_id"], 0) + 1
        return counts


@pytest.fixture
def apollo(hook) -> FakeApolloTasks:
    return FakeApolloTasks(hook)


def _op(**kwargs: Any) -> ApolloCreateTasksOperator:
    arguments: dict[str, Any] = {"task_id": "t", "contact_ids": ["c1", "c2", "c3"], "due_at": DUE, **kwargs}
    return ApolloCreateTasksOperator(**arguments)


def test_creates_one_task_per_contact_and_returns_them(hook, apollo, attach, context, capsys):
    result = attach(_op(type="call", priority="high", note="Intro call")).execute(context)

    assert [t["contact_id"] for t in result] == ["c1", "c2", "c3"]
    hook.bulk_create_tasks.assert_called_once_with(
        ["c1", "c2", "c3"],
        type="call",
        priority="high",
        due_at="2026-03-02T09:00:00.000Z",
        user_id=None,
        note="Intro call",
        status="scheduled",
    )
    assert "3 tasks for 3 contacts: 3 created, 0 already there" in capsys.readouterr().out


def test_rerun_creates_nothing(hook, apollo, attach, context):
    first = attach(_op()).execute(context)
    second = attach(_op()).execute(context)

    assert second == first
    assert hook.bulk_create_tasks.call_count == 1
    assert apollo.per_contact() == {"c1": 1, "c2": 1, "c3": 1}


def test_only_missing_tasks_are_created(hook, apollo, attach, context):
    apollo.add("c2", type="call", due_at="2026-03-02T09:00:00.000Z")
    apollo.add("c3", type="call", due_at="2026-03-05T09:00:00.000Z")  # another day: not the same task
    apollo.add("c1", type="action_item", due_at=DUE)  # another type
    done = apollo.add("c1", type="call", due_at=DUE)
    # Completed by a rep: still the task this run asked for.
    done["status"], done["completed_at"] = "completed", "2026-03-01T10:00:00Z"

    result = attach(_op()).execute(context)

    assert hook.bulk_create_tasks.call_args.args[0] == ["c3"]
    assert [t["contact_id"] for t in result] == ["c1", "c2", "c3"]
    assert result[0]["status"] == "completed"  # the rep's completed task is returned, not a new one
    assert result[1]["id"] == "t1"  # the existing one is returned, not a new one


def test_owner_and_note_do_not_make_another_task(hook, apollo, attach, context):
    # Identity is contact + type + due date: a rep reassigning a task or editing its note
    # must not make a re-run create a second one.
    apollo.add("c1", due_at=DUE, user_id="u-other", note="Intro call")
    apollo.add("c2", due_at=DUE, user_id="u1", note="Rep's own note")
    apollo.add("c3", due_at=DUE, user_id="u1", note="Intro call")

    result = attach(_op(user_id="u1", note="Intro call")).execute(context)

    assert hook.bulk_create_tasks.call_count == 0
    assert [t["id"] for t in result] == ["t1", "t2", "t3"]


def test_ambiguous_write_that_committed_is_not_repeated(hook, apollo, attach, context, capsys):
    apollo.outcomes = ["commit_then_fail"]

    result = attach(_op()).execute(context)

    assert hook.bulk_create_tasks.call_count == 1
    assert apollo.per_contact() == {"c1": 1, "c2": 1, "c3": 1}
    assert [t["contact_id"] for t in result] == ["c1", "c2", "c3"]
    assert "Looking again before creating the ones still missing" in capsys.readouterr().out


def test_ambiguous_write_that_did_not_commit_is_created_again(hook, apollo, attach, context):
    apollo.outcomes = ["fail"]

    result = attach(_op()).execute(context)

    assert hook.bulk_create_tasks.call_count == 2
    assert apollo.per_contact() == {"c1": 1, "c2": 1, "c3": 1}
    assert len(result) == 3


def test_ambiguous_failures_are_bounded(hook, apollo, attach, context):
    apollo.outcomes = ["fail"] * 5

    with pytest.raises(ApolloAmbiguousWriteError, match="after 2 create attempts"):
        attach(_op(max_create_attempts=2)).execute(context)

    assert hook.bulk_create_tasks.call_count == 2
    assert apollo.tasks == []


def test_batches_of_100_and_a_partial_commit(hook, apollo, attach, context):
    ids = [f"c{i}" for i in range(250)]
    apollo.outcomes = ["ok", "commit_then_fail"]

    result = attach(_op(contact_ids=ids)).execute(context)

    sizes = [len(call.args[0]) for call in hook.bulk_create_tasks.call_args_list]
    assert sizes == [100, 100, 50]  # the third batch is sent after looking again
    assert set(apollo.per_contact().values()) == {1}
    assert len(result) == 250


def test_task_records_in_the_answer_are_used(hook, apollo, attach, context):
    def create_with_records(contact_ids: Sequence[str], **fields: Any) -> dict[str, Any]:
        return {"tasks": [apollo.add(c, **fields) for c in contact_ids]}

    hook.bulk_create_tasks.side_effect = create_with_records
    result = attach(_op()).execute(context)
    assert [t["contact_id"] for t in result] == ["c1", "c2", "c3"]
    assert hook.iter_tasks.call_count == 1  # no second look needed


@pytest.mark.parametrize(
    "due_at",
    [
        datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
        datetime.datetime(2026, 3, 2, 9, 0),  # naive: UTC
        "2026-03-02T10:00:00+01:00",
        "2026-03-02 09:00",
    ],
)
def test_due_at_forms_are_normalised_to_utc(hook, apollo, attach, context, due_at):
    attach(_op(contact_ids=["c1"], due_at=due_at)).execute(context)
    assert hook.bulk_create_tasks.call_args.kwargs["due_at"] == "2026-03-02T09:00:00.000Z"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"due_at": "next tuesday"}, "due_at=.next tuesday. is not an ISO 8601 timestamp"),
        ({"due_at": "09:00"}, "due_at=.09:00. is not an ISO 8601 date-time"),
        ({"due_at": None}, "due_at must be a datetime"),
        ({"type": "meeting"}, "type must be one of 'call', 'outreach_manual_email', 'action_item'"),
        ({"priority": "urgent"}, "priority must be one of 'high', 'medium', 'low'"),
        ({"contact_ids": [{"email": "x"}]}, r"contact_ids\[0\] must be a contact id"),
        ({"max_create_attempts": 0}, "max_create_attempts"),
    ],
)
def test_arguments_are_checked_before_any_call(hook, apollo, attach, context, kwargs, message):
    op = attach(_op(**kwargs))
    with pytest.raises(ApolloConfigurationError, match=message):
        op.execute(context)
    assert hook.method_calls == []


def test_no_contacts_no_request(hook, apollo, attach, context):
    assert attach(_op(contact_ids=[])).execute(context) == []
    assert hook.method_calls == []


def test_due_at_and_note_are_templated():
    op = _op(due_at="{{ data_interval_end }}", note="Follow up {{ ds }}")
    op.render_template_fields({"data_interval_end": "2026-03-02T09:00:00+00:00", "ds": "2026-03-01"})
    assert op.due_at == "2026-03-02T09:00:00+00:00"
    assert op.note == "Follow up 2026-03-01"
