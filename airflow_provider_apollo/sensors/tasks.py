"""ApolloTasksSensor: wait until Apollo tasks (calls, emails, action items) reach a status."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import PokeReturnValue

from airflow_provider_apollo._api.criteria import TaskCriteria, string_list
from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.operators._validation import as_contact_ids, as_record_ids
from airflow_provider_apollo.sensors._base import ApolloBaseSensor

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_apollo.triggers.tasks import ApolloTasksTrigger

MAX_TASKS_PER_PAGE = 100


class ApolloTasksSensor(ApolloBaseSensor):
    """Wait until every watched Apollo task reached a target status (or ``min_matches`` did).

    Each poke walks ``POST /tasks/search`` (0 credits) with ``filters`` (validated by the
    hook; ``contact_ids`` is added to narrow the search) and keeps the tasks that match
    ``task_ids``, ``contact_ids`` and ``task_type``. Those are checked on the answer too:
    Apollo silently ignores filters it does not support and would return other tasks. While
    no task matches, the sensor keeps waiting (the tasks may not exist yet) and says so.

    Returns the matching tasks that reached a target status, compact (no embedded contact
    or account, which would put personal data in XCom)::

        [{"id", "contact_id", "account_id", "user_id", "type", "status", "priority",
          "due_at", "completed_at", "note"}]

    :param task_ids: watch these tasks: ids or task records (their ``id``); an empty list
        means nothing to wait for (templated).
    :param contact_ids: watch the tasks of these contacts: ids or contact records (their
        ``id``), e.g. ApolloCreateContactsOperator's output; an empty list means nothing to
        wait for (templated).
    :param filters: ``tasks/search`` filters that narrow the search (templated).
    :param target_statuses: statuses that count as reached; default ``("completed",)``.
    :param min_matches: done when at least this many matching tasks reached a target
        status; ``None`` (default): when all of them did.
    :param task_type: only tasks of this type, e.g. ``call`` (templated).
    :param per_page: tasks per page of the search (1..100).
    :param poke_interval: seconds between pokes (default 5 minutes: the search is free).
    :param mode: ``reschedule`` (default) or ``poke``.
    """

    # ``task_type`` is a read-only BaseOperator property (the operator class name), so the
    # argument is stored as ``apollo_task_type``.
    template_fields: Sequence[str] = (
        "task_ids",
        "contact_ids",
        "filters",
        "apollo_task_type",
        "apollo_conn_id",
    )

    def __init__(
        self,
        *,
        task_ids: list[str] | str | None = None,
        contact_ids: list[str] | str | None = None,
        filters: Mapping[str, Any] | None = None,
        target_statuses: Sequence[str] | str = ("completed",),
        min_matches: int | None = None,
        task_type: str | None = None,
        per_page: int = 100,
        poke_interval: float = 300,
        mode: str = "reschedule",
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, mode=mode, **kwargs)
        if task_ids is None and contact_ids is None and filters is None and task_type is None:
            raise ApolloConfigurationError(
                f"{type(self).__name__} '{self.task_id}': say which tasks to watch with task_ids, "
                "contact_ids, filters or task_type (waiting on every task of the team is never meant)."
            )
        if min_matches is not None and (
            isinstance(min_matches, bool) or not isinstance(min_matches, int) or min_matches < 1
        ):
            raise ApolloConfigurationError(
                f"min_matches must be None or a whole number >= 1; got {min_matches!r}."
            )
        if (
            isinstance(per_page, bool)
            or not isinstance(per_page, int)
            or not 1 <= per_page <= MAX_TASKS_PER_PAGE
        ):
            raise ApolloConfigurationError(
                f"per_page must be a whole number from 1 to 100; got {per_page!r}."
            )
        self.task_ids = task_ids
        self.contact_ids = contact_ids
        self.filters = filters
        self.target_statuses = tuple(string_list("target_statuses", target_statuses))
        self.min_matches = min_matches
        self.apollo_task_type = task_type
        self.per_page = per_page

    def _task_criteria(self) -> TaskCriteria:
        if self.filters is not None and not isinstance(self.filters, Mapping):
            raise ApolloConfigurationError(
                f"filters must be a mapping of tasks/search filters; got {type(self.filters).__name__}."
            )
        if self.apollo_task_type is not None and (
            not isinstance(self.apollo_task_type, str) or not self.apollo_task_type.strip()
        ):
            raise ApolloConfigurationError(
                f"task_type must be a non-empty string; got {self.apollo_task_type!r}."
            )
        return TaskCriteria(
            task_ids=tuple(as_record_ids("task_ids", self.task_ids, "task"))
            if self.task_ids is not None
            else (),
            contact_ids=tuple(as_contact_ids("contact_ids", self.contact_ids))
            if self.contact_ids is not None
            else (),
            task_type=self.apollo_task_type.strip() if self.apollo_task_type else None,
            target_statuses=self.target_statuses,
            min_matches=self.min_matches,
        )

    def _watches_nobody(self, criteria: TaskCriteria) -> bool:
        """Whether ``task_ids`` or ``contact_ids`` was given but rendered to an empty list.

        Empty input means no request, as in the operators: searching without the empty
        selection would watch every task of the team instead of none.
        """
        return (self.task_ids is not None and not criteria.task_ids) or (
            self.contact_ids is not None and not criteria.contact_ids
        )

    def _search_filters(self, criteria: TaskCriteria) -> dict[str, Any]:
        filters = dict(self.filters or {})
        if criteria.contact_ids and "contact_ids" not in filters:
            filters["contact_ids"] = list(criteria.contact_ids)
        # The hook checks the type on each record too, so its filter note names it.
        if criteria.task_type and "task_types" not in filters and "type" not in filters:
            filters["task_types"] = [criteria.task_type]
        return filters

    def check(self, context: Context) -> tuple[PokeReturnValue, str]:
        """Walk the task search once and decide."""
        criteria = self._task_criteria()
        if self._watches_nobody(criteria):
            return PokeReturnValue(True, []), (
                "No task or contact to watch (an upstream task found none today): nothing to wait for"
            )
        tasks = self.hook.iter_tasks(self._search_filters(criteria), per_page=self.per_page)
        verdict = criteria.evaluate(tasks)
        if verdict.matching == 0:
            self.log.info("No task matches yet (they may not be created yet): waiting.")
        return PokeReturnValue(verdict.done, verdict.reached if verdict.done else None), verdict.summary

    def build_trigger(self, context: Context) -> ApolloTasksTrigger:
        """The trigger with the same selection; the filters were validated by the first check."""
        # Imported here: the async client (httpx) is only needed on the deferrable path,
        # and DAG files import this module at every parse.
        from airflow_provider_apollo.triggers.tasks import ApolloTasksTrigger

        criteria = self._task_criteria()
        return ApolloTasksTrigger(
            apollo_conn_id=self.apollo_conn_id,
            filters=self._search_filters(criteria),
            **criteria.to_json(),
            per_page=self.per_page,
            poll_interval=self.poke_interval,
        )
