"""Apollo's prospecting searches (people, organizations): capped at 500 pages, walked one way.

Both take the same paging, stop at the same 50,000-record display cap and warn the same way
when a query matches more; only the path, the records keys, the filter catalogue and the
price per page differ, so each is a row of a table.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_apollo._api.filters import prepare_filters
from airflow_provider_apollo.hooks._answers import answer_object
from airflow_provider_apollo.hooks._arguments import require_page
from airflow_provider_apollo.hooks._transport.pagination import (
    SEARCH_PAGE_CAP,
    PagedQuery,
    validate_max_records,
    validate_per_page,
)
from airflow_provider_apollo.hooks._transport.sync_client import ApolloSyncClient


@dataclass(frozen=True)
class ProspectSearch:
    """One prospecting search endpoint.

    :param path: the endpoint.
    :param catalogue: the filter catalogue (``filters.py``) its filters are checked against.
    :param records_keys: the answer members holding records.
    :param what: the records' name in messages.
    :param split_hint: how to split a query that matches more than the cap.
    :param credits_per_page: what Apollo charges per page.
    """

    path: str
    catalogue: str
    records_keys: tuple[str, ...]
    what: str
    split_hint: str
    credits_per_page: float = 0.0


_PEOPLE_SPLIT = "by person_locations, person_seniorities or organization_num_employees_ranges"
PEOPLE_SEARCH = ProspectSearch(
    "mixed_people/api_search", "people search", ("people",), "people", _PEOPLE_SPLIT
)
ORGANIZATION_SEARCH = ProspectSearch(
    "mixed_companies/search",
    "organization search",
    ("organizations", "accounts"),
    "organizations",
    "by organization_locations or organization_num_employees_ranges (size ranges)",
    credits_per_page=1.0,
)


class ProspectSearches(ApolloSyncClient):
    """One page, or every page, of a prospecting search."""

    def _prospect_page(
        self, search: ProspectSearch, filters: Mapping[str, Any], page: int, per_page: int
    ) -> dict[str, Any]:
        body = prepare_filters(search.catalogue, filters)
        page, per_page = require_page(page), validate_per_page(per_page)
        answer = self.request("POST", search.path, json={**body, "page": page, "per_page": per_page})
        self._add_credits(search.credits_per_page)
        return answer_object(answer, f"POST {search.path}")

    def _prospect_walk(
        self,
        search: ProspectSearch,
        filters: Mapping[str, Any],
        max_records: int | None,
        per_page: int,
        first_page: int = 1,
    ) -> Iterator[dict[str, Any]]:
        query = PagedQuery(
            "POST",
            search.path,
            records_keys=search.records_keys,
            what=search.what,
            filters=prepare_filters(search.catalogue, filters),
            per_page=validate_per_page(per_page),
            max_records=validate_max_records(max_records),
            max_pages=SEARCH_PAGE_CAP,
            split_hint=search.split_hint,
            credits_per_page=search.credits_per_page,
            first_page=first_page,
        )
        yield from self._iter_pages(query)
