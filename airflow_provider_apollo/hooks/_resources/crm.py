"""The CRM records Apollo stores for a team (contacts, accounts, deals), read and written one way.

Their endpoints have the same shape (``POST /{plural}``, ``GET/PATCH /{plural}/{id}``,
``POST /{plural}/search``, ``bulk_create``, ``bulk_update``, ``update_owners``,
``GET /{singular}_stages``), so each is a row of a table and the requests are written once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_apollo._api import record_matching
from airflow_provider_apollo._api.batching import chunked
from airflow_provider_apollo._api.filters import prepare_filters
from airflow_provider_apollo._api.limits import MAX_BULK_RECORDS
from airflow_provider_apollo.exceptions import ApolloResponseError, ApolloUnreadableWriteError
from airflow_provider_apollo.hooks._answers import answer_list, answer_member, answer_object
from airflow_provider_apollo.hooks._arguments import require_id, require_ids, require_page, require_record
from airflow_provider_apollo.hooks._transport.api_call import endpoint_path
from airflow_provider_apollo.hooks._transport.pagination import (
    PagedQuery,
    page_records,
    validate_max_records,
    validate_per_page,
)
from airflow_provider_apollo.hooks._transport.sync_client import ApolloSyncClient

CRM_BULK_CHUNK = MAX_BULK_RECORDS  # contacts/accounts bulk_create and bulk_update


@dataclass(frozen=True)
class CrmResource:
    """One kind of CRM record.

    :param plural: the path segment and answer key of lists (``contacts``).
    :param singular: the answer key of one record (``contact``).
    :param search: the filter catalogue name of its search (``contact search``).
    :param search_method: ``POST`` (filters in the body) or ``GET`` (deals).
    :param deduplicates: creation takes ``run_dedupe`` (so a resend cannot duplicate).
    :param identity: how an answered record is told to belong to what was sent (bulk creates).
    """

    plural: str
    singular: str
    search: str
    search_method: str = "POST"
    deduplicates: bool = True
    identity: record_matching.IdentityScheme | None = None

    @property
    def record_path(self) -> str:
        """The path template of one record."""
        return f"{self.plural}/{{{self.singular}_id}}"


CONTACTS = CrmResource("contacts", "contact", "contact search", identity=record_matching.CONTACTS)
ACCOUNTS = CrmResource("accounts", "account", "account search", identity=record_matching.ACCOUNTS)
OPPORTUNITIES = CrmResource("opportunities", "opportunity", "opportunity search", "GET", deduplicates=False)
TASKS = CrmResource("tasks", "task", "task search", deduplicates=False)


class CrmRecords(ApolloSyncClient):
    """The requests of the CRM table, for the resource modules to name."""

    def _create_record(
        self, kind: CrmResource, record: Mapping[str, Any], *, run_dedupe: bool
    ) -> dict[str, Any]:
        body = require_record(record, kind.singular)
        if kind.deduplicates:
            body["run_dedupe"] = bool(run_dedupe)
        answer = self.request("POST", kind.plural, json=body, retry_safe=kind.deduplicates and run_dedupe)
        return answer_member(answer, kind.singular, f"POST {kind.plural}")

    def _get_record(self, kind: CrmResource, record_id: str) -> dict[str, Any]:
        path = endpoint_path(kind.record_path, **{f"{kind.singular}_id": record_id})
        return answer_member(self.request("GET", path), kind.singular, f"GET {path}")

    def _update_record(self, kind: CrmResource, record_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        path = endpoint_path(kind.record_path, **{f"{kind.singular}_id": record_id})
        body = require_record(fields, "fields")
        return answer_member(self.request("PATCH", path, json=body), kind.singular, f"PATCH {path}")

    def _bulk_create(
        self,
        kind: CrmResource,
        records: list[dict[str, Any]],
        *,
        run_dedupe: bool,
        resend_blindly: bool = True,
    ) -> list[dict[str, Any]]:
        """Create in chunks of 100; ``resend_blindly=False`` raises ``ApolloAmbiguousWriteError``
        instead of resending a chunk whose answer was lost (the caller looks first)."""
        assert kind.identity is not None, f"{kind.plural} cannot be bulk-created"
        path = f"{kind.plural}/bulk_create"
        results: list[dict[str, Any]] = []
        batches = math.ceil(len(records) / CRM_BULK_CHUNK)
        for number, chunk in enumerate(chunked(records, CRM_BULK_CHUNK), start=1):
            body = {kind.plural: list(chunk), "run_dedupe": bool(run_dedupe)}
            answer = answer_object(
                self.request("POST", path, json=body, retry_safe=run_dedupe and resend_blindly),
                f"POST {path}",
            )
            answered = _created_records(answer, kind, f"batch {number}/{batches} of POST {path}")
            ordered, unplaced = record_matching.order_like_inputs(chunk, answered, kind.identity)
            if unplaced:
                self.log.warning(
                    "%s: batch %d/%d — %d record(s) could not be matched to what was sent with "
                    "certainty (Apollo may have dropped an invalid email); they are listed last.",
                    path,
                    number,
                    batches,
                    unplaced,
                )
            self.log.info(
                "%s: batch %d/%d — %d created, %d already existed — %s",
                path,
                number,
                batches,
                len(answer.get(f"created_{kind.plural}") or []),
                len(answer.get(f"existing_{kind.plural}") or []),
                self._quota_text(path),
            )
            results.extend(ordered)
        return results

    def _bulk_update(self, kind: CrmResource, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        path = f"{kind.plural}/bulk_update"
        updated: list[dict[str, Any]] = []
        for chunk in chunked(records, CRM_BULK_CHUNK):
            answer = answer_object(
                self.request("POST", path, json={f"{kind.singular}_attributes": list(chunk)}), f"POST {path}"
            )
            # An answer without the updated records is an error, not "nothing was updated".
            updated.extend(page_records(answer, [kind.plural], where=f"POST {path}", endpoint=path))
        return updated

    def _search_page(
        self, kind: CrmResource, filters: Mapping[str, Any], page: int, per_page: int
    ) -> dict[str, Any]:
        path = f"{kind.plural}/search"
        body = prepare_filters(kind.search, filters)
        page, per_page = require_page(page), validate_per_page(per_page)
        answer = self.request("POST", path, json={**body, "page": page, "per_page": per_page})
        return answer_object(answer, f"POST {path}")

    def _search_all(
        self, kind: CrmResource, filters: Mapping[str, Any], max_records: int | None, per_page: int
    ) -> Iterator[dict[str, Any]]:
        query = PagedQuery(
            kind.search_method,
            f"{kind.plural}/search",
            records_keys=(kind.plural,),
            what=kind.plural,
            filters=prepare_filters(kind.search, filters) if kind.search_method == "POST" else None,
            per_page=validate_per_page(per_page),
            max_records=validate_max_records(max_records),
        )
        yield from self._iter_pages(query)

    def _list_stages(self, kind: CrmResource) -> list[dict[str, Any]]:
        path = f"{kind.singular}_stages"
        return answer_list(self.request("GET", path), path, f"GET {path}")

    def _update_owners(self, kind: CrmResource, record_ids: Sequence[str], owner_id: str) -> dict[str, Any]:
        path = f"{kind.plural}/update_owners"
        body = {
            f"{kind.singular}_ids": require_ids(record_ids, f"{kind.singular}_ids"),
            "owner_id": require_id(owner_id, "owner_id"),
        }
        return answer_object(self.request("POST", path, json=body), f"POST {path}")


def _created_records(answer: Mapping[str, Any], kind: CrmResource, where: str) -> list[dict[str, Any]]:
    """The created and existing records of a bulk create answer, or an ambiguous-write error.

    Apollo has most likely created the records even when its answer cannot be read, so the
    error is ``ApolloUnreadableWriteError``: look for what exists before creating again.
    """
    path = f"{kind.plural}/bulk_create"
    keys = [f"created_{kind.plural}", f"existing_{kind.plural}"]
    try:
        return page_records(answer, keys, where=where, endpoint=path)
    except ApolloResponseError as error:
        raise ApolloUnreadableWriteError(
            f"{error} The {kind.plural} sent may have been created: look for them before creating again "
            "(with run_dedupe, Apollo returns the existing ones instead of duplicating them).",
            endpoint=path,
        ) from None
