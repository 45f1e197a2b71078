"""Opportunities (deals): never deduplicated by Apollo, so creation is never blindly resent."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from airflow_provider_apollo._api.limits import MAX_PER_PAGE
from airflow_provider_apollo.hooks._resources.crm import OPPORTUNITIES, CrmRecords


class OpportunitiesAPI(CrmRecords):
    """Deals: create, read, update, list, stages."""

    def create_opportunity(self, opportunity: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /opportunities`` (not deduplicated by Apollo: not blindly retried).

        :param opportunity: deal fields (``name``, ``amount``, ``account_id``, ``opportunity_stage_id``...).
        """
        return self._create_record(OPPORTUNITIES, opportunity, run_dedupe=False)

    def get_opportunity(self, opportunity_id: str) -> dict[str, Any]:
        """``GET /opportunities/{id}``.

        :param opportunity_id: Apollo opportunity id.
        """
        return self._get_record(OPPORTUNITIES, opportunity_id)

    def update_opportunity(self, opportunity_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH /opportunities/{id}``.

        :param opportunity_id: Apollo opportunity id.
        :param fields: the fields to change (amount, stage, close date...).
        """
        return self._update_record(OPPORTUNITIES, opportunity_id, fields)

    def iter_opportunities(
        self, *, max_records: int | None = None, per_page: int = MAX_PER_PAGE
    ) -> Iterator[dict[str, Any]]:
        """``GET /opportunities/search``, every page.

        :param max_records: stop after this many opportunities.
        :param per_page: 1..100.
        """
        return self._search_all(OPPORTUNITIES, {}, max_records, per_page)

    def list_opportunity_stages(self) -> list[dict[str, Any]]:
        """``GET /opportunity_stages``."""
        return self._list_stages(OPPORTUNITIES)
