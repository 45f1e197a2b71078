"""Contacts: the team's saved people (0 credits), and finding which people already are contacts."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from airflow_provider_apollo._api.batching import chunked
from airflow_provider_apollo._api.identity import contact_lookup_keys
from airflow_provider_apollo._api.record_matching import CONTACTS as CONTACT_SCHEME
from airflow_provider_apollo._api.record_matching import order_like_inputs
from airflow_provider_apollo.hooks._answers import answer_object
from airflow_provider_apollo.hooks._arguments import require_id, require_ids, require_records
from airflow_provider_apollo.hooks._resources._converging import create_attempts, create_converging
from airflow_provider_apollo.hooks._resources.crm import CONTACTS, CRM_BULK_CHUNK, CrmRecords
from airflow_provider_apollo.hooks._transport.pagination import MAX_PER_PAGE, page_info, page_records


def _keyword_for(person: Mapping[str, Any]) -> str | None:
    """What to put in ``q_keywords`` to find ``person`` among contacts (email, else full name)."""
    email = person.get("email")
    if isinstance(email, str) and email.strip():
        return email.strip()
    first, last = person.get("first_name"), person.get("last_name")
    if isinstance(first, str) and isinstance(last, str) and first.strip() and last.strip():
        return f"{first.strip()} {last.strip()}"
    return None


def _page_count(pages: int) -> str:
    return f"{pages} page{'s' if pages != 1 else ''}"


class ContactsAPI(CrmRecords):
    """Contacts: create (deduplicated), read, update, search, stages, owners."""

    def create_contact(self, contact: Mapping[str, Any], *, run_dedupe: bool = True) -> dict[str, Any]:
        """``POST /contacts``; returns the contact record.

        :param contact: contact fields (``first_name``, ``email``, ``organization_name``...).
        :param run_dedupe: return the existing contact instead of creating a duplicate (also
            makes the request safe to retry).
        """
        return self._create_record(CONTACTS, contact, run_dedupe=run_dedupe)

    def bulk_create_contacts(
        self, contacts: Sequence[Mapping[str, Any]], *, run_dedupe: bool = True
    ) -> list[dict[str, Any]]:
        """``POST /contacts/bulk_create`` in chunks of 100; created and existing records, input order.

        Records are ordered like the inputs they answer, matched by identity (person id,
        email, LinkedIn URL, name + company; see ``record_matching.py``), never by position;
        records no input claims with certainty come last, with a warning.

        With ``run_dedupe`` a chunk whose answer is lost (timeout, dropped connection, 5xx,
        unreadable body) is not resent blindly: the team's contacts are looked up first and
        only the contacts still missing are sent again, so the task converges in the same try
        even when every answer is lost after the create landed.

        :param contacts: contact fields, one mapping per contact.
        :param run_dedupe: return existing contacts instead of creating duplicates.
        """
        records = require_records(contacts, "contacts")
        if not run_dedupe:
            return self._bulk_create(CONTACTS, records, run_dedupe=False)
        results: list[dict[str, Any]] = []
        for chunk in chunked(records, CRM_BULK_CHUNK):
            results.extend(self._create_converging(list(chunk)))
        return results

    def _create_converging(self, chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One chunk, created once whatever answers are lost (see :meth:`bulk_create_contacts`)."""
        found: list[dict[str, Any]] = []
        created: list[dict[str, Any]] = []

        def create(missing: list[dict[str, Any]]) -> None:
            created.extend(self._bulk_create(CONTACTS, missing, run_dedupe=True, resend_blindly=False))

        def still_missing(missing: list[dict[str, Any]]) -> list[dict[str, Any]]:
            existing = self.find_existing_contacts(missing)
            found.extend(contact for contact in existing if contact is not None)
            return [record for record, contact in zip(missing, existing, strict=True) if contact is None]

        create_converging(
            chunk,
            create=create,
            still_missing=still_missing,
            attempts=create_attempts(None, self.config.max_retries),
            what=f"{len(chunk)} contact(s) (contacts/bulk_create)",
            log=self.log,
        )
        ordered, _ = order_like_inputs(chunk, found + created, CONTACT_SCHEME)
        return ordered

    def get_contact(self, contact_id: str) -> dict[str, Any]:
        """``GET /contacts/{id}``: one contact with its emails, phones, stage and owner.

        :param contact_id: Apollo contact id.
        """
        return self._get_record(CONTACTS, contact_id)

    def update_contact(self, contact_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH /contacts/{id}``.

        :param contact_id: Apollo contact id.
        :param fields: the fields to change.
        """
        return self._update_record(CONTACTS, contact_id, fields)

    def bulk_update_contacts(self, contacts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``POST /contacts/bulk_update`` (each entry carries its ``id``), in chunks of 100.

        Apollo processes more than 100 contacts asynchronously; chunks of 100 keep the
        answer synchronous, so the updated records come back.

        :param contacts: one mapping per contact: ``id`` plus the fields to change.
        """
        return self._bulk_update(CONTACTS, require_records(contacts, "contacts", require_id=True))

    def search_contacts(
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = MAX_PER_PAGE
    ) -> dict[str, Any]:
        """One page of ``POST /contacts/search``.

        :param filters: contact search filters (``q_keywords``, ``contact_stage_ids``...).
        :param page: 1-based page number.
        :param per_page: 1..100.
        """
        return self._search_page(CONTACTS, filters, page, per_page)

    def iter_contacts(
        self, filters: Mapping[str, Any], *, max_records: int | None = None, per_page: int = MAX_PER_PAGE
    ) -> Iterator[dict[str, Any]]:
        """Every matching contact.

        :param filters: contact search filters.
        :param max_records: stop after this many contacts.
        :param per_page: 1..100.
        """
        return self._search_all(CONTACTS, filters, max_records, per_page)

    def list_contact_stages(self) -> list[dict[str, Any]]:
        """``GET /contact_stages``."""
        return self._list_stages(CONTACTS)

    def update_contact_stages(self, contact_ids: Sequence[str], contact_stage_id: str) -> dict[str, Any]:
        """``POST /contacts/update_stages``.

        :param contact_ids: contacts to move.
        :param contact_stage_id: the stage to move them to (see :meth:`list_contact_stages`).
        """
        body = {
            "contact_ids": require_ids(contact_ids, "contact_ids"),
            "contact_stage_id": require_id(contact_stage_id, "contact_stage_id"),
        }
        path = "contacts/update_stages"
        return answer_object(self.request("POST", path, json=body), f"POST {path}")

    def update_contact_owners(self, contact_ids: Sequence[str], owner_id: str) -> dict[str, Any]:
        """``POST /contacts/update_owners``.

        :param contact_ids: contacts to reassign.
        :param owner_id: the Apollo user who will own them.
        """
        return self._update_owners(CONTACTS, contact_ids, owner_id)

    def find_existing_contacts(self, people: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """The team's existing contact for each input person (or ``None``), aligned, 0 credits.

        Matches on Apollo's person id, then email, LinkedIn URL, first + last name +
        organization name. Uses ``contacts/search``: one ``q_keywords`` query per person when
        there are few, or one walk over all the team's contacts when that takes fewer calls.
        People known only by id or LinkedIn URL (people API search answers neither email nor
        full name) can only be found by the walk (``q_keywords`` searches neither).

        :param people: people (search results, enrichment inputs or matches).
        """
        records = require_records(people, "people")
        wanted = [contact_lookup_keys(p) for p in records]
        results: list[dict[str, Any] | None] = [None] * len(records)
        if not any(wanted):
            return results
        index: dict[str, dict[str, Any]] = {}

        def learn(answer: Mapping[str, Any], what: str) -> list[int]:
            # A broken answer must fail: read as "nobody", enrichment would pay for existing contacts.
            where = f"{what} (POST contacts/search)"
            for contact in page_records(answer, ["contacts"], where=where, endpoint="contacts/search"):
                for key in contact_lookup_keys(contact):
                    index.setdefault(key, contact)
            for i, keys in enumerate(wanted):
                if results[i] is None:
                    results[i] = next((dict(index[k]) for k in keys if k in index), None)
            return [i for i, keys in enumerate(wanted) if keys and results[i] is None]

        first = self.search_contacts({}, page=1, per_page=MAX_PER_PAGE)
        unresolved = learn(first, "page 1 of the team's contacts")
        info = page_info(first)
        total_pages = info.total_pages or math.ceil((info.total_entries or 0) / MAX_PER_PAGE) or 1
        walk_calls = max(total_pages - 1, 0)
        keyword_calls = sum(1 for i in unresolved if _keyword_for(records[i]))
        # People known only by id or LinkedIn URL (search results) can only be found by the walk.
        only_walk_finds = any(_keyword_for(records[i]) is None for i in unresolved)
        if unresolved and (only_walk_finds or walk_calls <= keyword_calls):
            for page in range(2, total_pages + 1):
                answer = self.search_contacts({}, page=page, per_page=MAX_PER_PAGE)
                if not learn(answer, f"page {page} of the team's contacts"):
                    break
            strategy = f"walked {_page_count(total_pages)} of the team's contacts"
        else:
            for i in unresolved:
                keyword = _keyword_for(records[i])
                if keyword:
                    answer = self.search_contacts({"q_keywords": keyword}, per_page=MAX_PER_PAGE)
                    learn(answer, f"a search of the team's contacts for person {i}")
            strategy = f"searched {keyword_calls} people by keyword"
        found = sum(r is not None for r in results)
        self.log.info(
            "find_existing_contacts: %d of %d people are already contacts (%s) — %s",
            found,
            len(records),
            strategy,
            self._quota_text("contacts/search"),
        )
        return results
