"""The sandbox's mutable state, its core: the lock, the seeded CRM's collections, lookups, deletes.

``SandboxState`` (``state.py``) builds on this: contact and account writes live in
``state_crm.py``, sequences, tasks and deals in ``state.py``. One state per server, guarded by one
lock, so every client process of a server shares the same records, credits ledger and counters.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from airflow_provider_apollo.sandbox.crm_index import EmailIndex, SortedViews
from airflow_provider_apollo.sandbox.crm_seed import CrmSizes, seed_crm
from airflow_provider_apollo.sandbox.custom_fields import apply_custom_fields
from airflow_provider_apollo.sandbox.errors import ApolloApiError, invalid_id, unprocessable
from airflow_provider_apollo.sandbox.stats import TrafficStats
from airflow_provider_apollo.sandbox.world import (
    IdFactory,
    Record,
    World,
    generate_world,
    iso,
    make_job_posting,
)


def now_iso() -> str:
    """The sandbox clock (real UTC time) in Apollo's spelling."""
    return iso(datetime.now(timezone.utc))


class StateCore:
    """The collections and lookups every part of the state uses.

    Callers hold ``lock`` around multi-step operations.

    :param world_factory: builds the pristine world; called again on ``reset()``.
    :param crm_sizes: the seeded CRM's sizes; default an empty CRM (the owner, no records).
    """

    def __init__(
        self, world_factory: Callable[[], World] | None = None, crm_sizes: CrmSizes | None = None
    ) -> None:
        self._world_factory = world_factory or generate_world
        self.lock = threading.RLock()
        self.world: World = self._world_factory()
        #: Sizes the next ``reset()`` seeds (``POST /_sandbox/config`` changes them).
        self.crm_sizes = crm_sizes or CrmSizes()
        self.views = SortedViews()
        self._clear()

    def _clear(self) -> None:
        self.ids = IdFactory(self.world.seed, runtime=True)
        self.labels: list[Record] = [dict(label) for label in self.world.labels]
        crm = seed_crm(self.world, self.crm_sizes, self.ids, self.labels)
        #: Sizes of the CRM seeded now (``crm_sizes`` may have changed since).
        self.crm_seeded = self.crm_sizes
        self.users: list[Record] = crm.users
        self.contacts: dict[str, Record] = crm.contacts
        self.accounts: dict[str, Record] = crm.accounts
        self.tasks: dict[str, Record] = crm.tasks
        self.opportunities: dict[str, Record] = crm.opportunities
        #: Deleted records by kind (``contacts``, ``accounts``): gone from search, 422 on view.
        self.deleted: dict[str, dict[str, Record]] = {"contacts": {}, "accounts": {}}
        #: When accounts, deals and tasks last changed: their documented API shapes carry no
        #: ``updated_at`` (api-reference-legacy.txt, Search for accounts, sample answer).
        self.hidden_updated_at: dict[str, str] = crm.hidden_updated_at
        self.emails = EmailIndex()
        for contact in self.contacts.values():
            self.emails.add(contact["id"], contact["email"])
        self.views.clear()
        self.added_job_postings: dict[str, list[Record]] = {}
        self.traffic = TrafficStats()

    def reset(self) -> None:
        """Back to the freshly generated world and seeded CRM (at ``crm_sizes``), counters zeroed."""
        with self.lock:
            # The generated world is never mutated (posted jobs live in ``added_job_postings``),
            # so it is kept: regenerating 100k people would make reset slow.
            self._clear()

    # ------------------------------------------------------------------ lookups
    @property
    def user_ids(self) -> set[str]:
        """Ids of the team's users."""
        return {user["id"] for user in self.users}

    def touch(self, kind: str, record: Record) -> None:
        """Mark ``record`` (of ``kind``) changed now: its ``updated_at`` and the sort orders.

        :param kind: ``contacts``, ``accounts``, ``opportunities`` or ``tasks``.
        :param record: the changed record.
        """
        now = now_iso()
        if kind == "contacts":
            record["updated_at"] = now
        else:
            self.hidden_updated_at[record["id"]] = now
        self.views.bump(kind)

    def updated_at_of(self, kind: str, record: Record) -> str | None:
        """When ``record`` last changed (accounts, deals and tasks keep it out of their API shape).

        :param kind: the record's kind.
        :param record: the record.
        """
        if kind == "contacts":
            return record.get("updated_at")
        return self.hidden_updated_at.get(record["id"]) or record.get("created_at")

    def _check_user(self, user_id: Any) -> str:
        if user_id is None:
            return str(self.world.user["id"])
        if user_id not in self.user_ids:
            raise invalid_id(user_id)
        return str(user_id)

    def _check_stage(self, stage_id: Any, stages: list[Record]) -> str:
        if stage_id not in {stage["id"] for stage in stages}:
            raise invalid_id(stage_id)
        return str(stage_id)

    def contact(self, contact_id: str) -> Record:
        """The contact ``contact_id``; 422 if unknown.

        :param contact_id: contact id.
        """
        found = self.contacts.get(contact_id)
        if found is None:
            if contact_id in self.deleted["contacts"]:
                # OpenAPI, View a Contact, 422 example: {"error": "This contact has been deleted."}
                raise ApolloApiError(422, {"error": "This contact has been deleted."})
            raise invalid_id(contact_id)
        return found

    def account(self, account_id: str) -> Record:
        """The account ``account_id``; 422 if unknown.

        :param account_id: account id.
        """
        found = self.accounts.get(account_id)
        if found is None:
            if account_id in self.deleted["accounts"]:
                # Assumed by analogy with contacts (no account example is documented).
                raise ApolloApiError(422, {"error": "This account has been deleted."})
            raise invalid_id(account_id)
        return found

    def check_fields(self, kind: str, fields: dict[str, Any]) -> None:
        """Raise the 422 that writing ``fields`` to a record of ``kind`` would raise, writing nothing.

        :param kind: ``contacts`` or ``accounts``.
        :param fields: the fields of a create or an update.
        """
        if fields.get("owner_id") is not None:
            self._check_user(fields["owner_id"])
        if kind == "contacts":
            if fields.get("contact_stage_id") is not None:
                self._check_stage(fields["contact_stage_id"], self.world.contact_stages)
            if fields.get("account_id"):
                self.account(str(fields["account_id"]))
        elif fields.get("account_stage_id") is not None:
            self._check_stage(fields["account_stage_id"], self.world.account_stages)
        apply_custom_fields({}, fields.get("typed_custom_fields"), self.world.custom_fields, kind[:-1])

    def delete(self, kind: str, record_id: str) -> Record:
        """Delete a contact or account, as a rep does in Apollo's app (the API has no DELETE).

        :param kind: ``contacts`` or ``accounts``.
        :param record_id: the record's id.
        """
        with self.lock:
            records: dict[str, Record] = self.contacts if kind == "contacts" else self.accounts
            record = records.pop(record_id, None)
            if record is None:
                raise invalid_id(record_id)
            if kind == "contacts":
                self.emails.remove(record_id, record["email"])
            self.deleted[kind][record_id] = record
            self.views.bump(kind)
            return record

    def sequence(self, sequence_id: str) -> Record:
        """The sequence ``sequence_id``; 422 if unknown.

        :param sequence_id: sequence (emailer campaign) id.
        """
        for sequence in self.world.sequences:
            if sequence["id"] == sequence_id:
                return sequence
        raise invalid_id(sequence_id)

    def labels_named(self, names: Iterable[Any], modality: str) -> list[str]:
        """Ids of the labels called ``names``, creating the missing ones (as Apollo does).

        :param names: label names.
        :param modality: ``contacts`` or ``accounts``.
        """
        ids = []
        for name in names:
            label = next(
                (lb for lb in self.labels if lb["name"] == name and lb["modality"] == modality), None
            )
            if label is None:
                label_id = self.ids.new("label")
                now = now_iso()
                label = {
                    "_id": label_id,
                    "id": label_id,
                    "key": label_id,
                    "name": str(name),
                    "modality": modality,
                    "cached_count": 0,
                    "team_id": self.world.team_id,
                    "user_id": self.world.user["id"],
                    "created_at": now,
                    "updated_at": now,
                }
                self.labels.append(label)
            label["cached_count"] += 1
            ids.append(label["id"])
        return ids

    def job_postings(self, organization_id: str) -> list[Record]:
        """Every posting of an organization, newest first; 422 for an unknown organization.

        :param organization_id: world organization id (not an account id).
        """
        if organization_id not in self.world.organizations_by_id:
            raise invalid_id(organization_id)
        postings = self.world.job_postings.get(organization_id, []) + self.added_job_postings.get(
            organization_id, []
        )
        return sorted(postings, key=lambda posting: posting["posted_at"], reverse=True)

    def add_job_postings(self, organization_id: str, postings: Sequence[dict[str, Any]]) -> list[Record]:
        """Publish new postings at an organization (control plane: a sensor's trigger event).

        :param organization_id: world organization id.
        :param postings: ``{"title": ..., "posted_at": iso}`` dicts; ``posted_at`` defaults to now.
        """
        org = self.world.organizations_by_id.get(organization_id)
        if org is None:
            raise invalid_id(organization_id)
        now = datetime.now(timezone.utc)
        with self.lock:
            created = []
            for item in postings:
                if not isinstance(item, dict) or not item.get("title"):
                    raise unprocessable("each job posting needs a 'title'")
                posted = item.get("posted_at")
                try:
                    posted_at = datetime.fromisoformat(str(posted).replace("Z", "+00:00")) if posted else now
                except ValueError:
                    raise unprocessable(f"posted_at must be an ISO 8601 timestamp; got {posted!r}") from None
                if posted_at.tzinfo is None:
                    posted_at = posted_at.replace(tzinfo=timezone.utc)
                created.append(make_job_posting(self.ids, org, str(item["title"]), posted_at, now))
            self.added_job_postings.setdefault(organization_id, []).extend(created)
        return created

    def _ordered(
        self, kind: str, records: dict[str, Record], filters: dict[str, Any], prefix: str
    ) -> list[Record]:
        """Every live record of ``kind`` in the order ``sort_by_field``/``sort_ascending`` ask."""
        field_name = str(filters.get("sort_by_field") or "")
        if not field_name:
            return list(records.values())
        ascending = filters.get("sort_ascending") in (True, "true", "True", 1, "1")
        field = field_name.removeprefix(prefix)
        if field != "updated_at" or kind == "contacts":
            return self.views.sorted(kind, records, field, ascending=ascending)

        # account_updated_at (OpenAPI) sorts by the change time kept aside from the record.
        def changed_at(record: Record) -> str | None:
            return self.updated_at_of(kind, record)

        return self.views.sorted(kind, records, field, ascending=ascending, value=changed_at)
