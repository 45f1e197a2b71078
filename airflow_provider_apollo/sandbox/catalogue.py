"""Every Apollo endpoint the sandbox serves, and what Apollo documents about each one.

The gateway decides authentication, key permission, faults and rate limits from this table,
not from the web framework's router: a new FastAPI (whose routes are wrapped differently)
cannot make an endpoint skip them. ``tests/sandbox/test_gateway_guard.py`` checks that the
app serves exactly the endpoints listed here, and that each one refuses a wrong key.

Paths are templates relative to ``/api/v1`` (the legacy ``/v1`` prefix serves the same
endpoints); ``{id}`` stands for one path segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from airflow_provider_apollo.sandbox.ratelimit import endpoint_group


@dataclass(frozen=True)
class Endpoint:
    """One Apollo endpoint.

    :param method: HTTP method.
    :param path: template relative to ``/api/v1``, e.g. ``/contacts/{id}``.
    :param master_only: Apollo answers 403 unless the key is a master key.
    :param creates: the call creates records (faults aimed at creates fire here).
    """

    method: str
    path: str
    master_only: bool = False
    creates: bool = False
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(self.path)) + "$"
        object.__setattr__(self, "_pattern", re.compile(regex))

    @property
    def key(self) -> str:
        """``"POST /contacts/search"``: the name the limiter and the fault injector use."""
        return f"{self.method} {self.path}"

    @property
    def group(self) -> str:
        """The rate-limit group (``enrichment``, ``bulk_enrichment``, ``search``, ``other``)."""
        return endpoint_group(self.path)

    @property
    def is_literal(self) -> bool:
        """The template has no ``{...}`` segment (it wins over a templated one)."""
        return "{" not in self.path

    def matches(self, method: str, api_path: str) -> bool:
        """Whether a request for ``method api_path`` is served by this endpoint.

        :param method: the request's HTTP method.
        :param api_path: the request path relative to the API prefix.
        """
        return method == self.method and self._pattern.match(api_path) is not None


def _get(path: str, **flags: bool) -> Endpoint:
    return Endpoint("GET", path, **flags)


def _post(path: str, **flags: bool) -> Endpoint:
    return Endpoint("POST", path, **flags)


# Master-key endpoints: Apollo's reference says on each page "This endpoint requires a master
# API key. If you attempt to call the endpoint without a master key, you will receive a 403
# response." The page is named beside each entry (docs.apollo.io/reference/<page>; the local
# copies in shared/apollo-docs/ predate the master-key notes and do not mention them).
ENDPOINTS: tuple[Endpoint, ...] = (
    _get("/auth/health"),
    # people-api-search: "This endpoint requires a master API key."
    _post("/mixed_people/api_search", master_only=True),
    _post("/mixed_people/search"),
    _post("/people/match"),
    _post("/people/bulk_match"),
    _get("/organizations/enrich"),
    _post("/organizations/bulk_enrich"),
    _post("/mixed_companies/search"),
    _get("/organizations/{id}/job_postings"),
    _post("/contacts", creates=True),
    _get("/contacts/{id}"),
    Endpoint("PATCH", "/contacts/{id}"),
    Endpoint("PUT", "/contacts/{id}"),
    _post("/contacts/search"),
    _post("/contacts/bulk_create", creates=True),
    _post("/contacts/bulk_update"),
    _post("/contacts/update_stages"),
    _post("/contacts/update_owners"),
    _get("/contact_stages"),
    _post("/accounts", creates=True),
    _get("/accounts/{id}"),
    Endpoint("PATCH", "/accounts/{id}"),
    Endpoint("PUT", "/accounts/{id}"),
    _post("/accounts/search"),
    _post("/accounts/bulk_create", creates=True),
    _post("/accounts/bulk_update"),
    _post("/accounts/update_owners"),
    _get("/account_stages"),
    # search-for-sequences: "This endpoint requires a master API key."
    _post("/emailer_campaigns/search", master_only=True),
    # add-contacts-to-sequence: "This endpoint requires a master API key."
    _post("/emailer_campaigns/{id}/add_contact_ids", master_only=True, creates=True),
    # update-contact-status-sequence: "This endpoint requires a master API key."
    _post("/emailer_campaigns/remove_or_stop_contact_ids", master_only=True),
    # create-a-task: "This endpoint requires a master API key."
    _post("/tasks", master_only=True, creates=True),
    # bulk-create-tasks: "This endpoint requires a master API key."
    _post("/tasks/bulk_create", master_only=True, creates=True),
    _post("/tasks/search"),
    _get("/tasks/search"),
    # create-deal, list-all-deals, view-deal, update-deal, list-deal-stages: each "requires a
    # master API key" (update-deal: "This endpoint also requires a master API key.").
    _post("/opportunities", master_only=True, creates=True),
    _get("/opportunities/search", master_only=True),
    _post("/opportunities/search", master_only=True),
    _get("/opportunities/{id}", master_only=True),
    Endpoint("PATCH", "/opportunities/{id}", master_only=True),
    _get("/opportunity_stages", master_only=True),
    # authentication: "Some endpoints, such as Get a List of Users, are only accessible with a
    # master key".
    _get("/users/search", master_only=True),
    # get-a-list-of-email-accounts: requires a master API key (403 without one).
    _get("/email_accounts", master_only=True),
    _get("/labels"),
    _get("/typed_custom_fields"),
    _get("/fields"),
    # view-api-usage-stats: "This endpoint requires a master API key. If you call the endpoint
    # without a master key, you receive a 403 response."
    _post("/usage_stats/api_usage_stats", master_only=True),
)


class Catalogue:
    """Looks a request up in a table of endpoints (literal templates before templated ones).

    :param endpoints: the endpoints served.
    """

    def __init__(self, endpoints: tuple[Endpoint, ...] = ENDPOINTS) -> None:
        keys = [endpoint.key for endpoint in endpoints]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"endpoints listed twice: {duplicates}")
        self.endpoints = endpoints

    @cached_property
    def _search_order(self) -> list[Endpoint]:
        # ``POST /contacts/search`` must not be read as ``/contacts/{id}``: literals first.
        return sorted(self.endpoints, key=lambda endpoint: not endpoint.is_literal)

    def match(self, method: str, api_path: str) -> Endpoint | None:
        """The endpoint serving ``method api_path``, or ``None`` (the app answers 404/405).

        :param method: the request's HTTP method.
        :param api_path: the request path relative to the API prefix, e.g. ``/contacts/abc``.
        """
        for endpoint in self._search_order:
            if endpoint.matches(method, api_path):
                return endpoint
        return None


CATALOGUE = Catalogue()
