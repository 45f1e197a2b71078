"""The operator that creates tasks (calls, emails, action items) for contacts, safely on retry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_apollo._airflow.arguments import (
    as_contact_ids,
    choice,
    optional_int,
    optional_string,
)
from airflow_provider_apollo._api.task_types import TASK_PRIORITIES, TASK_TYPES
from airflow_provider_apollo._api.timestamps import parse_instant
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators._base import ApolloBaseOperator, plural
from airflow_provider_apollo.operators.links import ApolloTasksLink

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class ApolloCreateTasksOperator(ApolloBaseOperator):
    """Create one task per contact (``tasks/bulk_create``), never twice.

    Apollo never deduplicates tasks, so the hook looks before it creates
    (:meth:`ApolloHook.bulk_create_tasks`). A task's identity is its contact, its type and
    its due date (equal within a second): a contact that already has such a task gets no other,
    **whatever the task's status, owner or note**. A task a rep completed, skipped or
    reassigned is still the task this run asked for, so re-running the same DAG run
    creates nothing. (A new due date is a new task.) When a create fails in a way that
    leaves it unknown whether Apollo acted (a dropped connection, a 5xx), it looks again
    and creates only what is still missing, up to ``max_create_attempts`` times. A retried
    or re-run task therefore creates no duplicate.

    :param contact_ids: contact ids or contact records (their ``id``). (templated)
    :param due_at: when the task is due: a datetime or an ISO 8601 string (naive means UTC),
        e.g. ``"{{ data_interval_end }}"``. (templated)
    :param task_type: one of Apollo's task types: ``"call"``, ``"outreach_manual_email"``,
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

    # ``task_type`` is a read-only BaseOperator property (the operator class name), so the
    # argument is stored as ``apollo_task_type`` (as ApolloTasksSensor does).
    template_fields: Sequence[str] = (
        "contact_ids",
        "due_at",
        "apollo_task_type",
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
        task_type: str = "call",
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
        self.apollo_task_type = task_type
        self.priority = priority
        self.user_id = user_id
        self.note = note
        self.status = status
        self.max_create_attempts = max_create_attempts

    def _execute(self, context: Context) -> list[dict[str, Any]]:
        contact_ids = as_contact_ids("contact_ids", self.contact_ids)
        due_at = parse_instant("due_at", self.due_at)
        choice("task_type", self.apollo_task_type, TASK_TYPES)
        choice("priority", self.priority, TASK_PRIORITIES)
        user_id = optional_string("user_id", self.user_id)
        note = optional_string("note", self.note)
        status = optional_string("status", self.status) or "scheduled"
        max_attempts = optional_int("max_create_attempts", self.max_create_attempts, minimum=1) or 1
        if not contact_ids:
            return []

        created = self.hook.bulk_create_tasks(
            contact_ids,
            task_type=self.apollo_task_type,
            priority=self.priority,
            due_at=due_at,
            user_id=user_id,
            note=note,
            status=status,
            max_attempts=max_attempts,
        )
        ApolloTasksLink.persist(context, (task.get("id") for task in created.tasks))
        self.log_summary(
            f"{plural(len(created.tasks), 'task')} for {plural(len(contact_ids), 'contact')}: "
            f"{created.created} created, {created.already_there} already there"
        )
        return created.tasks
