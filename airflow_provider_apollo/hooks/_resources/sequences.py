"""Sequences (emailer campaigns): find them, enrol contacts (idempotent), remove or stop them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from airflow_provider_apollo._api.limits import MAX_PER_PAGE
from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.hooks._answers import answer_object
from airflow_provider_apollo.hooks._arguments import require_id, require_ids
from airflow_provider_apollo.hooks._transport.api_call import endpoint_path
from airflow_provider_apollo.hooks._transport.pagination import PagedQuery, validate_per_page
from airflow_provider_apollo.hooks._transport.sync_client import ApolloSyncClient

SEQUENCE_REMOVAL_MODES = ("remove", "mark_as_finished", "stop")
#: The ``add_contact_ids`` switches that enrol contacts Apollo would otherwise skip (all off by default).
SEQUENCE_ENROLMENT_FLAGS = (
    "sequence_no_email",
    "sequence_unverified_email",
    "sequence_job_change",
    "sequence_active_in_other_campaigns",
    "sequence_finished_in_other_campaigns",
    "sequence_same_company_in_same_campaign",
)


class SequencesAPI(ApolloSyncClient):
    """Sequences: search, enrol, remove."""

    def iter_sequences(
        self, *, q_name: str | None = None, per_page: int = MAX_PER_PAGE
    ) -> Iterator[dict[str, Any]]:
        """``POST /emailer_campaigns/search``, every page.

        :param q_name: keep sequences whose name contains this text (Apollo's matching).
        :param per_page: 1..100.
        """
        query = PagedQuery(
            "POST",
            "emailer_campaigns/search",
            records_keys=("emailer_campaigns",),
            what="sequences",
            filters={"q_name": q_name} if q_name else None,
            per_page=validate_per_page(per_page),
        )
        return self._iter_pages(query)

    def add_contacts_to_sequence(
        self,
        sequence_id: str,
        contact_ids: Sequence[str],
        *,
        email_account_id: str,
        sequence_no_email: bool = False,
        sequence_unverified_email: bool = False,
        sequence_job_change: bool = False,
        sequence_active_in_other_campaigns: bool = False,
        sequence_finished_in_other_campaigns: bool = False,
        sequence_same_company_in_same_campaign: bool = False,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        """``POST /emailer_campaigns/{id}/add_contact_ids`` (re-adding is a no-op, so retried).

        :param sequence_id: the sequence (emailer campaign) id.
        :param contact_ids: contacts to enrol.
        :param email_account_id: the mailbox the sequence sends from (``send_email_from_email_account_id``).
        :param sequence_no_email: enrol contacts without an email too.
        :param sequence_unverified_email: enrol contacts with an unverified email too.
        :param sequence_job_change: enrol contacts with a recent job change too.
        :param sequence_active_in_other_campaigns: enrol contacts active in another sequence too.
        :param sequence_finished_in_other_campaigns: enrol contacts who finished another sequence too.
        :param sequence_same_company_in_same_campaign: enrol colleagues of contacts already in it too.
        :param user_id: the Apollo user performing the action.
        """
        flags = {
            "sequence_no_email": sequence_no_email,
            "sequence_unverified_email": sequence_unverified_email,
            "sequence_job_change": sequence_job_change,
            "sequence_active_in_other_campaigns": sequence_active_in_other_campaigns,
            "sequence_finished_in_other_campaigns": sequence_finished_in_other_campaigns,
            "sequence_same_company_in_same_campaign": sequence_same_company_in_same_campaign,
        }
        path = endpoint_path("emailer_campaigns/{sequence_id}/add_contact_ids", sequence_id=sequence_id)
        body: dict[str, Any] = {
            "emailer_campaign_id": require_id(sequence_id, "sequence_id"),
            "contact_ids": require_ids(contact_ids, "contact_ids"),
            "send_email_from_email_account_id": require_id(email_account_id, "email_account_id"),
            **{flag: bool(value) for flag, value in flags.items()},
        }
        if user_id:
            body["user_id"] = user_id
        return answer_object(self.request("POST", path, json=body), f"POST {path}")

    def remove_contacts_from_sequences(
        self, sequence_ids: Sequence[str], contact_ids: Sequence[str], *, mode: str = "remove"
    ) -> dict[str, Any]:
        """``POST /emailer_campaigns/remove_or_stop_contact_ids``; mode remove|mark_as_finished|stop.

        :param sequence_ids: sequences to act on.
        :param contact_ids: contacts to remove, finish or stop.
        :param mode: ``remove``, ``mark_as_finished`` or ``stop``.
        """
        if mode not in SEQUENCE_REMOVAL_MODES:
            raise ApolloConfigurationError(
                f"mode must be one of {', '.join(SEQUENCE_REMOVAL_MODES)}; got {mode!r}."
            )
        body = {
            "emailer_campaign_ids": require_ids(sequence_ids, "sequence_ids"),
            "contact_ids": require_ids(contact_ids, "contact_ids"),
            "mode": mode,
        }
        path = "emailer_campaigns/remove_or_stop_contact_ids"
        return answer_object(self.request("POST", path, json=body), f"POST {path}")
