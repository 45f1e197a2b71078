"""ApolloTasksTrigger: wait in the triggerer until Apollo tasks reach a target status."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_apollo._api.criteria import TaskCriteria
from airflow_provider_apollo.hooks.async_apollo import ApolloAsyncHook
from airflow_provider_apollo.triggers._base import ApolloPollingTrigger, PollOutcome


class ApolloTasksTrigger(ApolloPollingTrigger):
    """Poll ``tasks/search`` until the watched tasks reached a target status (0 credits).

    Deferred to by ``ApolloTasksSensor(deferrable=True)``; fires the compact tasks that
    reached a target status, exactly as the poking sensor returns them.

    :param apollo_conn_id: Airflow connection of type ``apollo``.
    :param filters: ``tasks/search`` filters (validated by the sensor on the worker).
    :param task_ids: only these tasks.
    :param contact_ids: only tasks of these contacts.
    :param task_type: only tasks of this type.
    :param target_statuses: statuses that count as reached.
    :param min_matches: done when at least this many reached one; ``None``: all of them.
    :param per_page: tasks per page.
    :param poll_interval: seconds between two polls.
    :param hook_params: ``timeout`` and ``max_retries`` of the async hook (the sensor's ``hook_params``).
    """

    def __init__(
        self,
        *,
        apollo_conn_id: str,
        filters: Mapping[str, Any] | None = None,
        task_ids: Sequence[str] = (),
        contact_ids: Sequence[str] = (),
        task_type: str | None = None,
        target_statuses: Sequence[str] = ("completed",),
        min_matches: int | None = None,
        per_page: int = 100,
        poll_interval: float = 300,
        hook_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(apollo_conn_id=apollo_conn_id, poll_interval=poll_interval, hook_params=hook_params)
        self.filters = dict(filters or {})
        self.criteria = TaskCriteria(
            task_ids=tuple(task_ids),
            contact_ids=tuple(contact_ids),
            task_type=task_type,
            target_statuses=tuple(target_statuses),
            min_matches=min_matches,
        )
        self.per_page = per_page

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and JSON-only keyword arguments."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "apollo_conn_id": self.apollo_conn_id,
                "filters": self.filters,
                **self.criteria.to_json(),
                "per_page": self.per_page,
                "poll_interval": self.poll_interval,
                "hook_params": self.hook_params,
            },
        )

    async def poll(self, hook: ApolloAsyncHook) -> PollOutcome:
        """Walk the task search once and decide."""
        tasks = [task async for task in hook.iter_tasks(self.filters, per_page=self.per_page)]
        verdict = self.criteria.evaluate(tasks)
        return PollOutcome(done=verdict.done, data=verdict.reached, summary=verdict.summary)
