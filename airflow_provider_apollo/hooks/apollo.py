"""ApolloHook: the one place that talks to the Apollo.io REST API.

CONTRACT STUB. The public signatures below are the interface operators, sensors,
triggers, benchmarks and tests code against. Implementations replace the
``NotImplementedError`` bodies; signatures may only grow optional keyword arguments.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from airflow.sdk.bases.hook import BaseHook


class ApolloHook(BaseHook):
    """Interact with the Apollo.io API (https://api.apollo.io/api/v1).

    Authentication, timeouts, retries (tenacity), quota pacing from Apollo's rate-limit
    headers, pagination and bulk batching all happen here, so operators stay thin.

    :param apollo_conn_id: Airflow connection of type ``apollo``; the password is the API key.
    :param timeout: seconds per request; overrides the connection extra ``timeout`` (default 30).
    :param max_retries: retries for 429/5xx/connection errors; overrides extra ``max_retries`` (default 5).
    """

    conn_name_attr = "apollo_conn_id"
    default_conn_name = "apollo_default"
    conn_type = "apollo"
    hook_name = "Apollo"

    def __init__(
        self,
        apollo_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> None:
        super().__init__()
        self.apollo_conn_id = apollo_conn_id
        self._timeout_override = timeout
        self._max_retries_override = max_retries

    # ----------------------------------------------------------------- transport
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        creates: bool = False,
        idempotent: bool = True,
    ) -> Any:
        """Send one request to ``{base_url}/{path}`` and return the decoded JSON body.

        ``creates=True`` with ``idempotent=False`` marks a request that creates something
        Apollo never deduplicates (tasks): it is only retried when the server cannot have
        acted on it (429, connection refused); otherwise ``ApolloAmbiguousWriteError``.
        """
        raise NotImplementedError

    def test_connection(self) -> tuple[bool, str]:
        """``GET /auth/health``: ``(True, "...")`` when the key is accepted."""
        raise NotImplementedError

    @property
    def credits_spent(self) -> float:
        """Credits this hook instance has spent so far (from Apollo's answers)."""
        raise NotImplementedError

    @property
    def requests_sent(self) -> int:
        """HTTP requests this hook instance has sent so far, retries included."""
        raise NotImplementedError

    # -------------------------------------------------------------- people search
    def search_people(
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = 100, legacy: bool = False
    ) -> dict[str, Any]:
        """One page of ``POST /mixed_people/api_search`` (0 credits); ``legacy=True`` uses
        ``/mixed_people/search``. Unknown filter keys raise ``ApolloConfigurationError``."""
        raise NotImplementedError

    def iter_people(
        self,
        filters: Mapping[str, Any],
        *,
        max_records: int | None = None,
        per_page: int = 100,
        legacy: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Every matching person, page after page, up to ``max_records`` and the 50,000 cap."""
        raise NotImplementedError

    def search_organizations(
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = 100
    ) -> dict[str, Any]:
        """One page of ``POST /mixed_companies/search`` (1 credit per page)."""
        raise NotImplementedError

    def iter_organizations(
        self, filters: Mapping[str, Any], *, max_records: int | None = None, per_page: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every matching organization (``organizations`` then ``accounts`` of each page)."""
        raise NotImplementedError

    # ---------------------------------------------------------------- enrichment
    def enrich_person(
        self,
        details: Mapping[str, Any],
        *,
        reveal_personal_emails: bool = False,
        reveal_phone_number: bool = False,
        webhook_url: str | None = None,
    ) -> dict[str, Any] | None:
        """``POST /people/match``; ``None`` when Apollo found no one (its 200 stub)."""
        raise NotImplementedError

    def bulk_enrich_people(
        self,
        details: Sequence[Mapping[str, Any]],
        *,
        reveal_personal_emails: bool = False,
        reveal_phone_number: bool = False,
        webhook_url: str | None = None,
    ) -> list[dict[str, Any] | None]:
        """Any number of people via ``POST /people/bulk_match`` in chunks of 10.

        Returns one entry per input, same order: the matched person or ``None``.
        """
        raise NotImplementedError

    def enrich_organization(self, domain: str) -> dict[str, Any] | None:
        """``GET /organizations/enrich?domain=``; ``None`` when Apollo answers ``{}``."""
        raise NotImplementedError

    def bulk_enrich_organizations(self, domains: Sequence[str]) -> list[dict[str, Any] | None]:
        """Any number of domains via ``POST /organizations/bulk_enrich`` in chunks of 10, aligned."""
        raise NotImplementedError

    def iter_job_postings(
        self, organization_id: str, *, per_page: int = 100, max_records: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """``GET /organizations/{id}/job_postings``, every page (1 credit per page)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ contacts
    def create_contact(self, contact: Mapping[str, Any], *, run_dedupe: bool = True) -> dict[str, Any]:
        """``POST /contacts``; returns the contact record."""
        raise NotImplementedError

    def bulk_create_contacts(
        self, contacts: Sequence[Mapping[str, Any]], *, run_dedupe: bool = True
    ) -> list[dict[str, Any]]:
        """``POST /contacts/bulk_create`` in chunks of 100; created and existing records, input order."""
        raise NotImplementedError

    def get_contact(self, contact_id: str) -> dict[str, Any]:
        """``GET /contacts/{id}``."""
        raise NotImplementedError

    def update_contact(self, contact_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH /contacts/{id}``."""
        raise NotImplementedError

    def bulk_update_contacts(self, contacts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``POST /contacts/bulk_update`` (each entry carries its ``id``)."""
        raise NotImplementedError

    def search_contacts(
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = 100
    ) -> dict[str, Any]:
        """One page of ``POST /contacts/search``."""
        raise NotImplementedError

    def iter_contacts(
        self, filters: Mapping[str, Any], *, max_records: int | None = None, per_page: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every matching contact."""
        raise NotImplementedError

    def find_existing_contacts(self, people: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """The team's existing contact for each input person (or ``None``), aligned, 0 credits.

        Matches on email, then LinkedIn URL, then first + last name + organization name.
        Uses ``contacts/search``: one ``q_keywords`` query per person when there are few,
        or one walk over all the team's contacts when that takes fewer calls.
        """
        raise NotImplementedError

    def list_contact_stages(self) -> list[dict[str, Any]]:
        """``GET /contact_stages``."""
        raise NotImplementedError

    def update_contact_stages(self, contact_ids: Sequence[str], contact_stage_id: str) -> dict[str, Any]:
        """``POST /contacts/update_stages``."""
        raise NotImplementedError

    def update_contact_owners(self, contact_ids: Sequence[str], owner_id: str) -> dict[str, Any]:
        """``POST /contacts/update_owners``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ accounts
    def create_account(self, account: Mapping[str, Any], *, run_dedupe: bool = True) -> dict[str, Any]:
        """``POST /accounts``."""
        raise NotImplementedError

    def bulk_create_accounts(
        self, accounts: Sequence[Mapping[str, Any]], *, run_dedupe: bool = True
    ) -> list[dict[str, Any]]:
        """``POST /accounts/bulk_create`` in chunks of 100."""
        raise NotImplementedError

    def get_account(self, account_id: str) -> dict[str, Any]:
        """``GET /accounts/{id}``."""
        raise NotImplementedError

    def update_account(self, account_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH /accounts/{id}``."""
        raise NotImplementedError

    def bulk_update_accounts(self, accounts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``POST /accounts/bulk_update``."""
        raise NotImplementedError

    def search_accounts(
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = 100
    ) -> dict[str, Any]:
        """One page of ``POST /accounts/search``."""
        raise NotImplementedError

    def iter_accounts(
        self, filters: Mapping[str, Any], *, max_records: int | None = None, per_page: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every matching account."""
        raise NotImplementedError

    def list_account_stages(self) -> list[dict[str, Any]]:
        """``GET /account_stages``."""
        raise NotImplementedError

    def update_account_owners(self, account_ids: Sequence[str], owner_id: str) -> dict[str, Any]:
        """``POST /accounts/update_owners``."""
        raise NotImplementedError

    # ----------------------------------------------------------------- sequences
    def iter_sequences(self, *, q_name: str | None = None, per_page: int = 100) -> Iterator[dict[str, Any]]:
        """``POST /emailer_campaigns/search``, every page."""
        raise NotImplementedError

    def add_contacts_to_sequence(
        self,
        sequence_id: str,
        contact_ids: Sequence[str],
        *,
        email_account_id: str,
        sequence_no_email: bool = False,
        sequence_unverified_email: bool = False,
        sequence_job_change: bool = False,
        sequence_active_in_other_campaigns: bool = False,
        sequence_finished_in_other_campaigns: bool = False,
        sequence_same_company_in_same_campaign: bool = False,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        """``POST /emailer_campaigns/{id}/add_contact_ids`` (re-adding is a no-op, so retried)."""
        raise NotImplementedError

    def remove_contacts_from_sequences(
        self, sequence_ids: Sequence[str], contact_ids: Sequence[str], *, mode: str = "remove"
    ) -> dict[str, Any]:
        """``POST /emailer_campaigns/remove_or_stop_contact_ids``; mode remove|mark_as_finished|stop."""
        raise NotImplementedError

    # --------------------------------------------------------------------- tasks
    def create_task(self, task: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /tasks`` (never deduplicated by Apollo: not blindly retried)."""
        raise NotImplementedError

    def bulk_create_tasks(
        self,
        contact_ids: Sequence[str],
        *,
        type: str,
        priority: str,
        due_at: str,
        user_id: str | None = None,
        note: str | None = None,
        status: str = "scheduled",
    ) -> Any:
        """``POST /tasks/bulk_create`` (never deduplicated by Apollo: not blindly retried)."""
        raise NotImplementedError

    def search_tasks(self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = 100) -> dict[str, Any]:
        """One page of ``POST /tasks/search``."""
        raise NotImplementedError

    def iter_tasks(
        self, filters: Mapping[str, Any], *, max_records: int | None = None, per_page: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every matching task."""
        raise NotImplementedError

    # ------------------------------------------------------------- opportunities
    def create_opportunity(self, opportunity: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /opportunities``."""
        raise NotImplementedError

    def get_opportunity(self, opportunity_id: str) -> dict[str, Any]:
        """``GET /opportunities/{id}``."""
        raise NotImplementedError

    def update_opportunity(self, opportunity_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH /opportunities/{id}``."""
        raise NotImplementedError

    def iter_opportunities(
        self, *, max_records: int | None = None, per_page: int = 100
    ) -> Iterator[dict[str, Any]]:
        """``GET /opportunities/search``, every page."""
        raise NotImplementedError

    def list_opportunity_stages(self) -> list[dict[str, Any]]:
        """``GET /opportunity_stages``."""
        raise NotImplementedError

    # ---------------------------------------------------------------------- misc
    def list_users(self) -> list[dict[str, Any]]:
        """``GET /users/search``, every page (master key)."""
        raise NotImplementedError

    def list_email_accounts(self) -> list[dict[str, Any]]:
        """``GET /email_accounts``."""
        raise NotImplementedError

    def list_labels(self) -> list[dict[str, Any]]:
        """``GET /labels``."""
        raise NotImplementedError

    def list_custom_fields(self) -> list[dict[str, Any]]:
        """``GET /fields`` (falls back to the deprecated ``GET /typed_custom_fields``)."""
        raise NotImplementedError

    def get_api_usage_stats(self) -> dict[str, Any]:
        """``POST /usage_stats/api_usage_stats`` (master key)."""
        raise NotImplementedError
