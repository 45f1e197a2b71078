"""Indexes over the CRM records that keep searches fast at 120,000 contacts.

``SortedViews`` keeps each sort order until a record of its kind changes, so paging a large
CRM sorts it once, not once per page. ``EmailIndex`` finds a contact by email without a walk
(``run_dedupe`` on a bulk create of 100 would otherwise scan every contact 100 times).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from airflow_provider_apollo.sandbox.world import Record


def _order_key(field: str) -> Any:
    # Nones first ascending (last descending); the id breaks ties so that pages never overlap
    # or skip records that share a value (Apollo's own tie order is not documented).
    def key(record: Record) -> tuple[bool, Any, str]:
        value = record.get(field)
        return (value is not None, "" if value is None else value, record["id"])

    return key


class SortedViews:
    """Sorted lists of a kind's records, recomputed only after ``bump(kind)``."""

    def __init__(self) -> None:
        self.versions: Counter[str] = Counter()
        self._cache: dict[tuple[str, str, bool], tuple[int, list[Record]]] = {}

    def bump(self, kind: str) -> None:
        """Records of ``kind`` were added, removed, or changed a sortable field.

        :param kind: ``contacts``, ``accounts``, ``opportunities`` or ``tasks``.
        """
        self.versions[kind] += 1

    def clear(self) -> None:
        """Forget every order (the state was reset)."""
        self.versions.clear()
        self._cache.clear()

    def sorted(self, kind: str, records: dict[str, Record], field: str, *, ascending: bool) -> list[Record]:
        """``records`` sorted by ``field`` then id; the list is shared, do not change it.

        :param kind: the records' kind (the version that invalidates the order).
        :param records: the live records of the kind, by id.
        :param field: record key to sort by.
        :param ascending: smallest first.
        """
        version = self.versions[kind]
        cached = self._cache.get((kind, field, ascending))
        if cached is not None and cached[0] == version:
            return cached[1]
        ordered = sorted(records.values(), key=_order_key(field), reverse=not ascending)
        # Only the current version is worth keeping: drop the other direction if it is stale.
        for direction in (True, False):
            stale = self._cache.get((kind, field, direction))
            if stale is not None and stale[0] != version:
                del self._cache[(kind, field, direction)]
        self._cache[(kind, field, ascending)] = (version, ordered)
        return ordered


class EmailIndex:
    """Contact ids by lower-cased email, in creation order (the first is what dedupe returns)."""

    def __init__(self) -> None:
        self._ids: dict[str, list[str]] = {}

    @staticmethod
    def _norm(email: Any) -> str:
        return str(email or "").strip().lower()

    def add(self, contact_id: str, email: Any) -> None:
        """Index ``contact_id`` under ``email`` (no-op without an email).

        :param contact_id: contact id.
        :param email: its email.
        """
        if self._norm(email):
            self._ids.setdefault(self._norm(email), []).append(contact_id)

    def remove(self, contact_id: str, email: Any) -> None:
        """Forget ``contact_id`` under ``email``.

        :param contact_id: contact id.
        :param email: the email it was indexed under.
        """
        ids = self._ids.get(self._norm(email))
        if ids and contact_id in ids:
            ids.remove(contact_id)
            if not ids:
                del self._ids[self._norm(email)]

    def first(self, email: Any) -> str | None:
        """The oldest contact with ``email``, or ``None``.

        :param email: the email to look up (case-insensitive).
        """
        ids = self._ids.get(self._norm(email))
        return ids[0] if ids else None
