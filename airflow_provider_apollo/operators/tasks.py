"""The operator that creates tasks (calls, emails, action items) for contacts, safely on retry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pendulum

from airflow_provider_apollo.exceptions import ApolloAmbiguousWriteError
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators._base import ApolloBaseOperator, plural
from airflow_provider_apollo.operators._validation import (
    as_contact_ids,
    choice,
    chunks,
    optional_int,
    optional_string,
    parse_datetime,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

TASK_TYPES = ("call", "outreach_manual_email", "action_item")
PRIORITIES = ("high", "medium", "low")
#: Contact ids per ``tasks/bulk_create`` call and per look-up.
TASK_BATCH_SIZE = 100
#: A task in one of these states no longer stands for the work to do.
CLOSED_STATUSES = frozenset({"completed", "skipped", "archived"})
#: Apollo may store ``due_at`` rounded; closer than this is "the same due date".
DUE_AT_TOLERANCE_SECONDS = 1.0


class ApolloCreateTasksOperator(ApolloBaseOperator):
    """Create one task per contact (``tasks/bulk_create``), never twice.

    Apollo never deduplicates tasks, so this operator looks before it creates: contacts
    that already have an open task of this type, due at the same time (and with the same
    user and note when given), are not given another one. When a create fails in a way
    that leaves it unknown whether Apollo acted (a dropped connection, a 5xx), it looks
    again and creates only what is still missing, up to ``max_create_attempts`` times.
    A retried or re-run task therefore creates no duplicate.

    :param contact_ids: contact ids or contact records (their ``id``). (templated)
    :param due_at: when the task is due: a datetime or an ISO 8601 string (naive means UTC),
        e.g. ``"{{ data_interval_end }}"``. (templated)
    :param type: ``"call"``, ``"outreach_manual_email"`` or ``"action_item"``. (templated)
    :param priority: ``"high"``, ``"medium"`` or ``"low"``. (templated)
    :param user_id: the Apollo user the tasks are assigned to (default: the key's owner). (templated)
    :param note: a note on each task. (templated)
    :param status: the status of new tasks. (templated)
    :param max_create_attempts: create attempts after uncertain failures before giving up.
    :param apollo_conn_id: Airflow connection of type ``apollo``.
    :return: one task record per contact (created now or already there), in contact order.
    """

    template_fields: Sequence[str] = (
        "contact_ids",
        "due_at",
        "type",
        "priority",
        "user_id",
        "note",
        "status",
    )

    def __init__(
        self,
        *,
        contact_ids: Sequence[str] | Sequence[Mapping[str, Any]],
        due_at: datetime | str,
        type: str = "call",
        priority: str = "medium",
        user_id: str | None = None,
        note: str | None = None,
        status: str = "scheduled",
        max_create_attempts: int = 3,
        apollo_conn_id: str = ApolloHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(apollo_conn_id=apollo_conn_id, **kwargs)
        self.contact_ids = contact_ids
        self.due_at = due_at
        self.type = type
        self.priority = priority
        self.user_id = user_id
        self.note = note
        self.status = status
        self.max_create_attempts = max_create_attempts

    def execute(self, context: Context) -> list[dict[str, Any]]:
        contact_ids = as_contact_ids("contact_ids", self.contact_ids)
        due_at = parse_datetime("due_at", self.due_at)
        choice("type", self.type, TASK_TYPES)
        choice("priority", self.priority, PRIORITIES)
        user_id = optional_string("user_id", self.user_id)
        note = optional_string("note", self.note)
        status = optional_string("status", self.status) or "scheduled"
        max_attempts = optional_int("max_create_attempts", self.max_create_attempts, minimum=1) or 1
        spec = _TaskSpec(self.type, due_at, user_id, note)

        tasks: dict[str, dict[str, Any]] = {}
        confirmed: set[str] = set()  # creates Apollo acknowledged: never sent again
        attempts = 0
        already_there = 0
        while True:
            found = self._look_up([c for c in contact_ids if c not in tasks], spec)
            if attempts == 0:
                already_there = len(found)
            tasks.update(found)
            to_create = [c for c in contact_ids if c not in tasks and c not in confirmed]
            if not to_create:
                break
            if attempts == max_attempts:
                raise _unconfirmed(self.type, len(to_create), attempts)
            attempts += 1
            try:
                for batch in chunks(to_create, TASK_BATCH_SIZE):
                    answer = self.hook.bulk_create_tasks(
                        list(batch),
                        type=self.type,
                        priority=self.priority,
                        due_at=_iso(due_at),
                        user_id=user_id,
                        note=note,
                        status=status,
                    )
                    confirmed.update(batch)
                    tasks.update(_tasks_by_contact(_task_records(answer), batch, spec))
            except ApolloAmbiguousWriteError as error:
                self.log.warning(
                    "Creating tasks failed after the request may have reached Apollo (%s). Looking again "
                    "before creating the ones still missing (attempt %d/%d).",
                    error,
                    attempts,
                    max_attempts,
                )

        unseen = [c for c in contact_ids if c not in tasks]
        if unseen:
            self.log.warning(
                "Apollo acknowledged the tasks of %s but does not list them yet; they are not in the "
                "result. Do not create them again by hand.",
                plural(len(unseen), "contact"),
            )
        result = [tasks[c] for c in contact_ids if c in tasks]
        self.log_summary(
            f"{plural(len(result), 'task')} for {plural(len(contact_ids), 'contact')}: "
            f"{len(result) - already_there} created, {already_there} already there"
        )
        return result

    def _look_up(self, contact_ids: Sequence[str], spec: _TaskSpec) -> dict[str, dict[str, Any]]:
        """The open task matching ``spec`` of each contact that has one."""
        found: dict[str, dict[str, Any]] = {}
        for batch in chunks(contact_ids, TASK_BATCH_SIZE):
            records = self.hook.iter_tasks({"contact_ids": list(batch), "task_types": [spec.type]})
            found.update(_tasks_by_contact(records, batch, spec))
        return found


class _TaskSpec:
    """What makes an existing task "the same task" as the one to create."""

    def __init__(self, type: str, due_at: pendulum.DateTime, user_id: str | None, note: str | None) -> None:
        self.type = type
        self.due_at = due_at
        self.user_id = user_id
        self.note = note

    def matches(self, task: Mapping[str, Any]) -> bool:
        if _open(task) and _same_type(task.get("type"), self.type) and self._same_due_at(task.get("due_at")):
            user_ok = self.user_id is None or task.get("user_id") == self.user_id
            note_ok = self.note is None or (task.get("note") or "").strip() == self.note
            return user_ok and note_ok
        return False

    def _same_due_at(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            parsed = pendulum.parse(value, tz="UTC")
        except ValueError:
            return False
        if not isinstance(parsed, pendulum.DateTime):
            return False
        return abs((parsed - self.due_at).total_seconds()) < DUE_AT_TOLERANCE_SECONDS


def _tasks_by_contact(
    records: Iterable[Mapping[str, Any]], contact_ids: Sequence[str], spec: _TaskSpec
) -> dict[str, dict[str, Any]]:
    wanted = set(contact_ids)
    found: dict[str, dict[str, Any]] = {}
    for record in records:
        contact_id = record.get("contact_id")
        if contact_id in wanted and contact_id not in found and spec.matches(record):
            found[str(contact_id)] = dict(record)
    return found


def _task_records(answer: Any) -> list[Mapping[str, Any]]:
    """Task records in a ``tasks/bulk_create`` answer, if Apollo sent any (it may send ``true``)."""
    if isinstance(answer, Mapping):
        answer = answer.get("tasks")
    if isinstance(answer, list):
        return [record for record in answer if isinstance(record, Mapping)]
    return []


def _open(task: Mapping[str, Any]) -> bool:
    return (
        str(task.get("status") or "").casefold() not in CLOSED_STATUSES
        and not task.get("completed_at")
        and not task.get("skipped_at")
    )


def _same_type(value: Any, wanted: str) -> bool:
    # Apollo's task search facets spell types "contact_call", "contact_action_item".
    return isinstance(value, str) and value.removeprefix("contact_") == wanted


def _unconfirmed(task_type: str, contacts: int, attempts: int) -> ApolloAmbiguousWriteError:
    return ApolloAmbiguousWriteError(
        f"Could not confirm the {task_type} tasks of {plural(contacts, 'contact')} after "
        f"{plural(attempts, 'create attempt')}: Apollo kept failing in a way that leaves it unknown "
        "whether they were created. Clear this task to run it again: it looks before it creates, so "
        "it will only add the tasks that are still missing.",
        endpoint="tasks/bulk_create",
    )


def _iso(moment: pendulum.DateTime) -> str:
    return moment.in_timezone("UTC").format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z"
