"""Organizations: search (1 credit per page), enrichment and job postings (1 credit per page)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from airflow_provider_apollo.batching import realign_organizations, validate_domains
from airflow_provider_apollo.exceptions import ApolloResponseError
from airflow_provider_apollo.filters import prepare_filters
from airflow_provider_apollo.hooks.answers import answer_object
from airflow_provider_apollo.hooks.api_call import endpoint_path
from airflow_provider_apollo.hooks.arguments import require_page
from airflow_provider_apollo.hooks.resources.enrichment_batches import BulkEnrichment
from airflow_provider_apollo.pagination import (
    SEARCH_PAGE_CAP,
    PagedQuery,
    validate_max_records,
    validate_per_page,
)

JOB_POSTINGS_MAX_PER_PAGE = 10_000
#: Job postings cost 1 credit per page, organization search 1 per page (Apollo's credit rules).
CREDITS_PER_JOB_POSTINGS_PAGE = 1.0
CREDITS_PER_ORGANIZATION_SEARCH_PAGE = 1.0
_ORGANIZATION_SPLIT_HINT = "by organization_locations or organization_num_employees_ranges (size ranges)"


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


class OrganizationsAPI(BulkEnrichment):
    """Organization search, enrichment and job postings."""

    def search_organizations(
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = 100
    ) -> dict[str, Any]:
        """One page of ``POST /mixed_companies/search`` (1 credit per page).

        :param filters: organization search filters (see ``filters.ORGANIZATION_SEARCH_FILTERS``).
        :param page: 1-based page number.
        :param per_page: 1..100.
        """
        body = prepare_filters("organization search", filters)
        page, per_page = require_page(page), validate_per_page(per_page)
        answer = self.request(
            "POST", "mixed_companies/search", json={**body, "page": page, "per_page": per_page}
        )
        self._add_credits(CREDITS_PER_ORGANIZATION_SEARCH_PAGE)
        return answer_object(answer, "POST mixed_companies/search")

    def iter_organizations(
        self, filters: Mapping[str, Any], *, max_records: int | None = None, per_page: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every matching organization (``organizations`` then ``accounts`` of each page).

        :param filters: organization search filters.
        :param max_records: stop after this many (``None``: all Apollo shows). Each page costs 1 credit.
        :param per_page: 1..100.
        """
        query = PagedQuery(
            "POST",
            "mixed_companies/search",
            records_keys=("organizations", "accounts"),
            what="organizations",
            filters=prepare_filters("organization search", filters),
            per_page=validate_per_page(per_page),
            max_records=validate_max_records(max_records),
            max_pages=SEARCH_PAGE_CAP,
            split_hint=_ORGANIZATION_SPLIT_HINT,
            credits_per_page=CREDITS_PER_ORGANIZATION_SEARCH_PAGE,
        )
        yield from self._iter_pages(query)

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

    def bulk_enrich_organizations(self, domains: Sequence[str]) -> list[dict[str, Any] | None]:
        """Any number of domains via ``POST /organizations/bulk_enrich`` in chunks of 10, aligned.

        Repeated domains are asked once. 1 credit per organization found.

        :param domains: company domains or website URLs.
        """
        normalized = validate_domains(domains)
        unique = list(dict.fromkeys(normalized))
        placed = self._enrich_in_batches(
            "organizations/bulk_enrich",
            unique,
            request_key="domains",
            answer_key="organizations",
            options={},
            realign=realign_organizations,
            credits_of=lambda found: float(sum(o is not None for o in found)),
        )
        found = dict(zip(unique, placed, strict=True))
        return [dict(found[d]) if found[d] is not None else None for d in normalized]  # type: ignore[arg-type]

    def iter_job_postings(
        self, organization_id: str, *, per_page: int = 100, max_records: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """``GET /organizations/{id}/job_postings``, every page (1 credit per page).

        :param organization_id: Apollo organization id (not an account id).
        :param per_page: 1..10,000: bigger pages cost fewer credits.
        :param max_records: stop after this many postings.
        """
        yield from self._iter_pages(
            job_postings_query(organization_id, per_page=per_page, max_records=max_records)
        )
