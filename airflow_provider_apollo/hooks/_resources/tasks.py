"""Tasks: never deduplicated by Apollo, so creation is never blindly resent.

Apollo requires a task owner (``user_id``) and documents almost no ``tasks/search`` filter
(it ignores unknown keys), so the owner is resolved once when not given and the filters
Apollo would ignore are checked here on each record (``task_filters.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from airflow_provider_apollo._api.batching import chunked
from airflow_provider_apollo._api.filters import prepare_filters
from airflow_provider_apollo._api.limits import MAX_BULK_RECORDS, MAX_PER_PAGE
from airflow_provider_apollo._api.task_filters import TaskSelection
from airflow_provider_apollo._api.task_match import TaskMatch
from airflow_provider_apollo._api.task_owner import TaskOwner, cannot_list_users, choose_task_owner
from airflow_provider_apollo._api.task_types import TASK_PRIORITIES, TASK_TYPES
from airflow_provider_apollo._api.timestamps import iso_instant, parse_instant
from airflow_provider_apollo.exceptions import (
    ApolloConfigurationError,
    ApolloPermissionError,
    ApolloUnreadableWriteError,
)
from airflow_provider_apollo.hooks._answers import answer_object
from airflow_provider_apollo.hooks._arguments import require_id, require_ids, require_page, require_record
from airflow_provider_apollo.hooks._resources._converging import create_attempts, create_converging
from airflow_provider_apollo.hooks._resources.crm import TASKS, CrmRecords
from airflow_provider_apollo.hooks._resources.team import TeamAPI
from airflow_provider_apollo.hooks._transport.pagination import (
    page_records,
    validate_max_records,
    validate_per_page,
)

__all__ = ["TASK_PRIORITIES", "TASK_TYPES", "TasksAPI", "TasksCreated"]

#: Contact ids per ``tasks/bulk_create`` call.
TASK_BATCH_SIZE = MAX_BULK_RECORDS


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
        answer = self.request("POST", "tasks", json=record, retry_safe=False)
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
        task_type: str,
        priority: str,
        due_at: datetime | str,
        user_id: str | None = None,
        note: str | None = None,
        status: str = "scheduled",
        max_attempts: int | None = None,
    ) -> TasksCreated:
        """One task per contact (``POST /tasks/bulk_create``, 100 per call), never twice.

        Apollo never deduplicates tasks, so the contacts' tasks are looked up first: a
        contact that already has a task of this type due at this instant (within a second)
        gets no other, **whatever its status, owner or note**. A create whose answer is lost
        is not resent blindly: the tasks are looked up again and only the missing ones are
        sent, up to ``max_attempts`` creates (the policy contacts follow, ``_converging.py``).

        :param contact_ids: one task is created per contact.
        :param task_type: ``call``, ``outreach_manual_email``, ``action_item`` or a
            ``linkedin_step_*`` type (sent as Apollo's ``type``).
        :param priority: ``high``, ``medium`` or ``low``.
        :param due_at: a datetime (naive means UTC) or an ISO 8601 date-time.
        :param user_id: the Apollo user the tasks are assigned to (required by Apollo; when
            ``None`` the key's owner, see :meth:`task_owner_id`).
        :param note: text attached to each task.
        :param status: initial status (``scheduled``).
        :param max_attempts: the most creates to send when answers are lost; default: the
            connection's ``max_retries`` + 1.
        :raises ApolloAmbiguousWriteError: tasks still unconfirmed after ``max_attempts`` creates.
        """
        if task_type not in TASK_TYPES:
            raise ApolloConfigurationError(
                f"task_type must be one of {', '.join(map(repr, TASK_TYPES))}; got {task_type!r}."
            )
        if priority not in TASK_PRIORITIES:
            raise ApolloConfigurationError(
                f"priority must be one of {', '.join(map(repr, TASK_PRIORITIES))}; got {priority!r}."
            )
        due = parse_instant("due_at", due_at)
        contacts = list(dict.fromkeys(require_ids(contact_ids, "contact_ids")))
        body: dict[str, Any] = {
            "type": task_type,
            "priority": priority,
            "due_at": iso_instant(due),
            "status": require_id(status, "status"),
        }
        owner = None if user_id is None else require_id(user_id, "user_id")
        if note is not None:
            body["note"] = note
        attempts = create_attempts(max_attempts, self.config.max_retries)
        match = TaskMatch.of(task_types=[task_type], due_at=due)

        tasks = self._existing_tasks(contacts, task_type, match)
        already_there = len(tasks)
        confirmed: set[str] = set()  # creates Apollo acknowledged: never sent again

        def create(missing: list[str]) -> None:
            for batch in chunked(missing, TASK_BATCH_SIZE):
                answer = self._post_bulk_tasks({**body, "contact_ids": list(batch)})
                confirmed.update(batch)
                tasks.update(_tasks_by_contact(_task_records(answer), batch, match))

        def still_missing(missing: list[str]) -> list[str]:
            tasks.update(self._existing_tasks([c for c in missing if c not in tasks], task_type, match))
            return [c for c in missing if c not in tasks and c not in confirmed]

        to_create = [c for c in contacts if c not in tasks]
        if to_create:
            # Only now: a call that finds every task already there sends no users/search.
            body["user_id"] = self.task_owner_id(owner)
            create_converging(
                to_create,
                create=create,
                still_missing=still_missing,
                attempts=attempts,
                what=f"the {task_type} tasks of {len(to_create)} contact(s) (tasks/bulk_create)",
                log=self.log,
            )
        if any(c not in tasks for c in confirmed):  # Apollo answered ``true``, not the records
            tasks.update(self._existing_tasks([c for c in contacts if c not in tasks], task_type, match))
        unlisted = [c for c in contacts if c not in tasks]
        if unlisted:
            self.log.warning(
                "Apollo acknowledged the tasks of %d contact(s) but does not list them yet; they are "
                "not in the result. Do not create them again by hand.",
                len(unlisted),
            )
        found = [tasks[c] for c in contacts if c in tasks]
        return TasksCreated(
            tasks=found, created=len(found) - already_there, already_there=already_there, unlisted=unlisted
        )

    def _post_bulk_tasks(self, body: Mapping[str, Any]) -> Any:
        """One ``POST /tasks/bulk_create``; never resent when its answer is lost."""
        return self.request("POST", "tasks/bulk_create", json=body, retry_safe=False)

    def _existing_tasks(
        self, contact_ids: Sequence[str], task_type: str, match: TaskMatch
    ) -> dict[str, dict[str, Any]]:
        """The task matching ``match`` of each contact that has one, in any status.

        One walk for all the contacts: Apollo's task search applies no contact filter
        (each record is checked here), so a walk per batch would read the same pages again.
        """
        if not contact_ids:
            return {}
        records = self.iter_tasks({"contact_ids": list(contact_ids), "task_types": [task_type]})
        return _tasks_by_contact(records, contact_ids, match)

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
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = MAX_PER_PAGE
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
        self, filters: Mapping[str, Any], *, max_records: int | None = None, per_page: int = MAX_PER_PAGE
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


@dataclass(frozen=True)
class TasksCreated:
    """What :meth:`TasksAPI.bulk_create_tasks` did.

    :param tasks: one task record per contact that has its task (created now or already
        there), in contact order.
    :param created: how many of them this call created.
    :param already_there: how many existed before (same contact, type and due date).
    :param unlisted: contacts whose create Apollo acknowledged but whose task
        ``tasks/search`` does not list yet.
    """

    tasks: list[dict[str, Any]]
    created: int
    already_there: int
    unlisted: list[str] = field(default_factory=list)


def _tasks_by_contact(
    records: Iterable[Mapping[str, Any]], contact_ids: Sequence[str], match: TaskMatch
) -> dict[str, dict[str, Any]]:
    wanted = set(contact_ids)
    found: dict[str, dict[str, Any]] = {}
    for record in records:
        contact_id = record.get("contact_id")
        if contact_id in wanted and contact_id not in found and match.matches(record):
            found[str(contact_id)] = dict(record)
    return found


def _task_records(answer: Any) -> list[Mapping[str, Any]]:
    """Task records in a ``tasks/bulk_create`` answer, if Apollo sent any (it may send ``true``)."""
    if isinstance(answer, Mapping):
        answer = answer.get("tasks")
    if isinstance(answer, list):
        return [record for record in answer if isinstance(record, Mapping)]
    return []
