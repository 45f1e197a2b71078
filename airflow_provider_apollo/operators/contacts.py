"""Operators that write the team's contacts (CRM records: no credits)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_apollo._api.batching import chunked
from airflow_provider_apollo._api.email_addresses import email_problem
from airflow_provider_apollo._api.phone_numbers import contact_phone_fields
from airflow_provider_apollo._api.record_matching import CONTACTS, contact_identity, match_records
from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators._base import ApolloBaseOperator, plural
from airflow_provider_apollo.operators._output import checked_output_path, write_json_lines
from airflow_provider_apollo.operators._resolve import resolve_contact_stage_id
from airflow_provider_apollo.operators._validation import (
    ENRICHMENT_RESULT_KEYS,
    as_contact_ids,
    as_mapping_list,
    as_string_list,
    describe,
    exactly_one,
    optional_string,
)
from airflow_provider_apollo.operators.links import ApolloContactsLink

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

#: ``contacts/update_stages`` is given at most this many contact ids per call.
STAGE_UPDATE_SIZE = 100
#: Apollo's placeholder when a person's email was not revealed: not an address to store.
_LOCKED_EMAIL_PREFIX = "email_not_unlocked@"
#: The XCom key holding one ``{"index", "status", "contact_id"}`` per input.
INPUT_STATUSES_KEY = "input_statuses"
#: Every status an input can end with (see the class docstring).
INPUT_STATUSES = ("saved", "existing_contact", "skipped", "invalid_email", "unmatched")


class ApolloCreateContactsOperator(ApolloBaseOperator):
    """Create contacts in bulk (``contacts/bulk_create``), deduplicated so retries are safe.

    Takes the output of ApolloEnrichPeopleOperator as it is: ``matched`` people become
    contacts (name, title, email, company, website, LinkedIn, address, phone numbers by
    type), an ``existing_contact`` is returned as it is with no request, ``not_found`` and
    ``skipped_budget`` ones are left out and counted. Plain contact dicts (Apollo's contact
    fields) are accepted too. With ``run_dedupe`` (the default) Apollo returns the existing
    contact instead of creating a second one, so a retried task creates no duplicate.

    Each input ends with one status, pushed to XCom key ``input_statuses`` as
    ``{"index", "status", "contact_id"}``: ``saved`` (sent; created or matched by dedupe),
    ``existing_contact``, ``skipped`` (not found or over budget), ``invalid_email`` (not
    sent: Apollo would drop the email and create a contact no sequence can email and no
    re-run can deduplicate) or ``unmatched`` (sent, but no record of Apollo's answer can be
    tied to it with certainty; it is logged with what to check). Records are tied to inputs
    by identity (Apollo person id, email, LinkedIn URL, name + company), never by position.

    :param contacts: enrichment results or contact dicts (``email``, ``first_name``,
        ``last_name``, ``organization_name``, ``title``, ...). A list of lists is flattened. (templated)
    :param run_dedupe: let Apollo match existing contacts (by email, else name + company)
        instead of creating duplicates. Leave it on unless you really want duplicates.
    :param label_names: lists (labels) to put the new contacts in; created by Apollo if
        missing. (templated)
    :param contact_stage_id: the stage of new contacts. (templated)
    :param contact_stage_name: the stage of new contacts by name (case-insensitive), instead
        of ``contact_stage_id``. (templated)
    :param output_path: write the contact records as JSON Lines to this local path or
        object-storage URL and return ``{"path", "count", ...counts}`` instead. (templated)
    :param apollo_conn_id: Airflow connection of type ``apollo``. (templated)
    :return: the contact records (created or already existing), in input order; inputs
        without a record (skipped, invalid_email, unmatched) are left out and counted.
    """

    template_fields: Sequence[str] = (
        "contacts",
        "label_names",
        "contact_stage_id",
        "contact_stage_name",
        "output_path",
        "apollo_conn_id",
    )
    template_fields_renderers = {"contacts": "json"}
    operator_extra_links = (ApolloContactsLink(),)

    def __init__(
        self,
        *,
        contacts: Sequence[Mapping[str, Any]],
        run_dedupe: bool = True,
        label_names: Sequence[str] | None = None,
        contact_stage_id: str | None = None,
        contact_stage_name: str | None = None,
        output_path: str | None = None,
        apollo_conn_id: str = ApolloHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(apollo_conn_id=apollo_conn_id, **kwargs)
        self.contacts = contacts
        self.run_dedupe = run_dedupe
        self.label_names = label_names
        self.contact_stage_id = contact_stage_id
        self.contact_stage_name = contact_stage_name
        self.output_path = output_path
        self.declare_output_asset(output_path)

    def execute(self, context: Context) -> list[dict[str, Any]] | dict[str, Any]:
        items = as_mapping_list("contacts", self.contacts)
        label_names = None if self.label_names is None else as_string_list("label_names", self.label_names)
        stage_id = optional_string("contact_stage_id", self.contact_stage_id)
        stage_name = optional_string("contact_stage_name", self.contact_stage_name)
        if stage_id is not None and stage_name is not None:
            exactly_one(("contact_stage_id", stage_id), ("contact_stage_name", stage_name))
        output_path = checked_output_path(self.output_path)
        # Each input becomes a contact to send, a record to pass through, or nothing (skipped).
        plan = [_plan(f"contacts[{index}]", item) for index, item in enumerate(items)]
        if not self.run_dedupe:
            self.log.warning(
                "run_dedupe=False: Apollo will create a new contact even when one with the same email "
                "exists, and a retried task will create duplicates."
            )

        to_send = [step for step in plan if isinstance(step, _NewContact)]
        if to_send:
            if stage_name is not None:
                stage_id = resolve_contact_stage_id(self.hook, stage_name)
            self._create(to_send, label_names, stage_id)

        records = [step.record for step in plan if step.record is not None]
        ApolloContactsLink.persist(context, (record.get("id") for record in records))
        statuses = [step.status for step in plan]
        counts = {
            "sent": len(to_send),
            "existing_contact": statuses.count("existing_contact"),
            "skipped": statuses.count("skipped"),
            "invalid_email": statuses.count("invalid_email"),
            "unmatched": statuses.count("unmatched"),
        }
        ti = context.get("ti")
        if ti is not None:  # None when execute() is called outside Airflow (scripts, tests)
            ti.xcom_push(
                key=INPUT_STATUSES_KEY,
                value=[
                    {"index": index, "status": step.status, "contact_id": (step.record or {}).get("id")}
                    for index, step in enumerate(plan)
                ],
            )
        self._warn_about_unsaved(plan)
        self.log_summary(
            f"Saved {plural(len(records), 'contact')}: {counts['sent']} sent to Apollo (created or matched "
            f"by dedupe), {counts['existing_contact']} already contacts, {counts['skipped']} inputs skipped "
            f"(not found or over budget), {counts['invalid_email']} refused for an invalid email, "
            f"{counts['unmatched']} not matched to Apollo's answer"
        )
        if output_path is None:
            return records
        path, count = write_json_lines(output_path, iter(records))
        return {"path": path, "count": count, **counts}

    def _warn_about_unsaved(self, plan: Sequence[_Step]) -> None:
        """One log line per kind of input that got no contact, naming the inputs."""
        for status, what in (
            ("invalid_email", "have an email Apollo would ignore, so they were not sent (fix the email)"),
            (
                "unmatched",
                "were sent but no record of Apollo's answer matches them with certainty: check in Apollo "
                "whether a contact was created for them (e.g. without its email) before running again",
            ),
        ):
            names = [step.argument for step in plan if step.status == status]
            if names:
                shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
                reasons = [step.reason for step in plan if step.status == status and step.reason]
                detail = f" ({'; '.join(reasons[:5])})" if reasons else ""
                self.log.warning("%s %s%s.", shown, what, detail)

    def _create(
        self, steps: Sequence[_NewContact], label_names: list[str] | None, stage_id: str | None
    ) -> None:
        """Send the new contacts once each (same email: one contact) and attach the records."""
        by_email: dict[str, int] = {}
        unique_fields: list[dict[str, Any]] = []
        identities: list[dict[str, str]] = []
        positions: list[int] = []
        for step in steps:
            fields = dict(step.fields)
            if label_names is not None:
                fields.setdefault("label_names", label_names)
            if stage_id is not None:
                fields.setdefault("contact_stage_id", stage_id)
            email = str(fields.get("email") or "").casefold()
            if email and email in by_email:
                positions.append(by_email[email])
                continue
            if email:
                by_email[email] = len(unique_fields)
            positions.append(len(unique_fields))
            unique_fields.append(fields)
            identities.append(contact_identity(fields, person_id=step.person_id))

        answered = self.hook.bulk_create_contacts(unique_fields, run_dedupe=self.run_dedupe)
        # By identity, never by position: Apollo drops invalid emails and answers created and
        # existing contacts in two lists, so the n-th record need not answer the n-th input.
        mine, unclaimed = match_records(identities, answered, CONTACTS)
        for step, position in zip(steps, positions, strict=True):
            record = mine[position]
            if record is None:
                step.status = "unmatched"
            else:
                step.record = record
        if unclaimed:
            self.log.warning(
                "contacts/bulk_create answered %s that match none of the inputs with certainty (ids: %s).",
                plural(len(unclaimed), "record"),
                ", ".join(str(record.get("id")) for record in unclaimed[:20]),
            )


class _Step:
    """One input of ApolloCreateContactsOperator: what happens to it and how it ended."""

    def __init__(self, argument: str, status: str, record: dict[str, Any] | None = None) -> None:
        self.argument = argument
        self.status = status
        self.record = record
        self.reason = ""


class _NewContact(_Step):
    """An input to send to Apollo; ``record`` is filled with Apollo's answer."""

    def __init__(self, argument: str, fields: dict[str, Any], person_id: str | None = None) -> None:
        super().__init__(argument, "saved")
        self.fields = fields
        self.person_id = person_id


class _PassThrough(_Step):
    """An input that already is a contact record."""

    def __init__(self, argument: str, record: dict[str, Any]) -> None:
        super().__init__(argument, "existing_contact", record)


class _Skip(_Step):
    """An input that is not sent: no person (not found, over budget) or an invalid email."""


def _new_contact(argument: str, fields: dict[str, Any], person_id: str | None = None) -> _Step:
    """A contact to send, or an ``invalid_email`` skip when Apollo would drop its email."""
    email = fields.get("email")
    if email is not None and email != "":
        problem = email_problem(email)
        if problem is not None:
            skip = _Skip(argument, "invalid_email")
            skip.reason = f"{argument}.email: {problem}"
            return skip
    return _NewContact(argument, fields, person_id)


def _plan(argument: str, item: Mapping[str, Any]) -> _Step:
    """What to do with one input of ApolloCreateContactsOperator."""
    if not item.keys() >= ENRICHMENT_RESULT_KEYS:
        if not any(item.get(key) for key in ("email", "first_name", "last_name", "name")):
            raise ApolloConfigurationError(
                f"{argument} needs an email or a name (first_name/last_name) to become a contact; "
                f"its keys: {sorted(str(key) for key in item)}."
            )
        return _new_contact(argument, dict(item))
    status, person = item["status"], item["person"]
    if status in ("not_found", "skipped_budget"):
        return _Skip(argument, "skipped")
    if status not in ("matched", "existing_contact"):
        raise ApolloConfigurationError(
            f"{argument} has status {status!r}; enrichment results are matched, not_found, "
            "existing_contact or skipped_budget."
        )
    if not isinstance(person, Mapping):
        raise ApolloConfigurationError(f"{argument} is {status} but its 'person' is {describe(person)}.")
    if status == "existing_contact":
        return _PassThrough(argument, dict(person))
    person_id = person.get("id")
    return _new_contact(argument, contact_fields(person), person_id if isinstance(person_id, str) else None)


def contact_fields(person: Mapping[str, Any]) -> dict[str, Any]:
    """The ``contacts`` fields for an enriched Apollo person."""
    nested = person.get("organization")
    organization: Mapping[str, Any] = nested if isinstance(nested, Mapping) else {}
    email = person.get("email")
    if isinstance(email, str) and email.casefold().startswith(_LOCKED_EMAIL_PREFIX):
        email = None
    website = organization.get("website_url")
    if not website and organization.get("primary_domain"):
        website = f"https://{organization['primary_domain']}"
    address = person.get("present_raw_address") or ", ".join(
        str(part) for part in (person.get("city"), person.get("state"), person.get("country")) if part
    )
    fields = {
        "first_name": person.get("first_name"),
        "last_name": person.get("last_name"),
        "title": person.get("title"),
        "email": email,
        "organization_name": person.get("organization_name") or organization.get("name"),
        "website_url": website,
        "linkedin_url": person.get("linkedin_url"),
        "present_raw_address": address,
        # By type: a switchboard is never a direct dial, a revealed mobile is never dropped.
        **contact_phone_fields(person),
    }
    return {key: value for key, value in fields.items() if value}


class ApolloUpdateContactStageOperator(ApolloBaseOperator):
    """Move contacts to a contact stage (``contacts/update_stages``); safe to re-run.

    :param contact_ids: contact ids, or contact records (their ``id``), e.g. the output of
        ApolloCreateContactsOperator. (templated)
    :param contact_stage_id: the stage to move them to. (templated)
    :param contact_stage_name: the stage by name (case-insensitive, e.g. ``"Approaching"``),
        instead of ``contact_stage_id``. (templated)
    :param apollo_conn_id: Airflow connection of type ``apollo``. (templated)
    :return: ``{"contact_stage_id": ..., "contact_ids": [...]}``.
    """

    template_fields: Sequence[str] = (
        "contact_ids",
        "contact_stage_id",
        "contact_stage_name",
        "apollo_conn_id",
    )
    operator_extra_links = (ApolloContactsLink(),)

    def __init__(
        self,
        *,
        contact_ids: Sequence[str] | Sequence[Mapping[str, Any]],
        contact_stage_id: str | None = None,
        contact_stage_name: str | None = None,
        apollo_conn_id: str = ApolloHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(apollo_conn_id=apollo_conn_id, **kwargs)
        self.contact_ids = contact_ids
        self.contact_stage_id = contact_stage_id
        self.contact_stage_name = contact_stage_name

    def execute(self, context: Context) -> dict[str, Any]:
        contact_ids = as_contact_ids("contact_ids", self.contact_ids)
        stage_id = optional_string("contact_stage_id", self.contact_stage_id)
        stage_name = optional_string("contact_stage_name", self.contact_stage_name)
        exactly_one(("contact_stage_id", stage_id), ("contact_stage_name", stage_name))
        if not contact_ids:  # nobody to move today: no stage look-up, no request
            self.log.info("No contacts to move: nothing sent to Apollo.")
            return {"contact_stage_id": stage_id, "contact_ids": []}

        if stage_id is None and stage_name is not None:
            stage_id = resolve_contact_stage_id(self.hook, stage_name)
        ApolloContactsLink.persist(context, contact_ids)
        for batch in chunked(contact_ids, STAGE_UPDATE_SIZE):
            self.hook.update_contact_stages(list(batch), str(stage_id))
        self.log_summary(f"Moved {plural(len(contact_ids), 'contact')} to stage {stage_name or stage_id}")
        return {"contact_stage_id": stage_id, "contact_ids": contact_ids}
