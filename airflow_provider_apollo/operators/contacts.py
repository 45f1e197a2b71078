"""Operators that write the team's contacts (CRM records: no credits)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_apollo.exceptions import ApolloConfigurationError, ApolloResponseError
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators._base import ApolloBaseOperator, plural
from airflow_provider_apollo.operators._output import checked_output_path, write_json_lines
from airflow_provider_apollo.operators._resolve import resolve_contact_stage_id
from airflow_provider_apollo.operators._validation import (
    ENRICHMENT_RESULT_KEYS,
    as_contact_ids,
    as_mapping_list,
    as_string_list,
    chunks,
    describe,
    exactly_one,
    optional_string,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

#: ``contacts/update_stages`` is given at most this many contact ids per call.
STAGE_UPDATE_SIZE = 100
#: Apollo's placeholder when a person's email was not revealed: not an address to store.
_LOCKED_EMAIL_PREFIX = "email_not_unlocked@"


class ApolloCreateContactsOperator(ApolloBaseOperator):
    """Create contacts in bulk (``contacts/bulk_create``), deduplicated so retries are safe.

    Takes the output of ApolloEnrichPeopleOperator as it is: ``matched`` people become
    contacts (name, title, email, company, website, LinkedIn, address, phone), an
    ``existing_contact`` is returned as it is with no request, ``not_found`` and
    ``skipped_budget`` ones are left out and counted. Plain contact dicts (Apollo's contact
    fields) are accepted too. With ``run_dedupe`` (the default) Apollo returns the existing
    contact instead of creating a second one, so a retried task creates no duplicate.

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
    :param apollo_conn_id: Airflow connection of type ``apollo``.
    :return: the contact records (created or already existing), in input order, skipped
        inputs left out.
    """

    template_fields: Sequence[str] = (
        "contacts",
        "label_names",
        "contact_stage_id",
        "contact_stage_name",
        "output_path",
    )
    template_fields_renderers = {"contacts": "json"}

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
        counts = {
            "sent": len(to_send),
            "existing_contact": sum(isinstance(step, _PassThrough) for step in plan),
            "skipped": sum(isinstance(step, _Skip) for step in plan),
        }
        self.log_summary(
            f"Saved {plural(len(records), 'contact')}: {counts['sent']} sent to Apollo (created or matched "
            f"by dedupe), {counts['existing_contact']} already contacts, {counts['skipped']} inputs skipped "
            "(not found or over budget)"
        )
        if output_path is None:
            return records
        path, count = write_json_lines(output_path, iter(records))
        return {"path": path, "count": count, **counts}

    def _create(
        self, steps: Sequence[_NewContact], label_names: list[str] | None, stage_id: str | None
    ) -> None:
        """Send the new contacts once each (same email: one contact) and attach the records."""
        by_email: dict[str, int] = {}
        unique_fields: list[dict[str, Any]] = []
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

        created = self.hook.bulk_create_contacts(unique_fields, run_dedupe=self.run_dedupe)
        if len(created) < len(unique_fields):
            raise ApolloResponseError(
                f"Apollo answered {len(created)} contact records for {len(unique_fields)} contacts sent to "
                "contacts/bulk_create, so they cannot be matched to the inputs. Retry the task: with "
                "run_dedupe it returns the existing contacts instead of creating them again.",
                endpoint="contacts/bulk_create",
            )
        for step, position in zip(steps, positions, strict=True):
            step.record = created[position]


class _NewContact:
    """An input to send to Apollo; ``record`` is filled with Apollo's answer."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        self.record: dict[str, Any] | None = None


class _PassThrough:
    """An input that already is a contact record."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record: dict[str, Any] | None = record


class _Skip:
    """An enrichment result with no person (not found, or left out for the budget)."""

    record: dict[str, Any] | None = None


def _plan(argument: str, item: Mapping[str, Any]) -> _NewContact | _PassThrough | _Skip:
    """What to do with one input of ApolloCreateContactsOperator."""
    if not item.keys() >= ENRICHMENT_RESULT_KEYS:
        if not any(item.get(key) for key in ("email", "first_name", "last_name", "name")):
            raise ApolloConfigurationError(
                f"{argument} needs an email or a name (first_name/last_name) to become a contact; "
                f"its keys: {sorted(str(key) for key in item)}."
            )
        return _NewContact(dict(item))
    status, person = item["status"], item["person"]
    if status in ("not_found", "skipped_budget"):
        return _Skip()
    if status not in ("matched", "existing_contact"):
        raise ApolloConfigurationError(
            f"{argument} has status {status!r}; enrichment results are matched, not_found, "
            "existing_contact or skipped_budget."
        )
    if not isinstance(person, Mapping):
        raise ApolloConfigurationError(f"{argument} is {status} but its 'person' is {describe(person)}.")
    if status == "existing_contact":
        return _PassThrough(dict(person))
    return _NewContact(contact_fields(person))


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
        "direct_phone": _phone(person),
    }
    return {key: value for key, value in fields.items() if value}


def _phone(person: Mapping[str, Any]) -> str | None:
    for number in person.get("phone_numbers") or ():
        if isinstance(number, Mapping) and (number.get("sanitized_number") or number.get("raw_number")):
            return str(number.get("sanitized_number") or number.get("raw_number"))
    sanitized = person.get("sanitized_phone")
    return str(sanitized) if sanitized else None


class ApolloUpdateContactStageOperator(ApolloBaseOperator):
    """Move contacts to a contact stage (``contacts/update_stages``); safe to re-run.

    :param contact_ids: contact ids, or contact records (their ``id``), e.g. the output of
        ApolloCreateContactsOperator. (templated)
    :param contact_stage_id: the stage to move them to. (templated)
    :param contact_stage_name: the stage by name (case-insensitive, e.g. ``"Approaching"``),
        instead of ``contact_stage_id``. (templated)
    :param apollo_conn_id: Airflow connection of type ``apollo``.
    :return: ``{"contact_stage_id": ..., "contact_ids": [...]}``.
    """

    template_fields: Sequence[str] = ("contact_ids", "contact_stage_id", "contact_stage_name")

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

        if stage_id is None and stage_name is not None:
            stage_id = resolve_contact_stage_id(self.hook, stage_name)
        for batch in chunks(contact_ids, STAGE_UPDATE_SIZE):
            self.hook.update_contact_stages(list(batch), str(stage_id))
        self.log_summary(f"Moved {plural(len(contact_ids), 'contact')} to stage {stage_name or stage_id}")
        return {"contact_stage_id": stage_id, "contact_ids": contact_ids}
