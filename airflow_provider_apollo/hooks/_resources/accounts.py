"""Accounts: the team's saved companies (0 credits)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from airflow_provider_apollo._api.limits import MAX_PER_PAGE
from airflow_provider_apollo.hooks._arguments import require_records
from airflow_provider_apollo.hooks._resources.crm import ACCOUNTS, CrmRecords


class AccountsAPI(CrmRecords):
    """Accounts: create (deduplicated), read, update, search, stages, owners."""

    def create_account(self, account: Mapping[str, Any], *, run_dedupe: bool = True) -> dict[str, Any]:
        """``POST /accounts``.

        :param account: account fields (``name``, ``domain``...).
        :param run_dedupe: return the existing account instead of creating a duplicate.
        """
        return self._create_record(ACCOUNTS, account, run_dedupe=run_dedupe)

    def bulk_create_accounts(
        self, accounts: Sequence[Mapping[str, Any]], *, run_dedupe: bool = True
    ) -> list[dict[str, Any]]:
        """``POST /accounts/bulk_create`` in chunks of 100 (records in input order, by domain or name).

        :param accounts: account fields, one mapping per account.
        :param run_dedupe: return existing accounts instead of creating duplicates.
        """
        records = require_records(accounts, "accounts")
        return self._bulk_create(ACCOUNTS, records, run_dedupe=run_dedupe)

    def get_account(self, account_id: str) -> dict[str, Any]:
        """``GET /accounts/{id}``.

        :param account_id: Apollo account id.
        """
        return self._get_record(ACCOUNTS, account_id)

    def update_account(self, account_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH /accounts/{id}``: change the fields named, leave the others.

        :param account_id: Apollo account id.
        :param fields: the fields to change.
        """
        return self._update_record(ACCOUNTS, account_id, fields)

    def bulk_update_accounts(self, accounts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``POST /accounts/bulk_update`` (each entry carries its ``id``), in chunks of 100.

        :param accounts: one mapping per account: ``id`` plus the fields to change.
        """
        return self._bulk_update(ACCOUNTS, require_records(accounts, "accounts", require_id=True))

    def search_accounts(
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = MAX_PER_PAGE
    ) -> dict[str, Any]:
        """One page of ``POST /accounts/search``.

        :param filters: account search filters (``q_organization_name``, ``account_stage_ids``...).
        :param page: 1-based page number.
        :param per_page: 1..100.
        """
        return self._search_page(ACCOUNTS, filters, page, per_page)

    def iter_accounts(
        self, filters: Mapping[str, Any], *, max_records: int | None = None, per_page: int = MAX_PER_PAGE
    ) -> Iterator[dict[str, Any]]:
        """Every matching account.

        :param filters: account search filters.
        :param max_records: stop after this many accounts.
        :param per_page: 1..100.
        """
        return self._search_all(ACCOUNTS, filters, max_records, per_page)

    def list_account_stages(self) -> list[dict[str, Any]]:
        """``GET /account_stages``."""
        return self._list_stages(ACCOUNTS)

    def update_account_owners(self, account_ids: Sequence[str], owner_id: str) -> dict[str, Any]:
        """``POST /accounts/update_owners``.

        :param account_ids: accounts to reassign.
        :param owner_id: the Apollo user who will own them.
        """
        return self._update_owners(ACCOUNTS, account_ids, owner_id)
