"""Contact and account writes and searches of the sandbox state (``SandboxState`` builds on it)."""

from __future__ import annotations

from typing import Any

from airflow_provider_apollo.sandbox.custom_fields import apply_custom_fields
from airflow_provider_apollo.sandbox.email_rules import without_invalid_email
from airflow_provider_apollo.sandbox.errors import unprocessable
from airflow_provider_apollo.sandbox.prospecting import as_list, find_organization_by_domain
from airflow_provider_apollo.sandbox.state_core import StateCore, now_iso
from airflow_provider_apollo.sandbox.world import Record, normalise_linkedin

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


class CrmRecordsState(StateCore):
    """Contacts and accounts: create (with ``run_dedupe``), update, search."""

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
            now = now_iso()
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
        self._index_email(contact, old_email)
        if "email" in fields or contact["email_status"] is None:
            self._match_person(contact)
        self._match_organization(contact, fields)
        if fields.get("label_names"):
            new_ids = self.labels_named(as_list(fields["label_names"]), "contacts")
            contact["label_ids"] = list(dict.fromkeys([*contact["label_ids"], *new_ids]))
        if "label_ids" in fields:
            contact["label_ids"] = list(as_list(fields["label_ids"]))
        _apply_phone_fields(contact, fields)

    def _index_email(self, contact: Record, old_email: str | None) -> None:
        """Keep the email index (what ``run_dedupe`` looks up) in step with the contact."""
        if contact["id"] in self.contacts and contact["email"] != old_email:
            self.emails.remove(contact["id"], old_email)
            self.emails.add(contact["id"], contact["email"])
        elif contact["id"] not in self.contacts:
            self.emails.add(contact["id"], contact["email"])

    def _match_person(self, contact: Record) -> None:
        """Verify the email as Apollo does and link the contact to the world's person it names."""
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

    def _match_organization(self, contact: Record, fields: dict[str, Any]) -> None:
        """Link the contact to an organization by email domain, website or name, in that order."""
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
            current name; ``label_ids`` is accepted too), ``owner_ids``/``owner_id`` (a sandbox
            extension: Apollo documents no owner filter), ``sort_by_field``, ``sort_ascending``;
            unknown keys are ignored.
        """
        words = str(filters.get("q_keywords") or "").lower().split()
        stages = set(as_list(filters.get("contact_stage_ids")))
        labels = set(as_list(filters.get("contact_label_ids")) + as_list(filters.get("label_ids")))
        owners = set(as_list(filters.get("owner_ids")) + as_list(filters.get("owner_id")))
        ordered = self._ordered("contacts", self.contacts, filters, "contact_")
        if not (words or stages or labels or owners):
            return ordered  # the whole CRM, paged: no copy of 120,000 references per page
        query = (
            str(filters.get("sort_by_field") or ""),
            filters.get("sort_ascending") in (True, "true", "True", 1, "1"),
            tuple(words),
            frozenset(stages),
            frozenset(labels),
            frozenset(owners),
        )
        return self.views.filtered(
            "contacts", query, lambda: self._filter_contacts(ordered, words, stages, labels, owners)
        )

    @staticmethod
    def _filter_contacts(
        ordered: list[Record], words: list[str], stages: set[Any], labels: set[Any], owners: set[Any]
    ) -> list[Record]:
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
            now = now_iso()
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
            # The documented account record has no updated_at: the sandbox keeps it aside.
            self.hidden_updated_at[account["id"]] = now
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


def _apply_phone_fields(contact: Record, fields: dict[str, Any]) -> None:
    """Each phone field given replaces the contact's number of that type."""
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
