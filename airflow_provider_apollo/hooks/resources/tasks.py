"""Tasks: never deduplicated by Apollo, so creation is never blindly resent."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from airflow_provider_apollo.exceptions import ApolloConfigurationError, ApolloUnreadableWriteError
from airflow_provider_apollo.hooks.arguments import require_ids, require_record
from airflow_provider_apollo.hooks.resources.crm import TASKS, CrmRecords

TASK_PRIORITIES = ("high", "medium", "low")
TASK_TYPES = (
    "call",
    "outreach_manual_email",
    "action_item",
    "linkedin_step_connect",
    "linkedin_step_message",
    "linkedin_step_view_profile",
    "linkedin_step_interact_post",
)


class TasksAPI(CrmRecords):
    """Tasks: create one or many, search."""

    def create_task(self, task: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /tasks`` (never deduplicated by Apollo: not blindly retried).

        :param task: task fields (``contact_id``, ``type``, ``priority``, ``due_at``, ``note``...).
        """
        answer = self.request(
            "POST", "tasks", json=require_record(task, "task"), creates=True, idempotent=False
        )
        if isinstance(answer, dict) and isinstance(answer.get("task"), dict):
            return dict(answer["task"])
        if isinstance(answer, dict) and answer.get("id"):
            return answer
        raise ApolloUnreadableWriteError(
            "Apollo's answer to POST tasks has no 'task' object, yet the task may exist: "
            "look for it before creating again.",
            endpoint="tasks",
        )

    def bulk_create_tasks(
        self,
        contact_ids: Sequence[str],
        *,
        type: str,
        priority: str,
        due_at: str,
        user_id: str | None = None,
        note: str | None = None,
        status: str = "scheduled",
    ) -> Any:
        """``POST /tasks/bulk_create`` (never deduplicated by Apollo: not blindly retried).

        :param contact_ids: one task is created per contact.
        :param type: ``call``, ``outreach_manual_email``, ``action_item`` or a ``linkedin_step_*`` type.
        :param priority: ``high``, ``medium`` or ``low``.
        :param due_at: ISO 8601 date-time.
        :param user_id: the Apollo user the tasks are assigned to.
        :param note: text attached to each task.
        :param status: initial status (``scheduled``).
        """
        if type not in TASK_TYPES:
            raise ApolloConfigurationError(f"type must be one of {', '.join(TASK_TYPES)}; got {type!r}.")
        if priority not in TASK_PRIORITIES:
            raise ApolloConfigurationError(
                f"priority must be one of {', '.join(TASK_PRIORITIES)}; got {priority!r}."
            )
        if not isinstance(due_at, str) or not due_at.strip():
            raise ApolloConfigurationError(f"due_at must be an ISO 8601 date-time string; got {due_at!r}.")
        body: dict[str, Any] = {
            "contact_ids": require_ids(contact_ids, "contact_ids"),
            "type": type,
            "priority": priority,
            "due_at": due_at,
            "status": status,
        }
        if user_id:
            body["user_id"] = user_id
        if note is not None:
            body["note"] = note
        return self.request("POST", "tasks/bulk_create", json=body, creates=True, idempotent=False)

    def search_tasks(
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = 100
    ) -> dict[str, Any]:
        """One page of ``POST /tasks/search``.

        :param filters: task search filters (``contact_ids``, ``task_types``, ``statuses``...).
        :param page: 1-based page number.
        :param per_page: 1..100.
        """
        return self._search_page(TASKS, filters, page, per_page)

    def iter_tasks(
        self, filters: Mapping[str, Any], *, max_records: int | None = None, per_page: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every matching task.

        :param filters: task search filters.
        :param max_records: stop after this many tasks.
        :param per_page: 1..100.
        """
        return self._search_all(TASKS, filters, max_records, per_page)
