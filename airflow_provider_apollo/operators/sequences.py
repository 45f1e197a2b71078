"""Operators that enrol contacts in sequences (Apollo's email cadences) and take them out."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pendulum

from airflow_provider_apollo._api.batching import chunked
from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.hooks._resources.sequences import (
    SEQUENCE_ENROLMENT_FLAGS,
    SEQUENCE_REMOVAL_MODES,
)
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators._base import ApolloBaseOperator, plural
from airflow_provider_apollo.operators._resolve import resolve_email_account_id, resolve_sequence_id
from airflow_provider_apollo.operators._validation import (
    as_contact_ids,
    as_list,
    as_record_ids,
    choice,
    exactly_one,
    optional_string,
)
from airflow_provider_apollo.operators.links import ApolloSequenceLink

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

#: Contact ids per ``add_contact_ids`` / ``remove_or_stop_contact_ids`` call.
SEQUENCE_BATCH_SIZE = 100
#: The reason reported for a contact that was already in the sequence.
ALREADY_IN_SEQUENCE = "already_in_sequence"
REMOVE_MODES = SEQUENCE_REMOVAL_MODES
#: How far Apollo's clock may be ahead of the worker's when dating an enrolment.
ENROLMENT_CLOCK_SKEW = pendulum.duration(minutes=2)


class ApolloAddToSequenceOperator(ApolloBaseOperator):
    """Enrol contacts in a sequence (``emailer_campaigns/{id}/add_contact_ids``).

    The sequence and the sending mailbox may be given by name and address: each resolves to
    its id once per task, and an unknown or ambiguous name fails listing the candidates.
    Apollo never enrols a contact twice in the same sequence, so a re-run (or a retry) adds
    only the contacts that are not in yet and reports the others as
    ``"already_in_sequence"``: known from the input contact records when they are records
    (e.g. from ApolloCreateContactsOperator), else from the enrolment dates in Apollo's answer.

    :param sequence_id: the sequence's id. (templated)
    :param sequence_name: the sequence's exact name (case-insensitive), instead of
        ``sequence_id``. (templated)
    :param contact_ids: contact ids or contact records (their ``id``), e.g. the output of
        ApolloCreateContactsOperator. (templated)
    :param email_account_id: the id of the mailbox that sends the emails. (templated)
    :param email_account: that mailbox's address, instead of ``email_account_id``. (templated)
    :param sequence_no_email: enrol contacts who have no email address.
    :param sequence_unverified_email: enrol contacts whose email is unverified.
    :param sequence_job_change: enrol contacts who recently changed jobs.
    :param sequence_active_in_other_campaigns: enrol contacts active or paused in another sequence.
    :param sequence_finished_in_other_campaigns: enrol contacts who finished another sequence.
    :param sequence_same_company_in_same_campaign: enrol contacts whose colleagues are in
        this sequence.
    :param user_id: the Apollo user the enrolment is made as. (templated)
    :param apollo_conn_id: Airflow connection of type ``apollo``. (templated)
    :return: ``{"sequence_id": ..., "added": [contact ids], "skipped": {contact_id: reason}}``.
    """

    template_fields: Sequence[str] = (
        "sequence_id",
        "sequence_name",
        "contact_ids",
        "email_account_id",
        "email_account",
        "user_id",
        "apollo_conn_id",
    )
    operator_extra_links = (ApolloSequenceLink(),)

    def __init__(
        self,
        *,
        contact_ids: Sequence[str] | Sequence[Mapping[str, Any]],
        sequence_id: str | None = None,
        sequence_name: str | None = None,
        email_account_id: str | None = None,
        email_account: str | None = None,
        sequence_no_email: bool = False,
        sequence_unverified_email: bool = False,
        sequence_job_change: bool = False,
        sequence_active_in_other_campaigns: bool = False,
        sequence_finished_in_other_campaigns: bool = False,
        sequence_same_company_in_same_campaign: bool = False,
        user_id: str | None = None,
        apollo_conn_id: str = ApolloHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(apollo_conn_id=apollo_conn_id, **kwargs)
        self.sequence_id = sequence_id
        self.sequence_name = sequence_name
        self.contact_ids = contact_ids
        self.email_account_id = email_account_id
        self.email_account = email_account
        self.sequence_no_email = sequence_no_email
        self.sequence_unverified_email = sequence_unverified_email
        self.sequence_job_change = sequence_job_change
        self.sequence_active_in_other_campaigns = sequence_active_in_other_campaigns
        self.sequence_finished_in_other_campaigns = sequence_finished_in_other_campaigns
        self.sequence_same_company_in_same_campaign = sequence_same_company_in_same_campaign
        self.user_id = user_id

    def execute(self, context: Context) -> dict[str, Any]:
        sequence_id = optional_string("sequence_id", self.sequence_id)
        sequence_name = optional_string("sequence_name", self.sequence_name)
        email_account_id = optional_string("email_account_id", self.email_account_id)
        email_account = optional_string("email_account", self.email_account)
        user_id = optional_string("user_id", self.user_id)
        exactly_one(("sequence_id", sequence_id), ("sequence_name", sequence_name))
        exactly_one(("email_account_id", email_account_id), ("email_account", email_account))
        contact_ids = as_contact_ids("contact_ids", self.contact_ids)
        if not contact_ids:  # a day with nobody new: no name look-up, no request
            self.log.info("No contacts to enrol: nothing sent to Apollo.")
            return {"sequence_id": sequence_id, "added": [], "skipped": {}}

        if sequence_id is None:
            sequence_id = resolve_sequence_id(self.hook, str(sequence_name))
        if email_account_id is None:
            email_account_id = resolve_email_account_id(self.hook, str(email_account))
        ApolloSequenceLink.persist(context, [sequence_id])

        # Apollo answers contacts it enrolled and contacts that were already in the sequence
        # alike; the records given as input (from before this request) tell them apart.
        known = _records_by_id(self.contact_ids)
        added: list[str] = []
        skipped: dict[str, str] = {}
        for batch in chunked(contact_ids, SEQUENCE_BATCH_SIZE):
            sent_at = pendulum.now("UTC")
            answer = self.hook.add_contacts_to_sequence(
                sequence_id,
                list(batch),
                email_account_id=email_account_id,
                **{flag: getattr(self, flag) for flag in SEQUENCE_ENROLMENT_FLAGS},
                user_id=user_id,
            )
            reasons = skipped_reasons(answer)
            answered = _records_by_id(answer.get("contacts") if isinstance(answer, Mapping) else None)
            for contact_id in batch:
                if contact_id in reasons:
                    skipped[contact_id] = reasons[contact_id]
                elif _in_sequence(known.get(contact_id), sequence_id) or _enrolled_before(
                    answered.get(contact_id), sequence_id, sent_at
                ):
                    skipped[contact_id] = ALREADY_IN_SEQUENCE
                else:
                    added.append(contact_id)

        by_reason = Counter(skipped.values())
        detail = ", ".join(f"{reason}: {count}" for reason, count in sorted(by_reason.items()))
        self.log_summary(
            f"Added {plural(len(added), 'contact')} to sequence {sequence_name or sequence_id}, "
            f"skipped {len(skipped)}" + (f" ({detail})" if detail else "")
        )
        return {"sequence_id": sequence_id, "added": added, "skipped": skipped}


def skipped_reasons(answer: Mapping[str, Any]) -> dict[str, str]:
    """``{contact_id: reason}`` for the contacts Apollo did not enrol, from its answer.

    Apollo reports them under ``skipped_contact_ids`` (a mapping of id to reason, or a plain
    list of ids). Reasons become snake_case; any "already in this sequence" wording becomes
    ``already_in_sequence``.
    """
    reported = answer.get("skipped_contact_ids") if isinstance(answer, Mapping) else None
    if isinstance(reported, Mapping):
        return {str(contact_id): _reason(reason) for contact_id, reason in reported.items()}
    if isinstance(reported, Sequence) and not isinstance(reported, str):
        return {str(contact_id): "skipped" for contact_id in reported}
    return {}


def _records_by_id(value: Any) -> dict[str, Mapping[str, Any]]:
    """The contact records among ``value`` (ids are skipped), by id."""
    items = as_list("contact_ids", value) if value is not None else []
    return {str(item["id"]): item for item in items if isinstance(item, Mapping) and item.get("id")}


def _in_sequence(contact: Mapping[str, Any] | None, sequence_id: str) -> bool:
    """Whether a contact record (read before the request) shows it enrolled in the sequence."""
    if contact is None:
        return False
    if sequence_id in (contact.get("emailer_campaign_ids") or ()):
        return True
    return any(status.get("emailer_campaign_id") == sequence_id for status in _campaign_statuses(contact))


def _enrolled_before(contact: Mapping[str, Any] | None, sequence_id: str, sent_at: pendulum.DateTime) -> bool:
    """Whether Apollo's answer shows the contact added to the sequence before this request.

    ``ENROLMENT_CLOCK_SKEW`` absorbs a difference between the worker's and Apollo's clocks; a
    retry within that window reports a contact as added again, but never enrols it twice.
    """
    for status in _campaign_statuses(contact):
        if status.get("emailer_campaign_id") != sequence_id or not isinstance(status.get("added_at"), str):
            continue
        try:
            added_at = pendulum.parse(status["added_at"], tz="UTC")
        except ValueError:
            continue
        if isinstance(added_at, pendulum.DateTime) and added_at < sent_at - ENROLMENT_CLOCK_SKEW:
            return True
    return False


def _campaign_statuses(contact: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    statuses = (contact or {}).get("contact_campaign_statuses") or ()
    return [status for status in statuses if isinstance(status, Mapping)]


def _reason(reason: Any) -> str:
    text = re.sub(r"[^a-z0-9]+", "_", str(reason).casefold()).strip("_") or "skipped"
    if "already" in text and any(word in text for word in ("sequence", "campaign")):
        return ALREADY_IN_SEQUENCE
    return text[:80]


class ApolloRemoveFromSequenceOperator(ApolloBaseOperator):
    """Take contacts out of sequences (``emailer_campaigns/remove_or_stop_contact_ids``).

    Safe to re-run: removing a contact that is no longer in a sequence changes nothing.

    :param sequence_ids: the sequences' ids or sequence records (their ``id``); one or a list. (templated)
    :param contact_ids: contact ids or contact records (their ``id``). (templated)
    :param mode: ``"remove"`` (take them out), ``"mark_as_finished"`` or ``"stop"`` (pause). (templated)
    :param apollo_conn_id: Airflow connection of type ``apollo``. (templated)
    :return: ``{"sequence_ids": [...], "contact_ids": [...], "mode": ...}``.
    """

    template_fields: Sequence[str] = ("sequence_ids", "contact_ids", "mode", "apollo_conn_id")
    operator_extra_links = (ApolloSequenceLink(),)

    def __init__(
        self,
        *,
        sequence_ids: str | Sequence[str],
        contact_ids: Sequence[str] | Sequence[Mapping[str, Any]],
        mode: str = "remove",
        apollo_conn_id: str = ApolloHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(apollo_conn_id=apollo_conn_id, **kwargs)
        self.sequence_ids = sequence_ids
        self.contact_ids = contact_ids
        self.mode = mode

    def execute(self, context: Context) -> dict[str, Any]:
        sequence_ids = as_record_ids("sequence_ids", self.sequence_ids, "sequence")
        if not sequence_ids:
            raise ApolloConfigurationError("sequence_ids is empty; give at least one sequence id or record.")
        contact_ids = as_contact_ids("contact_ids", self.contact_ids)
        mode = choice("mode", self.mode, REMOVE_MODES)
        if not contact_ids:
            self.log.info("No contacts to take out of a sequence: nothing sent to Apollo.")
            return {"sequence_ids": sequence_ids, "contact_ids": [], "mode": mode}

        ApolloSequenceLink.persist(context, sequence_ids)
        for batch in chunked(contact_ids, SEQUENCE_BATCH_SIZE):
            self.hook.remove_contacts_from_sequences(sequence_ids, list(batch), mode=mode)
        self.log_summary(
            f"{mode}: {plural(len(contact_ids), 'contact')} in {plural(len(sequence_ids), 'sequence')}"
        )
        return {"sequence_ids": sequence_ids, "contact_ids": contact_ids, "mode": mode}
