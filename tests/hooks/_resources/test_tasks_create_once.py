"""hook.bulk_create_tasks looks before it creates: one task per contact, type and due date, never two."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from airflow_provider_apollo.exceptions import (
    ApolloAmbiguousWriteError,
    ApolloConfigurationError,
    ApolloUnreadableWriteError,
)
from airflow_provider_apollo.hooks._resources.tasks import TasksCreated
from airflow_provider_apollo.hooks.apollo import ApolloHook
from tests._support import BASE, CANARY_KEY

DUE = "2026-03-02T09:00:00Z"


class FakeApolloTasks:
    """Apollo's tasks behind one real hook: never deduplicated, searchable, answers that get lost."""

    def __init__(self, hook: ApolloHook, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tasks: list[dict[str, Any]] = []
        self.ids = itertools.count(1)
        self.posted: list[dict[str, Any]] = []
        self.searches = 0
        # Per bulk_create call: "ok", "commit_then_fail" (created, but the client sees an
        # ambiguous failure), "fail" (not created, ambiguous failure) or "records" (created,
        # and the answer lists the task records).
        self.outcomes: list[str] = []
        monkeypatch.setattr(hook, "iter_tasks", self.iter_tasks)
        monkeypatch.setattr(hook, "_post_bulk_tasks", self.post)
        monkeypatch.setattr(hook, "task_owner_id", lambda user_id=None: user_id or "owner")

    def iter_tasks(self, filters: Mapping[str, Any], **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.searches += 1
        wanted = set(filters.get("contact_ids") or ())
        return iter([dict(t) for t in self.tasks if not wanted or t["contact_id"] in wanted])

    def post(self, body: Mapping[str, Any]) -> Any:
        self.posted.append(dict(body))
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        fields = {k: v for k, v in body.items() if k != "contact_ids"}
        created = [] if outcome == "fail" else [self.add(c, **fields) for c in body["contact_ids"]]
        if outcome in ("fail", "commit_then_fail"):
            raise ApolloAmbiguousWriteError("POST tasks/bulk_create: connection dropped after sending")
        return {"tasks": created} if outcome == "records" else True  # Apollo documents ``true``

    def add(self, contact_id: str, **fields: Any) -> dict[str, Any]:
        task = {
            "id": f"t{next(self.ids)}",
            "contact_id": contact_id,
            # Apollo's search answers spell some types with a prefix.
            "type": "contact_" + fields.get("type", "call"),
            "priority": fields.get("priority", "medium"),
            # Apollo answers with an offset, not the Z string that was sent.
            "due_at": fields.get("due_at", DUE).replace("Z", "+00:00"),
            "user_id": fields.get("user_id") or "owner",
            "note": fields.get("note"),
            "status": fields.get("status", "scheduled"),
        }
        self.tasks.append(task)
        return task

    def per_contact(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for task in self.tasks:
            counts[task["contact_id"]] = counts.get(task["contact_id"], 0) + 1
        return counts


@pytest.fixture
def apollo(hook: ApolloHook, monkeypatch: pytest.MonkeyPatch) -> FakeApolloTasks:
    return FakeApolloTasks(hook, monkeypatch)


def _create(hook: ApolloHook, contact_ids: list[str] | None = None, **kwargs: Any) -> TasksCreated:
    arguments: dict[str, Any] = {"task_type": "call", "priority": "high", "due_at": DUE, **kwargs}
    return hook.bulk_create_tasks(contact_ids or ["c1", "c2", "c3"], **arguments)


def test_one_task_per_contact_is_created_and_returned(hook, apollo):
    result = _create(hook, note="Intro call")

    assert isinstance(result, TasksCreated)
    assert [t["contact_id"] for t in result.tasks] == ["c1", "c2", "c3"]
    assert (result.created, result.already_there, result.unlisted) == (3, 0, [])
    assert apollo.posted == [
        {
            "contact_ids": ["c1", "c2", "c3"],
            "type": "call",
            "priority": "high",
            "due_at": "2026-03-02T09:00:00.000Z",
            "status": "scheduled",
            "user_id": "owner",
            "note": "Intro call",
        }
    ]


def test_a_second_call_creates_nothing(hook, apollo):
    first = _create(hook)
    second = _create(hook)

    assert second.tasks == first.tasks and (second.created, second.already_there) == (0, 3)
    assert len(apollo.posted) == 1
    assert apollo.per_contact() == {"c1": 1, "c2": 1, "c3": 1}


def test_only_missing_tasks_are_created(hook, apollo):
    apollo.add("c2", type="call", due_at="2026-03-02T09:00:00.000Z")
    apollo.add("c3", type="call", due_at="2026-03-05T09:00:00.000Z")  # another day: not the same task
    apollo.add("c1", type="action_item", due_at=DUE)  # another type
    done = apollo.add("c1", type="call", due_at=DUE)
    done["status"] = "completed"  # completed by a rep: still the task this call asks for

    result = _create(hook)

    assert [body["contact_ids"] for body in apollo.posted] == [["c3"]]
    assert [t["contact_id"] for t in result.tasks] == ["c1", "c2", "c3"]
    assert result.tasks[0]["status"] == "completed" and result.tasks[1]["id"] == "t1"
    assert (result.created, result.already_there) == (1, 2)


def test_owner_and_note_do_not_make_another_task(hook, apollo):
    apollo.add("c1", due_at=DUE, user_id="u-other", note="Intro call")
    apollo.add("c2", due_at=DUE, user_id="u1", note="Rep's own note")

    result = _create(hook, ["c1", "c2"], user_id="u1", note="Intro call")

    assert apollo.posted == [] and [t["id"] for t in result.tasks] == ["t1", "t2"]


def test_an_ambiguous_create_that_landed_is_not_repeated(hook, apollo, caplog):
    apollo.outcomes = ["commit_then_fail"]

    result = _create(hook)

    assert len(apollo.posted) == 1
    assert apollo.per_contact() == {"c1": 1, "c2": 1, "c3": 1}
    assert [t["contact_id"] for t in result.tasks] == ["c1", "c2", "c3"]
    assert "Looking again before creating the ones still missing (attempt 1 of 4)" in caplog.text


def test_an_ambiguous_create_that_did_not_land_is_sent_again(hook, apollo):
    apollo.outcomes = ["fail"]

    result = _create(hook)

    assert len(apollo.posted) == 2
    assert apollo.per_contact() == {"c1": 1, "c2": 1, "c3": 1} and len(result.tasks) == 3


def test_creates_are_bounded_by_max_attempts(hook, apollo):
    apollo.outcomes = ["fail"] * 5

    with pytest.raises(ApolloAmbiguousWriteError, match="after 2 create attempts"):
        _create(hook, max_attempts=2)

    assert len(apollo.posted) == 2 and apollo.tasks == []


def test_by_default_creates_are_bounded_by_the_connections_retries(hook, apollo):
    apollo.outcomes = ["fail"] * 9  # the connection says max_retries=3: 4 creates

    with pytest.raises(ApolloAmbiguousWriteError, match="after 4 create attempts"):
        _create(hook)

    assert len(apollo.posted) == 4


def test_the_last_attempt_is_checked_before_failing(hook, apollo):
    apollo.outcomes = ["fail", "commit_then_fail"]

    result = _create(hook, max_attempts=2)

    assert len(apollo.posted) == 2 and len(result.tasks) == 3


def test_batches_of_100_and_a_partial_commit(hook, apollo):
    ids = [f"c{i}" for i in range(250)]
    apollo.outcomes = ["ok", "commit_then_fail"]

    result = _create(hook, ids)

    assert [len(body["contact_ids"]) for body in apollo.posted] == [100, 100, 50]
    assert set(apollo.per_contact().values()) == {1} and len(result.tasks) == 250


def test_task_records_in_the_answer_are_used_without_another_search(hook, apollo):
    apollo.outcomes = ["records"]
    result = _create(hook)
    assert [t["contact_id"] for t in result.tasks] == ["c1", "c2", "c3"]
    assert apollo.searches == 1  # the look before the create, and no other


@pytest.mark.parametrize(
    "due_at",
    [
        datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
        datetime.datetime(2026, 3, 2, 9, 0),  # naive: UTC
        "2026-03-02T10:00:00+01:00",
    ],
)
def test_due_at_forms_are_sent_in_utc(hook, apollo, due_at):
    _create(hook, ["c1"], due_at=due_at)
    assert apollo.posted[0]["due_at"] == "2026-03-02T09:00:00.000Z"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task_type": "meeting"}, "task_type must be one of 'call'"),
        ({"priority": "urgent"}, "priority must be one of 'high'"),
        ({"due_at": "next tuesday"}, "due_at=.next tuesday. is not an ISO 8601"),
        ({"max_attempts": 0}, "max_attempts must be a whole number from 1"),
    ],
)
def test_arguments_are_checked_before_any_request(hook, apollo, kwargs, message):
    with pytest.raises(ApolloConfigurationError, match=message):
        _create(hook, **kwargs)
    assert apollo.posted == [] and apollo.searches == 0


# ------------------------------------------------------------------ over HTTP (requests-mock)
def _no_tasks(api: Any) -> None:
    api.post(
        f"{BASE}/tasks/search",
        json={"tasks": [], "pagination": {"page": 1, "per_page": 100, "total_entries": 0, "total_pages": 1}},
    )


def test_over_http_the_search_comes_first_and_the_body_is_apollos(hook, api):
    _no_tasks(api)
    api.post(f"{BASE}/tasks/bulk_create", json=True)

    hook.bulk_create_tasks(
        ["c1", "c2"],
        task_type="call",
        priority="high",
        due_at="2026-01-01T09:00:00Z",
        note="hi",
        user_id="u1",
    )

    paths = [r.path for r in api.request_history]
    assert paths[0] == "/api/v1/tasks/search" and "/api/v1/tasks/bulk_create" in paths
    create = next(r for r in api.request_history if r.path.endswith("/tasks/bulk_create"))
    assert create.json() == {
        "contact_ids": ["c1", "c2"],
        "type": "call",
        "priority": "high",
        "due_at": "2026-01-01T09:00:00.000Z",
        "status": "scheduled",
        "user_id": "u1",
        "note": "hi",
    }
    assert create.headers["X-Api-Key"] == CANARY_KEY


def test_over_http_an_unreadable_answer_is_never_resent_blindly(hook, api):
    _no_tasks(api)
    api.post(f"{BASE}/tasks/bulk_create", text="<html>oops</html>")

    with pytest.raises(ApolloUnreadableWriteError, match="Still unconfirmed after 2 create attempts"):
        hook.bulk_create_tasks(
            ["c1"], task_type="call", priority="high", due_at=DUE, user_id="u1", max_attempts=2
        )

    paths = [r.path.rsplit("/", 1)[-1] for r in api.request_history]
    # look, create, look, create, look: each create follows a look that found the task missing.
    assert paths == ["search", "bulk_create", "search", "bulk_create", "search"]
