"""Tasks: never deduplicated by Apollo, so creation is never blindly resent.

Apollo requires a task owner (``user_id``) and documents almost no ``tasks/search`` filter
(it ignores unknown keys), so the owner is resolved once when not given and the filters
Apollo would ignore are checked here on each record (``task_filters.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import Any

from airflow_provider_apollo._api.filters import prepare_filters
from airflow_provider_apollo._api.task_filters import TaskSelection
from airflow_provider_apollo._api.task_owner import TaskOwner, cannot_list_users, choose_task_owner
from airflow_provider_apollo._api.task_types import TASK_PRIORITIES, TASK_TYPES
from airflow_provider_apollo.exceptions import (
    ApolloConfigurationError,
    ApolloPermissionError,
    ApolloUnreadableWriteError,
)
from airflow_provider_apollo.hooks._answers import answer_object
from airflow_provider_apollo.hooks._arguments import require_id, require_ids, require_page, require_record
from airflow_provider_apollo.hooks._resources.crm import TASKS, CrmRecords
from airflow_provider_apollo.hooks._resources.team import TeamAPI
from airflow_provider_apollo.hooks._transport.pagination import (
    page_records,
    validate_max_records,
    validate_per_page,
)

__all__ = ["TASK_PRIORITIES", "TASK_TYPES", "TasksAPI"]


class TasksAPI(CrmRecords, TeamAPI):
    """Tasks: create one or many (with an owner), search (checked on each record)."""

    def create_task(self, task: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /tasks`` (never deduplicated by Apollo: not blindly retried).

        :param task: task fields (``contact_id``, ``type``, ``priority``, ``due_at``, ``note``...).
            Apollo requires ``user_id`` and ``status``: without ``user_id`` the key's owner is
            used (see :meth:`task_owner_id`), without ``status`` it is ``scheduled``.
        """
        record = require_record(task, "task")
        record["user_id"] = self.task_owner_id(record.get("user_id"))
        record.setdefault("status", "scheduled")
        answer = self.request("POST", "tasks", json=record, creates=True, idempotent=False)
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
        :param user_id: the Apollo user the tasks are assigned to (required by Apollo; when
            ``None`` the key's owner, see :meth:`task_owner_id`).
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
        body["user_id"] = self.task_owner_id(user_id)
        if note is not None:
            body["note"] = note
        return self.request("POST", "tasks/bulk_create", json=body, creates=True, idempotent=False)

    def task_owner_id(self, user_id: str | None = None) -> str:
        """The ``user_id`` to send with new tasks: ``user_id`` when given, else the key's owner.

        Apollo requires ``user_id`` to create tasks. The owner is looked up once per hook
        with ``users/search`` and used only when the team has a single active user; else
        this fails, listing the users, before any task is created.

        :param user_id: the caller's choice, if any.
        """
        if user_id is not None:
            return require_id(user_id, "user_id")
        owner = self._task_owner
        self.log.info("Tasks are assigned to user %s: %s.", owner.user_id, owner.reason)
        return owner.user_id

    @cached_property
    def _task_owner(self) -> TaskOwner:
        try:
            users = self.list_users()
        except ApolloPermissionError as error:
            raise cannot_list_users(f"users/search answered {type(error).__name__}") from None
        return choose_task_owner(users)

    def search_tasks(
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = 100
    ) -> dict[str, Any]:
        """One page of ``POST /tasks/search``, its ``tasks`` narrowed to the filters.

        Apollo documents no task filter and ignores unknown keys, so only the documented
        keys are sent and the page's tasks are checked here (``task_filters.py``); the
        ``pagination`` still describes the unfiltered pages.

        :param filters: task search filters (``contact_ids``, ``task_types``, ``statuses``...).
        :param page: 1-based page number.
        :param per_page: 1..100.
        """
        selection = TaskSelection.from_filters(prepare_filters(TASKS.search, filters))
        page, per_page = require_page(page), validate_per_page(per_page)
        sent = {**selection.sent, "page": page, "per_page": per_page}
        answer = answer_object(self.request("POST", "tasks/search", json=sent), "POST tasks/search")
        read = page_records(answer, ["tasks"], where="POST tasks/search", endpoint="tasks/search")
        return {**answer, "tasks": list(selection.select(read, on_done=self._log_task_selection(selection)))}

    def iter_tasks(
        self, filters: Mapping[str, Any], *, max_records: int | None = None, per_page: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every task matching ``filters``, checked on each record (see :meth:`search_tasks`).

        :param filters: task search filters.
        :param max_records: stop after this many matching tasks.
        :param per_page: 1..100.
        """
        selection = TaskSelection.from_filters(prepare_filters(TASKS.search, filters))
        max_records = validate_max_records(max_records)
        pages = self._search_all(TASKS, selection.sent, None, per_page)
        yield from selection.select(
            pages, max_records=max_records, on_done=self._log_task_selection(selection)
        )

    def _log_task_selection(self, selection: TaskSelection) -> Callable[[int, int], None]:
        def log(read: int, matched: int) -> None:
            self.log.info("tasks/search: %s", selection.outcome(read, matched))

        return log
