"""What Apollo holds now for the rows of an upsert: names resolved to ids, records found by key.

All reads here cost 0 credits and one call of quota each. Two ways to find the records:

- **by key**: one call per row (``contacts/search`` with ``q_keywords`` = the email,
  ``accounts/search`` with ``q_organization_name`` = the domain, ``GET /{object}/{id}``);
- **a walk** of the team's records (100 per page, pages in flight concurrently), indexed by
  the match key, once per run.

Page 1 of the walk is read first (it tells the number of pages, ``T``). A chunk of ``n`` rows is
then looked up by key while the calls spent by key plus ``n`` stay under the ``T - 1`` pages the
walk still needs; from the first chunk where they would not, the rest of the team's records is
walked once and every later chunk costs no call. A custom-field match (the warehouse's own id)
can only be found by the walk (Apollo's searches do not filter on custom fields). A walk never
goes past Apollo's 50,000-record display cap: a team that large must match by email, domain or id.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from airflow_provider_apollo._api.crm_objects import PAGE_CAP, crm_object
from airflow_provider_apollo._api.crm_upsert import (
    CUSTOM_PREFIX,
    FieldMapping,
    Vocabulary,
    compact,
    record_match_values,
)
from airflow_provider_apollo.exceptions import ApolloConfigurationError

if TYPE_CHECKING:
    from airflow_provider_apollo.hooks.apollo import ApolloHook

#: Two records carry the same match key: the row cannot be told which to update.
AMBIGUOUS = "ambiguous"


def load_vocabulary(hook: ApolloHook, mapping: FieldMapping) -> Vocabulary:
    """Read the lookups ``mapping`` needs (only those: each is a call), once per run."""
    obj = mapping.obj
    targets = set(mapping.columns.values())
    vocabulary = Vocabulary()
    if "stage" in targets:
        stages = hook.list_contact_stages() if obj.name == "contacts" else hook.list_account_stages()
        vocabulary.stages = {str(s["name"]).strip().lower(): s["id"] for s in stages if s.get("name")}
    if "owner" in targets:
        vocabulary.owners = {str(u["email"]).lower(): u["id"] for u in hook.list_users() if u.get("email")}
    if "labels" in targets:
        vocabulary.labels = {
            str(label["name"]).strip().lower(): label["id"]
            for label in hook.list_labels()
            if label.get("name") and label.get("modality", obj.name) == obj.name
        }
    if mapping.custom_names:
        vocabulary.custom = {
            str(f["name"]).strip().lower(): (f["id"], str(f.get("type") or "string"))
            for f in hook.list_custom_fields()
            if f.get("name") and f.get("modality", obj.singular) == obj.singular
        }
        for name in mapping.custom_names:
            vocabulary.custom_field(name)  # an unknown name fails before any row is read
    return vocabulary


class CurrentRecords:
    """Finds the current record of each match key, choosing by key or a walk by their call counts.

    :param hook: the Apollo hook.
    :param mapping: the field map and match key.
    :param vocabulary: names resolved to ids.
    """

    def __init__(self, hook: ApolloHook, mapping: FieldMapping, vocabulary: Vocabulary) -> None:
        self.hook = hook
        self.mapping = mapping
        self.vocabulary = vocabulary
        self.source = crm_object(mapping.obj.name)
        self.filters = {"sort_by_field": self.source.stable_sort, "sort_ascending": True}
        self.keep = self._kept_fields()
        self.index: dict[str, dict[str, Any] | str] = {}
        self.total_pages: int | None = None
        self.walked = False
        self.calls = 0
        self.by_key_calls = 0

    def _kept_fields(self) -> list[str]:
        obj = self.mapping.obj
        return [*obj.fields, obj.stage_field, "owner_id", "label_ids", "typed_custom_fields"]

    @property
    def strategy(self) -> str:
        """How the records were found, for the log and the result."""
        if self.walked:
            return f"walk of {self.total_pages} page(s)"
        return "by key" if self.by_key_calls else "none needed"

    def _learn(self, records: Sequence[Mapping[str, Any]]) -> None:
        for record in records:
            key = record_match_values(self.mapping, record, self.vocabulary)
            if key is None:
                continue
            kept = compact(record, self.keep)
            before = self.index.get(key)
            if isinstance(before, dict) and before.get("id") != kept.get("id"):
                self.index[key] = AMBIGUOUS
            elif before is None:
                self.index[key] = kept

    def _first_page(self) -> None:
        page = self.hook.crm_page(self.source, self.filters, 1)
        self.calls += 1
        self.total_pages = max(1, math.ceil((page.total_entries or 0) / 100))
        self._learn(page.records)
        if self.total_pages == 1:
            self.walked = True

    def _walk(self) -> None:
        assert self.total_pages is not None
        if self.total_pages > PAGE_CAP:
            raise ApolloConfigurationError(
                f"The team has more than {PAGE_CAP * 100:,} {self.mapping.obj.name}, past what a walk of "
                f"{self.source.path} can read, and match_on={self.mapping.match_on!r} can only be found "
                "by a walk. Match on email, domain or id instead."
            )
        for page in self.hook.iter_crm_pages(self.source, self.filters, first=2, last=self.total_pages):
            self.calls += 1
            self._learn(page.records)
        self.walked = True

    def find(self, keys: Sequence[str]) -> dict[str, dict[str, Any] | str]:
        """``key -> record`` (compact) or :data:`AMBIGUOUS`, for the keys Apollo has; others absent.

        :param keys: normalised match keys (unique).
        """
        if not keys:
            return {}
        if self.total_pages is None:
            self._first_page()
        assert self.total_pages is not None
        if not self.walked:
            walk_left = self.total_pages - 1
            only_walk = self.mapping.match_target.startswith(CUSTOM_PREFIX)
            unknown = [k for k in keys if k not in self.index]
            if only_walk or self.by_key_calls + len(unknown) >= walk_left:
                self._walk()
            else:
                self._find_by_key(unknown)
        return {key: self.index[key] for key in keys if key in self.index}

    def _find_by_key(self, keys: Sequence[str]) -> None:
        reader = self._reader()
        width = max(1, self.hook.config.max_concurrency)
        with ThreadPoolExecutor(max_workers=width) as pool:
            for key, records in zip(keys, pool.map(reader, keys), strict=True):
                self.calls += 1
                self.by_key_calls += 1
                same = [r for r in records if record_match_values(self.mapping, r, self.vocabulary) == key]
                self._learn(same)

    def _reader(self) -> Callable[[str], list[dict[str, Any]]]:
        target = self.mapping.match_target
        hook = self.hook
        if target == "email":
            return lambda key: list(hook.search_contacts({"q_keywords": key}).get("contacts") or [])
        if target == "domain":
            return lambda key: list(hook.search_accounts({"q_organization_name": key}).get("accounts") or [])

        def by_id(key: str) -> list[dict[str, Any]]:
            record = hook.crm_record_or_none(self.source, key)
            return [record] if record is not None else []

        return by_id

    def remember(self, key: str, record: Mapping[str, Any]) -> None:
        """Record what a write answered (a later duplicate key in the run sees it)."""
        self.index[key] = compact(record, self.keep)
