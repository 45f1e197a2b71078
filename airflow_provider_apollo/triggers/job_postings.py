"""ApolloJobPostingsTrigger: wait in the triggerer for new matching job postings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_apollo._api.criteria import Organization, PostingCriteria, hiring_signal, hiring_summary
from airflow_provider_apollo.hooks.async_apollo import ApolloAsyncHook
from airflow_provider_apollo.triggers._base import ApolloPollingTrigger, PollOutcome


class ApolloJobPostingsTrigger(ApolloPollingTrigger):
    """Poll the job postings of organizations until one has a new matching posting.

    Deferred to by ``ApolloJobPostingsSensor(deferrable=True)``; fires the sensor's result:
    ``[{"organization_id", "organization_domain", "postings": [...]}]``. Each poll pages
    the postings of every organization: 1 credit per page per organization.

    :param apollo_conn_id: Airflow connection of type ``apollo``.
    :param organizations: ``[{"id": ..., "domain": ...}]``, already resolved on the worker.
    :param posted_after: ISO 8601 timestamp; only postings strictly newer count.
    :param title_keywords: a posting's title must contain one (case-insensitive); empty: any.
    :param per_page: postings per page.
    :param poll_interval: seconds between two polls.
    :param hook_params: ``timeout`` and ``max_retries`` of the async hook (the sensor's ``hook_params``).
    """

    def __init__(
        self,
        *,
        apollo_conn_id: str,
        organizations: Sequence[Mapping[str, Any]],
        posted_after: str,
        title_keywords: Sequence[str] = (),
        per_page: int = 100,
        poll_interval: float = 3600,
        hook_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(apollo_conn_id=apollo_conn_id, poll_interval=poll_interval, hook_params=hook_params)
        self.organizations = [Organization.from_json(item) for item in organizations]
        self.criteria = PostingCriteria.from_json(posted_after, title_keywords)
        self.per_page = per_page

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and JSON-only keyword arguments (ids, strings, numbers)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "apollo_conn_id": self.apollo_conn_id,
                "organizations": [organization.to_json() for organization in self.organizations],
                **self.criteria.to_json(),
                "per_page": self.per_page,
                "poll_interval": self.poll_interval,
                "hook_params": self.hook_params,
            },
        )

    async def poll(self, hook: ApolloAsyncHook) -> PollOutcome:
        """Page every organization's postings once and keep the matching ones."""
        signals = []
        for organization in self.organizations:
            postings = [p async for p in hook.iter_job_postings(organization.id, per_page=self.per_page)]
            matching = self.criteria.select(postings)
            if matching:
                signals.append(hiring_signal(organization, matching))
        summary = hiring_summary(signals, len(self.organizations), self.criteria)
        return PollOutcome(done=bool(signals), data=signals, summary=summary)
