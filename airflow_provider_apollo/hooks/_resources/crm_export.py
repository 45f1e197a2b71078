"""Reads for the CRM export: one page, pages fetched concurrently in order, a delete confirmed.

Once a read knows its total (from page 1), the pages it needs are known too, so up to the
connection's ``max_concurrency`` are in flight at once (each admitted by the quota tracker,
as bulk enrichment does); they are handed out in page order, at most ``max_concurrency``
ahead of the consumer, so memory stays bounded by a few pages whatever the total.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from airflow_provider_apollo._api.crm_objects import PAGE_SIZE, CrmObject
from airflow_provider_apollo.exceptions import ApolloNotFoundError, ApolloValidationError
from airflow_provider_apollo.hooks._answers import answer_object
from airflow_provider_apollo.hooks._transport.api_call import endpoint_path
from airflow_provider_apollo.hooks._transport.pagination import page_info, page_records
from airflow_provider_apollo.hooks._transport.sync_client import ApolloSyncClient


@dataclass(frozen=True)
class CrmPage:
    """One page of an object's read.

    :param number: the page (1-based).
    :param records: its records.
    :param total_entries: the query's total, as this page reported it.
    :param partial: Apollo flagged the answer ``partial_results_only`` (not a complete read).
    """

    number: int
    records: list[dict[str, Any]]
    total_entries: int | None
    partial: bool


class CrmExportReads(ApolloSyncClient):
    """The requests the CRM export sends (all 0 credits; each one call of quota)."""

    def crm_page(self, obj: CrmObject, filters: Mapping[str, Any], page: int) -> CrmPage:
        """Page ``page`` (100 records) of ``obj``'s read with ``filters`` (sort and split filters).

        :param obj: the object.
        :param filters: members sent besides ``page``/``per_page``.
        :param page: 1-based page number.
        """
        sent = {**filters, "page": page, "per_page": PAGE_SIZE}
        where = f"page {page} of {obj.method} {obj.path}"
        if obj.method == "GET":
            answer = self.request("GET", obj.path, params=sent)
        else:
            answer = self.request("POST", obj.path, json=sent)
        body = answer_object(answer, where)
        records = page_records(body, [obj.records_key], where=where, endpoint=obj.path)
        return CrmPage(page, records, page_info(body).total_entries, body.get("partial_results_only") is True)

    def crm_list(self, obj: CrmObject) -> list[dict[str, Any]]:
        """Every record of an unpaged lookup (``GET /contact_stages``...)."""
        answer = self.request("GET", obj.path)
        if isinstance(answer, list):  # some lookups (labels) answer a bare array
            return page_records({obj.records_key: answer}, [obj.records_key], where=f"GET {obj.path}")
        return page_records(answer, [obj.records_key], where=f"GET {obj.path}", endpoint=obj.path)

    def iter_crm_pages(
        self, obj: CrmObject, filters: Mapping[str, Any], *, first: int, last: int
    ) -> Iterator[CrmPage]:
        """Pages ``first..last`` of a read whose total is known, fetched concurrently, yielded in order.

        A failed page raises when its turn comes, after every earlier page was yielded, so the
        caller has written (and may save progress for) everything before it.
        """
        if last < first:
            return
        width = max(1, self.config.max_concurrency)
        with ThreadPoolExecutor(max_workers=width) as pool:
            pending: dict[int, Future[CrmPage]] = {}
            next_page = first
            try:
                for page in range(first, last + 1):
                    while next_page <= last and next_page < page + width:
                        pending[next_page] = pool.submit(self.crm_page, obj, filters, next_page)
                        next_page += 1
                    yield pending.pop(page).result()
            finally:
                for future in pending.values():
                    future.cancel()

    def crm_record_or_none(self, obj: CrmObject, record_id: str) -> dict[str, Any] | None:
        """``GET {obj.record_path}``: the record, or ``None`` when Apollo says it is deleted or gone.

        Apollo answers a deleted contact with 422 "This contact has been deleted." (its OpenAPI
        example); 404 is read the same way. Any other failure raises: a record is never
        taken for deleted because of an error.
        """
        assert obj.record_path is not None, f"{obj.name} has no record endpoint"
        path = endpoint_path(obj.record_path, id=record_id)
        try:
            answer = answer_object(self.request("GET", path), f"GET {path}")
        except ApolloNotFoundError:
            return None
        except ApolloValidationError as error:
            if error.status_code == 422 and "deleted" in str(error).lower():
                return None
            raise
        # ``{"contact": {...}, "labels": [...]}``: the member that is this record.
        for value in answer.values():
            if isinstance(value, dict) and value.get("id") == record_id:
                return value
        return answer
