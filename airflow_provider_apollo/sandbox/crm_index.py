"""Indexes over the CRM records that keep searches fast at 120,000 contacts.

``SortedViews`` keeps each sort order, and each filtered result, until a record of its kind
changes, so paging a large CRM sorts and filters it once per query, not once per page.
``EmailIndex`` finds a contact by email without a walk (``run_dedupe`` on a bulk create of 100
would otherwise scan every contact 100 times).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any

from airflow_provider_apollo.sandbox.world import Record


def _order_key(field: str, read: Callable[[Record], Any] | None) -> Any:
    # Nones first ascending (last descending); the id breaks ties so that pages never overlap
    # or skip records that share a value (Apollo's own tie order is not documented).
    def key(record: Record) -> tuple[bool, Any, str]:
        value = read(record) if read is not None else record.get(field)
        return (value is not None, "" if value is None else value, record["id"])

    return key


#: Filtered results kept per kind (an exporter splitting a query pages a few slices at a time).
_MAX_FILTERED = 16


class SortedViews:
    """Sorted and filtered lists of a kind's records, recomputed only after ``bump(kind)``."""

    def __init__(self) -> None:
        self.versions: Counter[str] = Counter()
        self._cache: dict[tuple[str, str, bool], tuple[int, list[Record]]] = {}
        self._filtered: dict[tuple[str, Hashable], tuple[int, list[Record]]] = {}

    def bump(self, kind: str) -> None:
        """Records of ``kind`` were added, removed, or changed a sortable field.

        :param kind: ``contacts``, ``accounts``, ``opportunities`` or ``tasks``.
        """
        self.versions[kind] += 1

    def clear(self) -> None:
        """Forget every order (the state was reset)."""
        self.versions.clear()
        self._cache.clear()
        self._filtered.clear()

    def filtered(self, kind: str, key: Hashable, compute: Callable[[], list[Record]]) -> list[Record]:
        """The result of ``compute()`` for the query ``key``, kept while no ``kind`` record changes.

        :param kind: the records' kind.
        :param key: everything the result depends on besides the records (filters, sort).
        :param compute: builds the result.
        """
        version = self.versions[kind]
        cached = self._filtered.get((kind, key))
        if cached is not None and cached[0] == version:
            return cached[1]
        result = compute()
        stale = [k for k, (v, _) in self._filtered.items() if k[0] == kind and v != version]
        for old in stale:
            del self._filtered[old]
        if len(self._filtered) >= _MAX_FILTERED:
            del self._filtered[next(iter(self._filtered))]
        self._filtered[(kind, key)] = (version, result)
        return result

    def sorted(
        self,
        kind: str,
        records: dict[str, Record],
        field: str,
        *,
        ascending: bool,
        value: Callable[[Record], Any] | None = None,
    ) -> list[Record]:
        """``records`` sorted by ``field`` then id; the list is shared, do not change it.

        :param kind: the records' kind (the version that invalidates the order).
        :param records: the live records of the kind, by id.
        :param field: record key to sort by.
        :param ascending: smallest first.
        :param value: reads the sort value of a record (default ``record[field]``).
        """
        version = self.versions[kind]
        cached = self._cache.get((kind, field, ascending))
        if cached is not None and cached[0] == version:
            return cached[1]
        ordered = sorted(records.values(), key=_order_key(field, value), reverse=not ascending)
        # Only the current version is worth keeping: drop the other direction if it is stale.
        for direction in (True, False):
            stale = self._cache.get((kind, field, direction))
            if stale is not None and stale[0] != version:
                del self._cache[(kind, field, direction)]
        self._cache[(kind, field, ascending)] = (version, ordered)
        return ordered


class EmailIndex:
    """Contact ids by lower-cased email, in creation order (the first is what dedupe returns).

    One string per email in the common case (no list per contact: 120,000 lists cost a second
    to build); later contacts with the same email queue in ``_more``.
    """

    def __init__(self) -> None:
        self._first: dict[str, str] = {}
        self._more: dict[str, list[str]] = {}

    @staticmethod
    def _norm(email: Any) -> str:
        return str(email or "").strip().lower()

    def add(self, contact_id: str, email: Any) -> None:
        """Index ``contact_id`` under ``email`` (no-op without an email).

        :param contact_id: contact id.
        :param email: its email.
        """
        key = self._norm(email)
        if not key:
            return
        if key in self._first:
            self._more.setdefault(key, []).append(contact_id)
        else:
            self._first[key] = contact_id

    def remove(self, contact_id: str, email: Any) -> None:
        """Forget ``contact_id`` under ``email``.

        :param contact_id: contact id.
        :param email: the email it was indexed under.
        """
        key = self._norm(email)
        queued = self._more.get(key, [])
        if self._first.get(key) == contact_id:
            if queued:
                self._first[key] = queued.pop(0)
            else:
                del self._first[key]
        elif contact_id in queued:
            queued.remove(contact_id)
        if key in self._more and not queued:
            del self._more[key]

    def first(self, email: Any) -> str | None:
        """The oldest contact with ``email``, or ``None``.

        :param email: the email to look up (case-insensitive).
        """
        return self._first.get(self._norm(email))
