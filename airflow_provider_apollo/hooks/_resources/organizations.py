"""Organizations: search (1 credit per page), enrichment and job postings (1 credit per page)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from airflow_provider_apollo._api.batching import realign_organizations, validate_domains
from airflow_provider_apollo._api.limits import MAX_PER_PAGE
from airflow_provider_apollo.exceptions import ApolloResponseError
from airflow_provider_apollo.hooks._answers import answer_object
from airflow_provider_apollo.hooks._resources.enrichment_batches import BulkEnrichment, BulkEnrichmentCall
from airflow_provider_apollo.hooks._resources.prospect_search import ORGANIZATION_SEARCH, ProspectSearches
from airflow_provider_apollo.hooks._transport.api_call import endpoint_path
from airflow_provider_apollo.hooks._transport.credit_budget import CreditBudget
from airflow_provider_apollo.hooks._transport.pagination import (
    PagedQuery,
    validate_max_records,
    validate_per_page,
)

JOB_POSTINGS_MAX_PER_PAGE = 10_000
#: Job postings cost 1 credit per page (Apollo's credit rules).
CREDITS_PER_JOB_POSTINGS_PAGE = 1.0


def job_postings_query(organization_id: str, *, per_page: int, max_records: int | None = None) -> PagedQuery:
    """The paged ``GET /organizations/{id}/job_postings`` of one organization (sync and async hooks).

    :param organization_id: Apollo organization id (not an account id).
    :param per_page: 1..10,000: bigger pages cost fewer credits.
    :param max_records: stop after this many postings.
    """
    return PagedQuery(
        "GET",
        endpoint_path("organizations/{organization_id}/job_postings", organization_id=organization_id),
        records_keys=("organization_job_postings",),
        what="job postings",
        per_page=validate_per_page(per_page, maximum=JOB_POSTINGS_MAX_PER_PAGE),
        max_records=validate_max_records(max_records),
        credits_per_page=CREDITS_PER_JOB_POSTINGS_PAGE,
    )


class OrganizationsAPI(BulkEnrichment, ProspectSearches):
    """Organization search, enrichment and job postings."""

    def search_organizations(
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = MAX_PER_PAGE
    ) -> dict[str, Any]:
        """One page of ``POST /mixed_companies/search`` (1 credit per page).

        :param filters: organization search filters (see ``filters.ORGANIZATION_SEARCH_FILTERS``).
        :param page: 1-based page number.
        :param per_page: 1..100.
        """
        return self._prospect_page(ORGANIZATION_SEARCH, filters, page, per_page)

    def iter_organizations(
        self,
        filters: Mapping[str, Any],
        *,
        max_records: int | None = None,
        per_page: int = MAX_PER_PAGE,
        first_page: int = 1,
    ) -> Iterator[dict[str, Any]]:
        """Every matching organization (``organizations`` then ``accounts`` of each page).

        :param filters: organization search filters.
        :param max_records: stop after this many (``None``: all Apollo shows). Each page costs 1 credit.
        :param per_page: 1..100.
        :param first_page: the page to start from (to resume a search after its last full page).
        """
        return self._prospect_walk(ORGANIZATION_SEARCH, filters, max_records, per_page, first_page)

    def enrich_organization(self, domain: str) -> dict[str, Any] | None:
        """``GET /organizations/enrich?domain=``; ``None`` when Apollo answers ``{}``.

        :param domain: the company's domain (a website URL is reduced to its domain). 1 credit on a match.
        """
        (normalized,) = validate_domains([domain])
        answer = answer_object(
            self.request("GET", "organizations/enrich", params={"domain": normalized}),
            "GET organizations/enrich",
        )
        organization = answer.get("organization")
        if organization is not None and not isinstance(organization, dict):
            # Apollo's "not found" is {} (no 'organization'); anything else is a broken answer.
            raise ApolloResponseError(
                f"Apollo's answer to GET organizations/enrich has an 'organization' that is not an "
                f"object ({type(organization).__name__}).",
                endpoint="organizations/enrich",
            )
        if not organization:
            return None
        self._add_credits(1)
        return organization

    def bulk_enrich_organizations(
        self, domains: Sequence[str], *, budget: CreditBudget | None = None
    ) -> list[dict[str, Any] | None]:
        """Any number of domains via ``POST /organizations/bulk_enrich`` in chunks of 10, aligned.

        Repeated domains are asked once. 1 credit per organization found.

        :param domains: company domains or website URLs.
        :param budget: credits this call may spend, counted at their worst case (1 per domain).
        """
        normalized = validate_domains(domains)
        unique = list(dict.fromkeys(normalized))
        spec = BulkEnrichmentCall(
            "organizations/bulk_enrich",
            request_key="domains",
            answer_key="organizations",
            options={},
            realign=realign_organizations,
            credits_of=lambda found: float(sum(o is not None for o in found)),
            worst_per_item=1.0,
        )
        found = dict(zip(unique, self._enrich_in_batches(spec, unique, budget), strict=True))
        # A repeated domain gets its own copy, so changing one result cannot change another.
        return [None if (organization := found[d]) is None else dict(organization) for d in normalized]

    def iter_job_postings(
        self, organization_id: str, *, per_page: int = MAX_PER_PAGE, max_records: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """``GET /organizations/{id}/job_postings``, every page (1 credit per page).

        :param organization_id: Apollo organization id (not an account id).
        :param per_page: 1..10,000: bigger pages cost fewer credits.
        :param max_records: stop after this many postings.
        """
        yield from self._iter_pages(
            job_postings_query(organization_id, per_page=per_page, max_records=max_records)
        )
