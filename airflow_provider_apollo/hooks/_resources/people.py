"""People: API search (0 credits) and enrichment (``people/match``, ``people/bulk_match``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from airflow_provider_apollo._api.batching import (
    is_matched_person,
    mobile_phone_returned,
    realign_people,
    validate_person_details,
)
from airflow_provider_apollo._api.limits import MAX_PER_PAGE
from airflow_provider_apollo._api.webhooks import public_https_url
from airflow_provider_apollo.exceptions import ApolloConfigurationError, ApolloResponseError
from airflow_provider_apollo.hooks._answers import answer_object
from airflow_provider_apollo.hooks._resources.enrichment_batches import (
    BulkEnrichment,
    BulkEnrichmentCall,
    reported_credits,
)
from airflow_provider_apollo.hooks._resources.prospect_search import (
    PEOPLE_SEARCH,
    ProspectSearches,
)
from airflow_provider_apollo.hooks._transport.credit_budget import CreditBudget

#: What a returned mobile number costs on top of the match (Apollo's credit rules).
MOBILE_PHONE_CREDITS = 8


def person_credits(person: Mapping[str, Any]) -> float:
    """What Apollo charges for one matched person: 1, plus 8 when a mobile number came back.

    :param person: a matched person.
    """
    return 1 + (MOBILE_PHONE_CREDITS if mobile_phone_returned(person) else 0)


def reveal_options(
    reveal_personal_emails: bool, reveal_phone_number: bool, webhook_url: str | None
) -> dict[str, Any]:
    """The reveal flags of an enrichment request, checked before any credit is spent.

    :param reveal_personal_emails: ask for personal emails.
    :param reveal_phone_number: ask for phone numbers (delivered later, to ``webhook_url``).
    :param webhook_url: where Apollo posts phone numbers.
    """
    if reveal_phone_number and not webhook_url:
        raise ApolloConfigurationError(
            "reveal_phone_number=True needs webhook_url: Apollo delivers phone numbers later, "
            "to that webhook, not in the answer."
        )
    options: dict[str, Any] = {
        "reveal_personal_emails": bool(reveal_personal_emails),
        "reveal_phone_number": bool(reveal_phone_number),
    }
    if webhook_url:
        # Apollo delivers numbers only to a public HTTPS URL: anything else spends credits for nothing.
        options["webhook_url"] = public_https_url("webhook_url", webhook_url)
    return options


class PeopleAPI(BulkEnrichment, ProspectSearches):
    """People search and enrichment."""

    def search_people(
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = MAX_PER_PAGE
    ) -> dict[str, Any]:
        """One page of ``POST /mixed_people/api_search`` (0 credits).

        Unknown filter keys raise ``ApolloConfigurationError``; the legacy
        ``q_organization_domains`` is sent as ``q_organization_domains_list`` (``filters.py``).

        :param filters: people search filters (see ``filters.PEOPLE_SEARCH_FILTERS``).
        :param page: 1-based page number (Apollo shows at most 500 pages).
        :param per_page: 1..100.
        """
        return self._prospect_page(PEOPLE_SEARCH, filters, page, per_page)

    def iter_people(
        self,
        filters: Mapping[str, Any],
        *,
        max_records: int | None = None,
        per_page: int = MAX_PER_PAGE,
        first_page: int = 1,
    ) -> Iterator[dict[str, Any]]:
        """Every matching person, page after page, up to ``max_records`` and the 50,000 cap.

        People API search answers no email, phone number or full last name: enrich the
        people (by their ``id``) to get those.

        :param filters: people search filters.
        :param max_records: stop after this many people (``None``: all Apollo shows).
        :param per_page: 1..100 (100 reaches the 50,000 cap in 500 pages).
        :param first_page: the page to start from (to resume a search after its last full page).
        """
        return self._prospect_walk(PEOPLE_SEARCH, filters, max_records, per_page, first_page)

    def enrich_person(
        self,
        details: Mapping[str, Any],
        *,
        reveal_personal_emails: bool = False,
        reveal_phone_number: bool = False,
        webhook_url: str | None = None,
    ) -> dict[str, Any] | None:
        """``POST /people/match``; ``None`` when Apollo found no one (its 200 stub).

        1 credit per match (+8 when a mobile number is returned); 0 when nothing matched.

        :param details: who to match: ``id``, ``email``, ``linkedin_url`` or a name with
            ``domain``/``organization_name``.
        :param reveal_personal_emails: ask for personal emails (never for GDPR regions).
        :param reveal_phone_number: ask for phone numbers (needs ``webhook_url``).
        :param webhook_url: where Apollo posts phone numbers.
        """
        (detail,) = validate_person_details([details])
        options = reveal_options(reveal_personal_emails, reveal_phone_number, webhook_url)
        answer = answer_object(
            self.request("POST", "people/match", json={**detail, **options}), "POST people/match"
        )
        if "person" not in answer:
            raise ApolloResponseError(
                "Apollo's answer to POST people/match has no 'person' key.", endpoint="people/match"
            )
        person = answer["person"]
        if person is not None and not isinstance(person, dict):
            # Not Apollo's "no match" (a stub person without an id): a broken answer.
            raise ApolloResponseError(
                f"Apollo's answer to POST people/match has a 'person' that is not an object "
                f"({type(person).__name__}).",
                endpoint="people/match",
            )
        if person is None or not is_matched_person(person):
            self.log.info("people/match: no match — 0 credits — %s", self._quota_text("people/match"))
            return None
        reported = reported_credits(answer)
        self._add_credits(reported if reported is not None else person_credits(person))
        return dict(person)

    def bulk_enrich_people(
        self,
        details: Sequence[Mapping[str, Any]],
        *,
        reveal_personal_emails: bool = False,
        reveal_phone_number: bool = False,
        webhook_url: str | None = None,
        budget: CreditBudget | None = None,
    ) -> list[dict[str, Any] | None]:
        """Any number of people via ``POST /people/bulk_match`` in chunks of 10, several in flight.

        Returns one entry per input, same order: the matched person or ``None``.

        :param details: the people to match (each as for :meth:`enrich_person`).
        :param reveal_personal_emails: ask for personal emails.
        :param reveal_phone_number: ask for phone numbers (needs ``webhook_url``).
        :param webhook_url: where Apollo posts phone numbers.
        :param budget: credits this call may spend, counted at their worst case (1 per
            person, 9 with phone numbers), lost answers included.
        :raises ApolloBudgetExceededError: the budget covers no more people; the error's
            ``partial_results`` and ``unresolved`` say who was enriched and who was not.
        """
        spec = BulkEnrichmentCall(
            "people/bulk_match",
            request_key="details",
            answer_key="matches",
            options=reveal_options(reveal_personal_emails, reveal_phone_number, webhook_url),
            realign=realign_people,
            credits_of=lambda placed: sum(person_credits(p) for p in placed if p is not None),
            worst_per_item=1 + (MOBILE_PHONE_CREDITS if reveal_phone_number else 0),
        )
        return self._enrich_in_batches(spec, validate_person_details(details), budget)
