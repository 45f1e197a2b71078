"""The team's CRM inside the sandbox: contacts, accounts, tasks, deals, sequence enrolments.

One ``SandboxState`` per server, guarded by one lock, so every client process of a server
shares the same records, the same credits ledger and the same counters. The core (collections,
lookups, deletes) is in ``state_core.py``, contacts and accounts in ``state_crm.py``; sequences,
tasks and deals are here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from airflow_provider_apollo.sandbox.errors import invalid_id, unprocessable
from airflow_provider_apollo.sandbox.prospecting import as_list
from airflow_provider_apollo.sandbox.state_core import now_iso
from airflow_provider_apollo.sandbox.state_crm import CrmRecordsState
from airflow_provider_apollo.sandbox.world import Record

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


class SandboxState(CrmRecordsState):
    """All mutable sandbox data. Callers hold ``lock`` around multi-step operations.

    :param world_factory: builds the pristine world; called again on ``reset()``.
    :param crm_sizes: the seeded CRM's sizes; default an empty CRM (the owner, no records).
    """

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
                        "added_at": now_iso(),
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
            now = now_iso()
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
                    "created_at": now_iso(),
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
            now = now_iso()
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
                "created_at": now_iso(),
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
