"""ApolloJobPostingsSensor: wait until target organizations post matching jobs (a hiring signal)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import PokeReturnValue

from airflow_provider_apollo._api.batching import require_domain
from airflow_provider_apollo._api.criteria import (
    Organization,
    PostingCriteria,
    hiring_signal,
    hiring_summary,
    string_list,
)
from airflow_provider_apollo._api.timestamps import parse_instant
from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.sensors._base import ApolloBaseSensor

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_apollo.triggers.job_postings import ApolloJobPostingsTrigger

#: Apollo serves up to 10,000 postings per page; a page costs 1 credit whatever its size.
MAX_JOB_POSTINGS_PER_PAGE = 10_000
#: Below this poke interval a warning says what the polling costs.
FRUGAL_POKE_INTERVAL = 3600
#: task_state_store key of the domain -> organization resolution (kept across reschedules).
RESOLVED_ORGANIZATIONS_KEY = "apollo_job_postings_organizations"


class ApolloJobPostingsSensor(ApolloBaseSensor):
    """Wait until organizations publish new job postings whose title matches keywords.

    Job postings cost **1 credit per page per organization** on every poke, so the defaults
    are frugal: one poke an hour, in ``reschedule`` mode (no worker slot held in between).
    Domains are turned into Apollo organization ids with one bulk organization enrichment
    (1 credit per domain found) once per task instance: the ids are kept in the task state
    store across reschedules and handed to the trigger when deferring. Pass
    ``organization_ids`` (the sensor logs them) to spend nothing on the lookup.

    Returns one entry per organization that has matching postings, in input order::

        [{"organization_id": "5e66...", "organization_domain": "acme.com" | None,
          "postings": [{"id", "title", "url", "city", "state", "country", "posted_at", ...}]}]

    :param organization_ids: Apollo organization ids to watch (templated). Give this or
        ``organization_domains``.
    :param organization_domains: company domains or website URLs to watch (templated).
    :param title_keywords: a posting counts when its title contains one of these,
        case-insensitive (templated); ``None`` or empty: any title.
    :param posted_after: only postings published strictly after this moment: a datetime or
        an ISO 8601 string (templated). Default: the run's data interval start, or its
        ``dag_run.run_after`` in a run without a data interval (triggered without a logical date).
    :param per_page: postings per page, up to 10,000; fewer pages spend fewer credits.
    :param poke_interval: seconds between pokes (default one hour; less warns about credits).
    :param mode: ``reschedule`` (default) or ``poke``.
    """

    template_fields: Sequence[str] = (
        "organization_ids",
        "organization_domains",
        "title_keywords",
        "posted_after",
        "apollo_conn_id",
    )

    def __init__(
        self,
        *,
        organization_ids: list[str] | str | None = None,
        organization_domains: list[str] | str | None = None,
        title_keywords: list[str] | str | None = None,
        posted_after: datetime.datetime | str | None = None,
        per_page: int = 100,
        poke_interval: float = FRUGAL_POKE_INTERVAL,
        mode: str = "reschedule",
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, mode=mode, **kwargs)
        if (organization_ids is None) == (organization_domains is None):
            raise ApolloConfigurationError(
                f"{type(self).__name__} '{self.task_id}': give exactly one of organization_ids or "
                "organization_domains."
            )
        if isinstance(per_page, bool) or not isinstance(per_page, int):
            raise ApolloConfigurationError(f"per_page must be a whole number; got {per_page!r}.")
        if not 1 <= per_page <= MAX_JOB_POSTINGS_PER_PAGE:
            raise ApolloConfigurationError(
                f"per_page must be from 1 to {MAX_JOB_POSTINGS_PER_PAGE}; got {per_page}."
            )
        self.organization_ids = organization_ids
        self.organization_domains = organization_domains
        self.title_keywords = title_keywords
        self.posted_after = posted_after
        self.per_page = per_page
        # Filled by the first check of a task try: reused by later pokes and the trigger.
        self._organizations: list[Organization] | None = None
        self._resolved_domains: list[str] | None = None
        self._criteria: PostingCriteria | None = None

    def execute(self, context: Context) -> Any:
        """Warn about credits when polling often, then poke, reschedule or defer."""
        if self.poke_interval < FRUGAL_POKE_INTERVAL:
            self.log.warning(
                "poke_interval=%g s: every poke pages the job postings of each organization, at "
                "1 credit per page per organization. An interval of %d s or more keeps the cost low.",
                self.poke_interval,
                FRUGAL_POKE_INTERVAL,
            )
        return super().execute(context)

    # -------------------------------------------------------------- argument checks
    def _posting_criteria(self, context: Context) -> PostingCriteria:
        if self.posted_after is None or self.posted_after == "":
            posted_after = self._default_posted_after(context)
        else:
            posted_after = parse_instant("posted_after", self.posted_after)
        keywords: tuple[str, ...] = ()
        if self.title_keywords not in (None, "", [], ()):
            keywords = tuple(string_list("title_keywords", self.title_keywords))
        return PostingCriteria(posted_after=posted_after, title_keywords=keywords)

    def _default_posted_after(self, context: Context) -> datetime.datetime:
        """The run's data interval start, else its ``run_after`` (always set in Airflow 3).

        A run triggered without a logical date (CLI or REST API without one, an asset event)
        has no data interval; ``run_after`` is then what a scheduled run of the same DAG would
        have as its interval start under Airflow 3's default cron timetable.
        """
        interval_start = context.get("data_interval_start")
        if interval_start is not None:
            return parse_instant("data_interval_start", interval_start)
        dag_run = context.get("dag_run")
        run_after = getattr(dag_run, "run_after", None)
        if run_after is None:
            raise ApolloConfigurationError(
                f"{type(self).__name__} '{self.task_id}': posted_after is not set and this run has "
                "no data interval and no dag_run.run_after. Pass posted_after, e.g. "
                '"{{ (dag_run.run_after - macros.timedelta(days=7)).isoformat() }}".'
            )
        return parse_instant("dag_run.run_after", run_after)

    def _watched_domains(self) -> list[str]:
        given = string_list("organization_domains", self.organization_domains)
        domains = [require_domain(f"organization_domains[{i}]", d) for i, d in enumerate(given)]
        return list(dict.fromkeys(domains))

    # -------------------------------------------------------------- domain resolution
    def _resolve(self, context: Context) -> list[Organization]:
        if self.organization_ids is not None:
            return [Organization(id=i) for i in organization_ids(self.organization_ids)]
        domains = self._watched_domains()
        if self._organizations is not None and self._resolved_domains == domains:
            return self._organizations
        organizations = self._stored_resolution(context, domains)
        if organizations is None:
            organizations = self._enrich_domains(domains)
            self._store_resolution(context, domains, organizations)
        self._organizations, self._resolved_domains = organizations, domains
        return organizations

    def _enrich_domains(self, domains: list[str]) -> list[Organization]:
        credits_before = self.hook.credits_spent
        enriched = self.hook.bulk_enrich_organizations(domains)
        organizations: list[Organization] = []
        unknown: list[str] = []
        for domain, organization in zip(domains, enriched, strict=True):
            if organization and organization.get("id"):
                organizations.append(Organization(id=str(organization["id"]), domain=domain))
            else:
                unknown.append(domain)
        self.log.info(
            "Resolved %d of %d domains to organization ids for %g credits: %s. Pass organization_ids "
            "instead of organization_domains to skip this lookup.",
            len(organizations),
            len(domains),
            self.hook.credits_spent - credits_before,
            ", ".join(f"{o.domain}={o.id}" for o in organizations) or "none",
        )
        if unknown:
            self.log.warning(
                "Apollo knows no organization for: %s. They are not watched.", ", ".join(unknown)
            )
        if not organizations:
            raise ApolloConfigurationError(
                f"{type(self).__name__} '{self.task_id}': Apollo knows none of organization_domains "
                f"({', '.join(domains[:10])}); check the domains (e.g. 'acme.com')."
            )
        return organizations

    def _stored_resolution(self, context: Context, domains: list[str]) -> list[Organization] | None:
        store = context.get("task_state_store")
        if store is None:
            if self.reschedule:
                self.log.warning(
                    "No task state store: in reschedule mode every poke resolves the %d domains again "
                    "(up to %d credits per poke). Pass organization_ids to avoid it.",
                    len(domains),
                    len(domains),
                )
            return None
        stored = store.get(RESOLVED_ORGANIZATIONS_KEY)
        if not isinstance(stored, dict) or stored.get("domains") != domains:
            return None
        items = stored.get("organizations")
        if not isinstance(items, list):
            return None
        organizations = [Organization.from_json(item) for item in items if isinstance(item, dict)]
        self.log.info("Reusing the organization ids resolved by an earlier poke (0 credits).")
        return organizations or None

    def _store_resolution(
        self, context: Context, domains: list[str], organizations: list[Organization]
    ) -> None:
        store = context.get("task_state_store")
        if store is not None:
            value: dict[str, Any] = {
                "domains": domains,
                "organizations": [organization.to_json() for organization in organizations],
            }
            store.set(RESOLVED_ORGANIZATIONS_KEY, value)

    # -------------------------------------------------------------- poke / defer
    def check(self, context: Context) -> tuple[PokeReturnValue, str]:
        """Page the postings of every organization once and keep the matching ones."""
        criteria = self._posting_criteria(context)
        if _is_empty_list(self.organization_ids) or _is_empty_list(self.organization_domains):
            # Empty input means no request, as in the operators: an upstream task found no
            # organization to watch today, so there is nothing to wait for.
            return PokeReturnValue(
                True, []
            ), "No organization to watch (the list is empty): nothing to wait for"
        if self.organization_domains is not None:
            self._watched_domains()  # validate before the lookup spends anything
        organizations = self._resolve(context)
        self._criteria = criteria
        signals = []
        for organization in organizations:
            postings = self.hook.iter_job_postings(organization.id, per_page=self.per_page)
            matching = criteria.select(postings)
            if matching:
                signals.append(hiring_signal(organization, matching))
        summary = hiring_summary(signals, len(organizations), criteria)
        return PokeReturnValue(bool(signals), signals or None), summary

    def build_trigger(self, context: Context) -> ApolloJobPostingsTrigger:
        """The trigger, given the ids resolved on the worker (it never enriches)."""
        # Imported here: the async client (httpx) is only needed on the deferrable path,
        # and DAG files import this module at every parse.
        from airflow_provider_apollo.triggers.job_postings import ApolloJobPostingsTrigger

        organizations = self._resolve(context)
        criteria = self._criteria or self._posting_criteria(context)
        return ApolloJobPostingsTrigger(
            apollo_conn_id=self.apollo_conn_id,
            organizations=[organization.to_json() for organization in organizations],
            posted_after=criteria.posted_after.isoformat(),
            title_keywords=list(criteria.title_keywords),
            per_page=self.per_page,
            poll_interval=self.poke_interval,
        )


def _is_empty_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and not value


def organization_ids(value: Any) -> list[str]:
    """Organization ids from ids, organization records (their ``id``) or account records.

    An account record (from the organization search or the team's accounts) carries its
    organization under ``organization_id``; its own ``id`` is an account id, which the job
    postings endpoint does not know. So ``organization_id`` is taken first.
    """
    if isinstance(value, Mapping) or (
        isinstance(value, (list, tuple)) and any(isinstance(item, Mapping) for item in value)
    ):
        items = [value] if isinstance(value, Mapping) else list(value)
        value = [
            (item.get("organization_id") or item.get("id")) if isinstance(item, Mapping) else item
            for item in items
        ]
    return string_list("organization_ids", value)
