"""The operator that creates tasks (calls, emails, action items) for contacts, safely on retry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pendulum

from airflow_provider_apollo._api.batching import chunked
from airflow_provider_apollo._api.task_filters import TaskSelection
from airflow_provider_apollo._api.task_types import TASK_PRIORITIES, TASK_TYPES
from airflow_provider_apollo._api.timestamps import parse_instant
from airflow_provider_apollo.exceptions import ApolloAmbiguousWriteError
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators._base import ApolloBaseOperator, plural
from airflow_provider_apollo.operators._validation import (
    as_contact_ids,
    choice,
    optional_int,
    optional_string,
)
from airflow_provider_apollo.operators.links import ApolloTasksLink

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

#: Contact ids per ``tasks/bulk_create`` call.
TASK_BATCH_SIZE = 100
#: Apollo may store ``due_at`` rounded; closer than this is "the same due date".
DUE_AT_TOLERANCE_SECONDS = 1.0


class ApolloCreateTasksOperator(ApolloBaseOperator):
    """Create one task per contact (``tasks/bulk_create``), never twice.

    Apollo never deduplicates tasks, so this operator looks before it creates. A task's
    identity is its contact, its type and its due date (equal within
    ``DUE_AT_TOLERANCE_SECONDS``): a contact that already has such a task gets no other,
    **whatever the task's status, owner or note**. A task a rep completed, skipped or
    reassigned is still the task this run asked for, so re-running the same DAG run
    creates nothing. (A new due date is a new task.) When a create fails in a way that
    leaves it unknown whether Apollo acted (a dropped connection, a 5xx), it looks again
    and creates only what is still missing, up to ``max_create_attempts`` times. A retried
    or re-run task therefore creates no duplicate.

    :param contact_ids: contact ids or contact records (their ``id``). (templated)
    :param due_at: when the task is due: a datetime or an ISO 8601 string (naive means UTC),
        e.g. ``"{{ data_interval_end }}"``. (templated)
    :param type: one of Apollo's task types: ``"call"``, ``"outreach_manual_email"``,
        ``"action_item"``, ``"linkedin_step_connect"``, ``"linkedin_step_message"``,
        ``"linkedin_step_view_profile"`` or ``"linkedin_step_interact_post"``. (templated)
    :param priority: ``"high"``, ``"medium"`` or ``"low"``. (templated)
    :param user_id: the Apollo user the tasks are assigned to; Apollo requires one. When not
        given, the team's only active user (``users/search``) is used and logged; a team with
        several users fails before any create, listing them. (templated)
    :param note: a note on each task. (templated)
    :param status: the status of new tasks. (templated)
    :param max_create_attempts: create attempts after uncertain failures before giving up.
    :param apollo_conn_id: Airflow connection of type ``apollo``. (templated)
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
        "apollo_conn_id",
    )
    operator_extra_links = (ApolloTasksLink(),)

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
        due_at = parse_instant("due_at", self.due_at)
        choice("type", self.type, TASK_TYPES)
        choice("priority", self.priority, TASK_PRIORITIES)
        user_id = optional_string("user_id", self.user_id)
        note = optional_string("note", self.note)
        status = optional_string("status", self.status) or "scheduled"
        max_attempts = optional_int("max_create_attempts", self.max_create_attempts, minimum=1) or 1
        spec = _TaskSpec(self.type, due_at)

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
                for batch in chunked(to_create, TASK_BATCH_SIZE):
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
        ApolloTasksLink.persist(context, (task.get("id") for task in result))
        self.log_summary(
            f"{plural(len(result), 'task')} for {plural(len(contact_ids), 'contact')}: "
            f"{len(result) - already_there} created, {already_there} already there"
        )
        return result

    def _look_up(self, contact_ids: Sequence[str], spec: _TaskSpec) -> dict[str, dict[str, Any]]:
        """The task matching ``spec`` of each contact that has one, in any status.

        One walk for all the contacts: Apollo's task search applies no contact filter
        (the hook checks each record), so a walk per batch would read the same pages again.
        """
        if not contact_ids:
            return {}
        records = self.hook.iter_tasks(spec.filters(contact_ids))
        return _tasks_by_contact(records, contact_ids, spec)


class _TaskSpec:
    """What makes an existing task "the same task" as the one to create.

    Contact, type and due date, nothing else: status, owner and note change as reps work.
    """

    def __init__(self, type: str, due_at: pendulum.DateTime) -> None:
        self.type = type
        self.due_at = due_at

    def filters(self, contact_ids: Sequence[str]) -> dict[str, Any]:
        """The task search filters of these contacts' tasks of this type."""
        return {"contact_ids": list(contact_ids), "task_types": [self.type]}

    def matches(self, task: Mapping[str, Any]) -> bool:
        # The same check the hook applies (task_filters.py), so a hand-made iterable of
        # tasks is judged exactly as a search answer is.
        selection = TaskSelection.from_filters({"task_types": [self.type]})
        return selection.matches(task) and self._same_due_at(task.get("due_at"))

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
