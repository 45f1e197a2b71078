"""The team's CRM inside the sandbox: contacts, accounts, tasks, deals, sequence enrolments.

One ``SandboxState`` per server, guarded by one lock, so every client process of a server
shares the same records, the same credits ledger and the same counters.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from airflow_provider_apollo.sandbox.crm_index import EmailIndex, SortedViews
from airflow_provider_apollo.sandbox.crm_seed import CrmSizes, seed_crm
from airflow_provider_apollo.sandbox.custom_fields import apply_custom_fields
from airflow_provider_apollo.sandbox.email_rules import without_invalid_email
from airflow_provider_apollo.sandbox.errors import ApolloApiError, invalid_id, unprocessable
from airflow_provider_apollo.sandbox.prospecting import as_list, find_organization_by_domain
from airflow_provider_apollo.sandbox.stats import TrafficStats
from airflow_provider_apollo.sandbox.world import (
    IdFactory,
    Record,
    World,
    generate_world,
    iso,
    make_job_posting,
    normalise_linkedin,
)

TASK_TYPES = (
    "call",
    "outreach_manual_email",
    "linkedin_step_connect",
    "linkedin_step_message",
    "linkedin_step_view_profile",
    "linkedin_step_interact_post",
    "action_item",
)
TASK_PRIORITIES = ("high", "medium", "low")
SEQUENCE_REMOVAL_MODES = ("remove", "mark_as_finished", "stop")

_CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "organization_name",
    "email",
    "linkedin_url",
    "account_id",
    "owner_id",
    "contact_stage_id",
    "present_raw_address",
    "website_url",
    "typed_custom_fields",
)
_PHONE_FIELDS = {
    "direct_phone": "work_direct",
    "corporate_phone": "work_hq",
    "mobile_phone": "mobile",
    "home_phone": "home",
    "other_phone": "other",
}
_ACCOUNT_FIELDS = (
    "name",
    "domain",
    "phone",
    "raw_address",
    "owner_id",
    "account_stage_id",
    "typed_custom_fields",
)


def _now() -> str:
    return iso(datetime.now(timezone.utc))


class SandboxState:
    """All mutable sandbox data. Callers hold ``lock`` around multi-step operations.

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
        #: When deals and tasks last changed: their API shape carries no ``updated_at``.
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
        now = _now()
        if kind in ("contacts", "accounts"):
            record["updated_at"] = now
        else:
            self.hidden_updated_at[record["id"]] = now
        self.views.bump(kind)

    def updated_at_of(self, kind: str, record: Record) -> str | None:
        """When ``record`` last changed (deals and tasks keep it out of their API shape).

        :param kind: the record's kind.
        :param record: the record.
        """
        if kind in ("contacts", "accounts"):
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
                now = _now()
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

    # ----------------------------------------------------------------- contacts
    def find_duplicate_contact(self, fields: dict[str, Any]) -> tuple[Record | None, str | None]:
        """The existing contact ``run_dedupe`` would return, and why it matched.

        Same email (case-insensitive), or, without an email, same name at the same organization.

        :param fields: the contact being created.
        """
        email = str(fields.get("email") or "").strip().lower()
        if email:
            found = self.emails.first(email)
            return (self.contacts[found], "email_match") if found else (None, None)
        for contact in self.contacts.values():
            if (
                (contact["first_name"] or "").lower() == str(fields.get("first_name") or "").lower()
                and (contact["last_name"] or "").lower() == str(fields.get("last_name") or "").lower()
                and (contact["organization_name"] or "").lower()
                == str(fields.get("organization_name") or "").lower()
            ):
                return contact, "name_and_organization_match"
        return None, None

    def create_contact(self, fields: dict[str, Any], *, run_dedupe: bool) -> tuple[Record, str | None]:
        """Create a contact, or with ``run_dedupe`` return the existing one.

        Returns the contact and the dedupe match reason (``None`` when it was created).

        :param fields: request body fields (unknown ones are ignored).
        :param run_dedupe: look for an existing contact first.
        """
        # contacts-api.md, Create a Contact: "email | Email. Invalid emails will be ignored."
        # The contact is created as if no email had been sent (also for the dedupe lookup).
        fields = without_invalid_email(fields)
        with self.lock:
            if run_dedupe:
                existing, reason = self.find_duplicate_contact(fields)
                if existing is not None:
                    return existing, reason
            owner_id = self._check_user(fields.get("owner_id"))
            stage_id = fields.get("contact_stage_id") or self.world.contact_stages[0]["id"]
            self._check_stage(stage_id, self.world.contact_stages)
            if fields.get("account_id"):
                self.account(str(fields["account_id"]))
            now = _now()
            contact: Record = {
                "id": self.ids.new("contact"),
                "first_name": None,
                "last_name": None,
                "name": None,
                "title": None,
                "organization_name": None,
                "organization_id": None,
                "email": None,
                "email_status": None,
                "linkedin_url": None,
                "account_id": None,
                "owner_id": owner_id,
                "creator_id": self.world.user["id"],
                "contact_stage_id": stage_id,
                "person_id": None,
                "present_raw_address": None,
                "city": None,
                "state": None,
                "country": None,
                "source": "api",
                "original_source": "api",
                "label_ids": [],
                "typed_custom_fields": {},
                "phone_numbers": [],
                "sanitized_phone": None,
                "emailer_campaign_ids": [],
                "contact_campaign_statuses": [],
                "last_activity_date": None,
                "existence_level": "full",
                "created_at": now,
                "updated_at": now,
            }
            self._apply_contact_fields(contact, fields)
            self.contacts[contact["id"]] = contact
            self.views.bump("contacts")
            return contact, None

    def _apply_contact_fields(self, contact: Record, fields: dict[str, Any]) -> None:
        custom = apply_custom_fields(
            contact["typed_custom_fields"],
            fields.get("typed_custom_fields"),
            self.world.custom_fields,
            "contact",
        )
        old_email = contact["email"]
        for key in _CONTACT_FIELDS:
            if key in fields and key not in ("website_url", "typed_custom_fields"):
                contact[key] = fields[key]
        contact["typed_custom_fields"] = custom
        if "owner_id" in fields:
            contact["owner_id"] = self._check_user(fields["owner_id"])
        if "contact_stage_id" in fields:
            self._check_stage(fields["contact_stage_id"], self.world.contact_stages)
        if fields.get("account_id"):
            self.account(str(fields["account_id"]))
        contact["name"] = " ".join(p for p in (contact["first_name"], contact["last_name"]) if p) or None
        if contact["email"] is not None:
            contact["email"] = str(contact["email"]).strip() or None
        if contact["id"] in self.contacts and contact["email"] != old_email:
            self.emails.remove(contact["id"], old_email)
            self.emails.add(contact["id"], contact["email"])
        elif contact["id"] not in self.contacts:
            self.emails.add(contact["id"], contact["email"])
        if "email" in fields or contact["email_status"] is None:
            person = self.world.people_by_email.get((contact["email"] or "").lower())
            # Apollo verifies emails it knows; an address it has never seen stays unverified.
            if contact["email"] is None:
                contact["email_status"] = None
            else:
                contact["email_status"] = (person or {}).get("email_status") or "unverified"
            if person is None and contact["linkedin_url"]:
                person = self.world.people_by_linkedin.get(normalise_linkedin(contact["linkedin_url"]))
            if person is not None:
                contact["person_id"] = person["id"]
                for key in ("city", "state", "country"):
                    contact[key] = contact[key] or person[key]
        org = None
        if contact["email"] and "@" in contact["email"]:
            org = find_organization_by_domain(self.world, contact["email"].rsplit("@", 1)[1])
        if org is None and fields.get("website_url"):
            org = find_organization_by_domain(self.world, str(fields["website_url"]))
        if org is None and contact["organization_name"]:
            org = self.world.organizations_by_name.get(contact["organization_name"].lower())
        if org is not None:
            contact["organization_id"] = org["id"]
            contact["organization_name"] = contact["organization_name"] or org["name"]
        if fields.get("label_names"):
            new_ids = self.labels_named(as_list(fields["label_names"]), "contacts")
            contact["label_ids"] = list(dict.fromkeys([*contact["label_ids"], *new_ids]))
        if "label_ids" in fields:
            contact["label_ids"] = list(as_list(fields["label_ids"]))
        for key, kind in _PHONE_FIELDS.items():
            if fields.get(key):
                number = str(fields[key])
                contact["phone_numbers"] = [p for p in contact["phone_numbers"] if p["type"] != kind]
                contact["phone_numbers"].append(
                    {
                        "raw_number": number,
                        "sanitized_number": "".join(ch for ch in number if ch.isdigit() or ch == "+"),
                        "type": kind,
                        "position": len(contact["phone_numbers"]),
                        "status": "no_status",
                    }
                )
                contact["sanitized_phone"] = contact["phone_numbers"][0]["sanitized_number"]

    def update_contact(self, contact_id: str, fields: dict[str, Any]) -> Record:
        """Change fields of a contact (``PATCH /contacts/{id}``).

        :param contact_id: contact id.
        :param fields: fields to change.
        """
        with self.lock:
            contact = self.contact(contact_id)
            self._apply_contact_fields(contact, fields)
            self.touch("contacts", contact)
            return contact

    def search_contacts(self, filters: dict[str, Any]) -> list[Record]:
        """Contacts matching ``contacts/search`` filters, sorted as asked.

        :param filters: ``q_keywords``, ``contact_stage_ids``, ``contact_label_ids`` (Apollo's
            current name; ``label_ids`` is accepted too), ``sort_by_field``, ``sort_ascending``;
            unknown keys are ignored.
        """
        words = str(filters.get("q_keywords") or "").lower().split()
        stages = set(as_list(filters.get("contact_stage_ids")))
        labels = set(as_list(filters.get("contact_label_ids")) + as_list(filters.get("label_ids")))
        owners = set(as_list(filters.get("owner_ids")) + as_list(filters.get("owner_id")))
        ordered = self._ordered("contacts", self.contacts, filters, "contact_")
        if not (words or stages or labels or owners):
            return ordered  # the whole CRM, paged: no copy of 120,000 references per page
        found = []
        for contact in ordered:
            if owners and contact["owner_id"] not in owners:
                continue
            if stages and contact["contact_stage_id"] not in stages:
                continue
            if labels and not labels.intersection(contact["label_ids"]):
                continue
            if words:
                haystack = " ".join(
                    str(contact[key] or "") for key in ("name", "title", "organization_name", "email")
                ).lower()
                if not all(word in haystack for word in words):
                    continue
            found.append(contact)
        return found

    def _ordered(
        self, kind: str, records: dict[str, Record], filters: dict[str, Any], prefix: str
    ) -> list[Record]:
        """Every live record of ``kind`` in the order ``sort_by_field``/``sort_ascending`` ask."""
        field_name = str(filters.get("sort_by_field") or "")
        if not field_name:
            return list(records.values())
        ascending = filters.get("sort_ascending") in (True, "true", "True", 1, "1")
        return self.views.sorted(kind, records, field_name.removeprefix(prefix), ascending=ascending)

    # ----------------------------------------------------------------- accounts
    def create_account(self, fields: dict[str, Any], *, run_dedupe: bool) -> tuple[Record, bool]:
        """Create an account, or with ``run_dedupe`` return the one with the same domain (or name).

        Returns the account and whether it already existed.

        :param fields: request body fields.
        :param run_dedupe: look for an existing account first.
        """
        with self.lock:
            domain = str(fields.get("domain") or "").strip().lower()
            if run_dedupe:
                for existing in self.accounts.values():
                    same_domain = domain and (existing["domain"] or "").lower() == domain
                    same_name = (
                        not domain
                        and (existing["name"] or "").lower() == str(fields.get("name") or "").lower()
                    )
                    if same_domain or same_name:
                        return existing, True
            if not fields.get("name") and not domain:
                raise unprocessable("an account needs a 'name' or a 'domain'")
            now = _now()
            account: Record = {
                "id": self.ids.new("account"),
                "name": None,
                "domain": None,
                "team_id": self.world.team_id,
                "typed_custom_fields": {},
                "organization_id": None,
                "account_stage_id": self.world.account_stages[0]["id"],
                "source": "api",
                "original_source": "api",
                "owner_id": self.world.user["id"],
                "created_at": now,
                "updated_at": now,
                "phone": None,
                "phone_status": "no_status",
                "raw_address": None,
                "hubspot_id": None,
                "salesforce_id": None,
                "crm_owner_id": None,
                "parent_account_id": None,
                "account_playbook_statuses": [],
                "existence_level": "full",
                "label_ids": [],
                "modality": "account",
                "persona_counts": {},
                "last_activity_date": None,
            }
            self._apply_account_fields(account, fields)
            self.accounts[account["id"]] = account
            self.views.bump("accounts")
            return account, False

    def _apply_account_fields(self, account: Record, fields: dict[str, Any]) -> None:
        if "owner_id" in fields:
            self._check_user(fields["owner_id"])
        if "account_stage_id" in fields:
            self._check_stage(fields["account_stage_id"], self.world.account_stages)
        custom = apply_custom_fields(
            account["typed_custom_fields"],
            fields.get("typed_custom_fields"),
            self.world.custom_fields,
            "account",
        )
        for key in _ACCOUNT_FIELDS:
            if key in fields and key != "typed_custom_fields":
                account[key] = fields[key]
        account["typed_custom_fields"] = custom
        if "label_ids" in fields:
            account["label_ids"] = list(as_list(fields["label_ids"]))
        org = find_organization_by_domain(self.world, account["domain"]) if account["domain"] else None
        if org is not None:
            account["organization_id"] = org["id"]
            account["name"] = account["name"] or org["name"]
        if fields.get("label_names"):
            new_ids = self.labels_named(as_list(fields["label_names"]), "accounts")
            account["label_ids"] = list(dict.fromkeys([*account["label_ids"], *new_ids]))

    def update_account(self, account_id: str, fields: dict[str, Any]) -> Record:
        """Change fields of an account.

        :param account_id: account id.
        :param fields: fields to change.
        """
        with self.lock:
            account = self.account(account_id)
            self._apply_account_fields(account, fields)
            self.touch("accounts", account)
            return account

    def search_accounts(self, filters: dict[str, Any]) -> list[Record]:
        """Accounts matching ``accounts/search`` filters.

        :param filters: ``q_organization_name``, ``account_stage_ids``, ``account_label_ids``
            (Apollo's current name; ``label_ids`` is accepted too), sorting.
        """
        name = str(filters.get("q_organization_name") or filters.get("q_keywords") or "").lower()
        stages = set(as_list(filters.get("account_stage_ids")))
        labels = set(as_list(filters.get("account_label_ids")) + as_list(filters.get("label_ids")))
        owners = set(as_list(filters.get("owner_ids")) + as_list(filters.get("owner_id")))
        return [
            account
            for account in self._ordered("accounts", self.accounts, filters, "account_")
            if (not name or name in f"{account['name'] or ''} {account['domain'] or ''}".lower())
            and (not stages or account["account_stage_id"] in stages)
            and (not labels or labels.intersection(account["label_ids"]))
            and (not owners or account["owner_id"] in owners)
        ]

    # ---------------------------------------------------------------- sequences
    def add_to_sequence(
        self, sequence_id: str, contact_ids: Sequence[str], email_account_id: str, flags: dict[str, Any]
    ) -> tuple[list[Record], dict[str, str]]:
        """Enrol contacts, applying Apollo's skip rules; re-adding is a no-op.

        Returns the contacts now in the sequence (added or already there) and the skipped
        ones as ``{contact_id: reason}``.

        :param sequence_id: the sequence.
        :param contact_ids: contacts to enrol.
        :param email_account_id: the mailbox that will send.
        :param flags: ``sequence_no_email``, ``sequence_unverified_email``,
            ``sequence_active_in_other_campaigns``, ``sequence_finished_in_other_campaigns``.
        """
        with self.lock:
            self.sequence(sequence_id)
            if email_account_id not in {a["id"] for a in self.world.email_accounts}:
                raise invalid_id(email_account_id)
            contacts = [self.contact(str(contact_id)) for contact_id in contact_ids]
            enrolled: list[Record] = []
            skipped: dict[str, str] = {}
            user_id = self._check_user(flags.get("user_id"))
            for contact in contacts:
                statuses = contact["contact_campaign_statuses"]
                if any(s["emailer_campaign_id"] == sequence_id for s in statuses):
                    enrolled.append(contact)
                    continue
                reason = self._skip_reason(contact, sequence_id, flags)
                if reason:
                    skipped[contact["id"]] = reason
                    continue
                statuses.append(
                    {
                        "id": self.ids.new("campaign_status"),
                        "emailer_campaign_id": sequence_id,
                        "send_email_from_email_account_id": email_account_id,
                        "added_by_user_id": user_id,
                        "status": "active",
                        "added_at": _now(),
                        "finished_at": None,
                        "paused_at": None,
                    }
                )
                contact["emailer_campaign_ids"] = list(
                    dict.fromkeys([*contact["emailer_campaign_ids"], sequence_id])
                )
                self.touch("contacts", contact)
                enrolled.append(contact)
            return enrolled, skipped

    @staticmethod
    def _skip_reason(contact: Record, sequence_id: str, flags: dict[str, Any]) -> str | None:
        others = [s for s in contact["contact_campaign_statuses"] if s["emailer_campaign_id"] != sequence_id]
        if not contact["email"] and not flags.get("sequence_no_email"):
            return "no_email"
        if (
            contact["email"]
            and contact["email_status"] != "verified"
            and not flags.get("sequence_unverified_email")
        ):
            return "unverified_email"
        if any(s["status"] in ("active", "paused") for s in others) and not flags.get(
            "sequence_active_in_other_campaigns"
        ):
            return "active_in_other_campaigns"
        if any(s["status"] == "finished" for s in others) and not flags.get(
            "sequence_finished_in_other_campaigns"
        ):
            return "finished_in_other_campaigns"
        return None

    def remove_from_sequences(
        self, sequence_ids: Sequence[str], contact_ids: Sequence[str], mode: str
    ) -> list[Record]:
        """Remove contacts from sequences, or mark them finished, or stop (pause) them.

        :param sequence_ids: the sequences.
        :param contact_ids: the contacts.
        :param mode: ``remove``, ``mark_as_finished`` or ``stop``.
        """
        if mode not in SEQUENCE_REMOVAL_MODES:
            raise unprocessable(f"mode must be one of {', '.join(SEQUENCE_REMOVAL_MODES)}; got {mode!r}")
        with self.lock:
            for sequence_id in sequence_ids:
                self.sequence(str(sequence_id))
            contacts = [self.contact(str(contact_id)) for contact_id in contact_ids]
            wanted = set(sequence_ids)
            now = _now()
            for contact in contacts:
                if mode == "remove":
                    contact["contact_campaign_statuses"] = [
                        s
                        for s in contact["contact_campaign_statuses"]
                        if s["emailer_campaign_id"] not in wanted
                    ]
                    contact["emailer_campaign_ids"] = [
                        c for c in contact["emailer_campaign_ids"] if c not in wanted
                    ]
                else:
                    for status in contact["contact_campaign_statuses"]:
                        if status["emailer_campaign_id"] in wanted:
                            status["status"] = "finished" if mode == "mark_as_finished" else "paused"
                            status["finished_at" if mode == "mark_as_finished" else "paused_at"] = now
                self.touch("contacts", contact)
            return contacts

    def sequence_contact_count(self, sequence_id: str) -> int:
        """How many contacts are enrolled in a sequence (any status).

        :param sequence_id: the sequence.
        """
        return sum(
            1
            for contact in self.contacts.values()
            if any(s["emailer_campaign_id"] == sequence_id for s in contact["contact_campaign_statuses"])
        )

    # -------------------------------------------------------------------- tasks
    def create_tasks(self, contact_ids: Sequence[str], fields: dict[str, Any]) -> list[Record]:
        """One new task per contact. Apollo never deduplicates tasks, and neither does this.

        :param contact_ids: the contacts the tasks are about.
        :param fields: ``type``, ``priority``, ``due_at``, ``user_id``, ``note``, ``status``.
        """
        task_type = fields.get("type")
        if task_type not in TASK_TYPES:
            raise unprocessable(f"type must be one of {', '.join(TASK_TYPES)}; got {task_type!r}")
        priority = fields.get("priority") or "medium"
        if priority not in TASK_PRIORITIES:
            raise unprocessable(f"priority must be one of {', '.join(TASK_PRIORITIES)}; got {priority!r}")
        if not contact_ids:
            raise unprocessable("contact_ids must list at least one contact id")
        with self.lock:
            user_id = self._check_user(fields.get("user_id"))
            contacts = [self.contact(str(contact_id)) for contact_id in contact_ids]
            created = []
            for contact in contacts:
                task: Record = {
                    "id": self.ids.new("task"),
                    "user_id": user_id,
                    "created_at": _now(),
                    "completed_at": None,
                    "skipped_at": None,
                    "note": fields.get("note"),
                    "due_at": fields.get("due_at"),
                    "type": task_type,
                    "priority": priority,
                    "status": fields.get("status") or "scheduled",
                    "answered": None,
                    "contact_id": contact["id"],
                    "person_id": contact["person_id"],
                    "account_id": contact["account_id"],
                    "organization_id": contact["organization_id"],
                    "emailer_campaign_id": None,
                    "subject": fields.get("title") or fields.get("subject"),
                    "created_from": "api",
                    "starred_by_user_ids": [],
                }
                self.tasks[task["id"]] = task
                created.append(task)
            self.views.bump("tasks")
            return created

    def search_tasks(self, filters: dict[str, Any]) -> list[Record]:
        """Tasks matching ``tasks/search`` filters.

        :param filters: ``contact_ids``, ``task_types`` (or ``type``), ``statuses`` (or ``status``),
            ``user_ids``, ``sort_by_field``, ``sort_ascending``.
        """
        contacts = set(as_list(filters.get("contact_ids")))
        types = set(as_list(filters.get("task_types"))) | set(as_list(filters.get("type")))
        statuses = set(as_list(filters.get("statuses"))) | set(as_list(filters.get("status")))
        statuses |= set(as_list(filters.get("task_statuses")))
        users = set(as_list(filters.get("user_ids")))
        return [
            task
            for task in self._ordered("tasks", self.tasks, filters, "task_")
            if (not contacts or task["contact_id"] in contacts)
            and (not types or task["type"] in types)
            and (not statuses or task["status"] in statuses)
            and (not users or task["user_id"] in users)
        ]

    def complete_tasks(self, task_ids: Sequence[str]) -> list[Record]:
        """Mark tasks completed (what a rep does in Apollo's UI).

        :param task_ids: the tasks.
        """
        with self.lock:
            tasks = []
            for task_id in task_ids:
                task = self.tasks.get(str(task_id))
                if task is None:
                    raise invalid_id(task_id)
                tasks.append(task)
            now = _now()
            for task in tasks:
                task["status"] = "completed"
                task["completed_at"] = now
                self.touch("tasks", task)
            return tasks

    # ------------------------------------------------------------ opportunities
    def create_opportunity(self, fields: dict[str, Any]) -> Record:
        """Create a deal.

        :param fields: ``name`` (required), ``amount``, ``owner_id``, ``account_id``,
            ``opportunity_stage_id``, ``closed_date``.
        """
        if not fields.get("name"):
            raise unprocessable("an opportunity needs a 'name'")
        with self.lock:
            opportunity: Record = {
                "id": self.ids.new("opportunity"),
                "team_id": self.world.team_id,
                "owner_id": self.world.user["id"],
                "salesforce_owner_id": None,
                "amount": None,
                "closed_date": None,
                "account_id": None,
                "description": None,
                "is_closed": None,
                "is_won": None,
                "name": None,
                "stage_name": None,
                "opportunity_stage_id": None,
                "source": "api",
                "salesforce_id": None,
                "created_at": _now(),
                "existence_level": "full",
                "opportunity_contact_roles": [],
                "num_contacts": 0,
            }
            self._apply_opportunity_fields(opportunity, fields)
            self.opportunities[opportunity["id"]] = opportunity
            self.views.bump("opportunities")
            return opportunity

    def _apply_opportunity_fields(self, opportunity: Record, fields: dict[str, Any]) -> None:
        if "owner_id" in fields:
            opportunity["owner_id"] = self._check_user(fields["owner_id"])
        if fields.get("account_id"):
            self.account(str(fields["account_id"]))
            opportunity["account_id"] = fields["account_id"]
        for key in ("name", "description", "closed_date"):
            if key in fields:
                opportunity[key] = fields[key]
        if "amount" in fields:
            try:
                opportunity["amount"] = None if fields["amount"] is None else float(fields["amount"])
            except (TypeError, ValueError):
                raise unprocessable(f"amount must be a number; got {fields['amount']!r}") from None
        if "opportunity_stage_id" in fields:
            stage = next(
                (s for s in self.world.opportunity_stages if s["id"] == fields["opportunity_stage_id"]), None
            )
            if stage is None:
                raise invalid_id(fields["opportunity_stage_id"])
            opportunity.update(
                opportunity_stage_id=stage["id"],
                stage_name=stage["name"],
                is_closed=stage["is_closed"],
                is_won=stage["is_won"],
            )

    def opportunity(self, opportunity_id: str) -> Record:
        """The opportunity ``opportunity_id``; 422 if unknown.

        :param opportunity_id: opportunity id.
        """
        found = self.opportunities.get(opportunity_id)
        if found is None:
            raise invalid_id(opportunity_id)
        return found

    def update_opportunity(self, opportunity_id: str, fields: dict[str, Any]) -> Record:
        """Change fields of an opportunity.

        :param opportunity_id: opportunity id.
        :param fields: fields to change.
        """
        with self.lock:
            opportunity = self.opportunity(opportunity_id)
            self._apply_opportunity_fields(opportunity, fields)
            self.touch("opportunities", opportunity)
            return opportunity

    def search_opportunities(self, filters: dict[str, Any]) -> list[Record]:
        """Deals matching ``opportunities/search`` filters, sorted as asked.

        :param filters: ``owner_id``/``owner_ids``, ``opportunity_stage_ids``,
            ``sort_by_field`` (``amount``, ``is_closed``, ``is_won``, ``created_at``...),
            ``sort_ascending``.
        """
        owners = set(as_list(filters.get("owner_ids")) + as_list(filters.get("owner_id")))
        stages = set(as_list(filters.get("opportunity_stage_ids")))
        return [
            deal
            for deal in self._ordered("opportunities", self.opportunities, filters, "opportunity_")
            if (not owners or deal["owner_id"] in owners)
            and (not stages or deal["opportunity_stage_id"] in stages)
        ]

    # -------------------------------------------------------------------- stats
    def crm_stats(self) -> dict[str, Any]:
        """Record counts and the duplicates a careless client leaves behind."""
        with self.lock:
            emails = Counter((c["email"] or "").lower() for c in self.contacts.values() if c["email"])
            task_keys = Counter(
                (t["contact_id"], t["type"], t["due_at"], t["user_id"]) for t in self.tasks.values()
            )
            enrolments = Counter(
                (contact["id"], status["emailer_campaign_id"])
                for contact in self.contacts.values()
                for status in contact["contact_campaign_statuses"]
            )
            return {
                "contacts": {
                    "total": len(self.contacts),
                    "duplicates_by_email": sum(n - 1 for n in emails.values()),
                },
                "accounts": {"total": len(self.accounts)},
                "tasks": {"total": len(self.tasks), "duplicates": sum(n - 1 for n in task_keys.values())},
                "sequence_enrolments": {
                    "total": sum(enrolments.values()),
                    "duplicates": sum(n - 1 for n in enrolments.values()),
                },
                "opportunities": {"total": len(self.opportunities)},
            }

    def stats(self) -> dict[str, Any]:
        """The full stats JSON of ``GET /_sandbox/stats``."""
        with self.lock:
            return {**self.traffic.as_dict(), **self.crm_stats()}
