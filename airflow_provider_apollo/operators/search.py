"""Operators that search Apollo's database of people and organizations."""

from __future__ import annotations

import json
import math
from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_apollo.hooks._transport.connection import is_loopback_host
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators._base import ApolloBaseOperator, plural
from airflow_provider_apollo.operators._output import checked_output_path, write_json_lines
from airflow_provider_apollo.operators._validation import optional_int, required_int, required_mapping

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

#: Apollo shows at most 500 pages of 100 records for one people or organization query.
DISPLAY_CAP = 50_000


class _SearchOperator(ApolloBaseOperator):
    """What both searches share: arguments, checks, paging into XCom or a file."""

    template_fields: Sequence[str] = ("filters", "max_records", "output_path", "apollo_conn_id")
    template_fields_renderers = {"filters": "json"}

    #: "people" or "organizations", for messages.
    noun = "records"

    def __init__(
        self,
        *,
        filters: Mapping[str, Any],
        max_records: int | None = 100,
        per_page: int = 100,
        output_path: str | None = None,
        apollo_conn_id: str = ApolloHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(apollo_conn_id=apollo_conn_id, **kwargs)
        self.filters = filters
        self.max_records = max_records
        self.per_page = per_page
        self.output_path = output_path
        self.declare_output_asset(output_path)

    def execute(self, context: Context) -> list[dict[str, Any]] | dict[str, Any]:
        filters = required_mapping("filters", self.filters)
        max_records = optional_int("max_records", self.max_records, minimum=1)
        per_page = required_int("per_page", self.per_page, minimum=1, maximum=100)
        output_path = checked_output_path(self.output_path)
        if max_records is not None:
            # Fewer, smaller pages when only a few records are wanted (organization pages cost credits).
            per_page = min(per_page, max_records)

        # The hook checks the filter names when the iterator starts, before its first request;
        # nothing (not even the output file) is created before that.
        records = self.iter_records(filters, max_records=max_records, per_page=per_page)
        result: list[dict[str, Any]] | dict[str, Any]
        if output_path is not None:
            path, count = write_json_lines(output_path, records)
            result = {"path": path, "count": count}
        else:
            result = list(records)
            count = len(result)

        if count >= DISPLAY_CAP and (max_records is None or max_records > DISPLAY_CAP):
            self.log.warning(
                "Stopped at Apollo's display cap of %d %s: this query matches more and the rest were "
                "not returned. Split it (by location, seniority or company size range) into queries "
                "under %d matches each.",
                DISPLAY_CAP,
                self.noun,
                DISPLAY_CAP,
            )
        self.log_summary(self.describe_outcome(count, per_page))
        if count == 0:
            self.log.warning("%s", self._nothing_found_hint(filters))
        return result

    def _nothing_found_hint(self, filters: Mapping[str, Any]) -> str:
        """What to check when a search found nobody: the filters sent, and where names live.

        Apollo applies every filter at once, so one value that matches nobody (a title
        spelt differently, a location Apollo does not know) empties the whole search.
        """
        sent = json.dumps(dict(filters), sort_keys=True, default=str)
        hint = (
            f"No {self.noun} matched the filters sent: {sent}. Every filter must match at once, so "
            "check each value (titles and locations match as phrases: 'VP Sales' does not match "
            "'VP of Sales'), or leave one out to see which empties the result."
        )
        base_url = getattr(self.hook, "base_url", None)
        if isinstance(base_url, str):
            root = base_url.removesuffix("/api/v1")
            if is_loopback_host(urlsplit(root).hostname or ""):
                hint += (
                    f" The connection points at a local sandbox: GET {root}/_sandbox/world shows its "
                    "people's titles, domains, sequences and senders."
                )
        return hint

    @abstractmethod
    def iter_records(
        self, filters: Mapping[str, Any], *, max_records: int | None, per_page: int
    ) -> Iterator[dict[str, Any]]:
        """The matching records, page after page (the endpoint is the subclass's)."""

    @abstractmethod
    def describe_outcome(self, count: int, per_page: int) -> str:
        """The first half of the summary line."""


class ApolloSearchPeopleOperator(_SearchOperator):
    """Search Apollo's people database (``mixed_people/api_search``, no credits).

    The answer carries no emails or phone numbers: feed it to
    :class:`~airflow_provider_apollo.operators.enrichment.ApolloEnrichPeopleOperator` for those.
    Filter names are checked before any request (Apollo silently ignores unknown ones and
    answers an unfiltered page). A query matching more than 50,000 people stops at Apollo's
    display cap with a warning: split it.

    :param filters: Apollo people-search filters, e.g. ``{"person_titles": ["VP Sales"],
        "person_seniorities": ["vp"], "organization_num_employees_ranges": ["51,200"]}``. (templated)
    :param max_records: the most people to return; ``None`` for every match (up to the cap). (templated)
    :param per_page: page size, 1 to 100.
    :param legacy: use the legacy ``mixed_people/search`` endpoint (which Apollo now refuses
        for most API keys).
    :param output_path: write the people as JSON Lines to this local path or object-storage URL
        and return ``{"path", "count"}`` instead of the list. (templated)
    :param apollo_conn_id: Airflow connection of type ``apollo``. (templated)
    :return: the people (Apollo person records) or ``{"path", "count"}``.
    """

    noun = "people"

    def __init__(
        self,
        *,
        filters: Mapping[str, Any],
        max_records: int | None = 100,
        per_page: int = 100,
        legacy: bool = False,
        output_path: str | None = None,
        apollo_conn_id: str = ApolloHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            filters=filters,
            max_records=max_records,
            per_page=per_page,
            output_path=output_path,
            apollo_conn_id=apollo_conn_id,
            **kwargs,
        )
        self.legacy = legacy

    def iter_records(
        self, filters: Mapping[str, Any], *, max_records: int | None, per_page: int
    ) -> Iterator[dict[str, Any]]:
        return self.hook.iter_people(filters, max_records=max_records, per_page=per_page, legacy=self.legacy)

    def describe_outcome(self, count: int, per_page: int) -> str:
        return f"Found {count} {'person' if count == 1 else 'people'}"


class ApolloSearchOrganizationsOperator(_SearchOperator):
    """Search Apollo's organization database (``mixed_companies/search``).

    Each page costs 1 credit, so keep ``max_records`` as small as the job needs; the task
    logs the pages read and the credits spent.

    :param filters: Apollo organization-search filters, e.g. ``{"organization_locations":
        ["Germany"], "organization_num_employees_ranges": ["51,200"]}``. (templated)
    :param max_records: the most organizations to return; ``None`` for every match (up to the
        cap; beware: 1 credit per page). (templated)
    :param per_page: page size, 1 to 100 (bigger pages mean fewer credits).
    :param output_path: write the organizations as JSON Lines to this local path or
        object-storage URL and return ``{"path", "count"}`` instead of the list. (templated)
    :param apollo_conn_id: Airflow connection of type ``apollo``. (templated)
    :return: the organizations (and accounts) found, or ``{"path", "count"}``.
    """

    noun = "organizations"

    def iter_records(
        self, filters: Mapping[str, Any], *, max_records: int | None, per_page: int
    ) -> Iterator[dict[str, Any]]:
        return self.hook.iter_organizations(filters, max_records=max_records, per_page=per_page)

    def describe_outcome(self, count: int, per_page: int) -> str:
        pages = max(1, math.ceil(count / per_page))
        return f"Found {plural(count, 'organization')} in {plural(pages, 'page')} of up to {per_page}"
