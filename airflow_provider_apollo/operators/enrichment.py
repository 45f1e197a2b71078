"""Operators that enrich people and organizations (these spend Apollo credits)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_apollo._api.batching import require_domain
from airflow_provider_apollo._api.webhooks import public_https_url
from airflow_provider_apollo.exceptions import (
    ApolloBudgetExceededError,
    ApolloConfigurationError,
    ApolloError,
)
from airflow_provider_apollo.hooks._transport.credit_budget import CreditBudget
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators._base import ApolloBaseOperator, format_credits, plural
from airflow_provider_apollo.operators._output import checked_output_path, write_json_lines
from airflow_provider_apollo.operators._people import identity, match_details
from airflow_provider_apollo.operators._validation import (
    as_list,
    as_mapping_list,
    optional_int,
    unique,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

#: Every status a person's result can have.
PERSON_STATUSES = ("matched", "not_found", "existing_contact", "skipped_budget")
#: The XCom key under which results already paid for are kept when the task fails.
PARTIAL_RESULTS_KEY = "partial_results"

PersonKey = tuple[str, str]


class ApolloEnrichPeopleOperator(ApolloBaseOperator):
    """Enrich people (emails, phones, employment) through ``people/bulk_match``, credit-aware.

    One result per input, in input order::

        {"status": "matched" | "not_found" | "existing_contact" | "skipped_budget",
         "input": <the input person>, "person": <person or contact record> | None}

    Credits are spent only where needed: people who are already contacts of the team are
    looked up first for free and returned from their contact record (so re-running a DAG on
    the same people spends 0 credits), the same person given twice is enriched once, and
    ``max_credits`` stops before a batch whose worst case could exceed the budget.

    :param people: the people to enrich: people from ApolloSearchPeopleOperator (matched by
        their Apollo ``id``) or dicts with ``email``, ``hashed_email`` (MD5 or SHA-256 of the
        email), ``linkedin_url`` or ``first_name`` +
        ``last_name`` + ``organization_name``/``domain``. A list of lists (a mapped upstream
        task's output) is flattened. (templated)
    :param reveal_personal_emails: ask for personal emails too (never for GDPR regions).
    :param reveal_phone_number: ask for mobile numbers (+8 credits per number; Apollo delivers
        them later to ``webhook_url``, which is then required).
    :param webhook_url: where Apollo posts revealed phone numbers: a public ``https`` URL
        (``http://``, localhost and private addresses are refused before any request, since
        the credits would be spent for numbers that never arrive). (templated)
    :param skip_existing_contacts: return people who are already contacts from their contact
        record instead of paying to enrich them again.
    :param max_credits: the most credits this task may spend; ``None`` for no limit. (templated)
    :param on_budget_exhausted: ``"fail"`` (default): when people were left out for the budget,
        fail the task after keeping the results already paid for in XCom key
        ``partial_results``; ``"skip"``: succeed, those people marked ``skipped_budget``. (templated)
    :param output_path: write the results as JSON Lines to this local path or object-storage
        URL and return ``{"path", "count", <count per status>}`` instead. (templated)
    :param apollo_conn_id: Airflow connection of type ``apollo``. (templated)
    """

    template_fields: Sequence[str] = (
        "people",
        "webhook_url",
        "max_credits",
        "on_budget_exhausted",
        "output_path",
        "apollo_conn_id",
    )
    template_fields_renderers = {"people": "json"}

    def __init__(
        self,
        *,
        people: Sequence[Mapping[str, Any]],
        reveal_personal_emails: bool = False,
        reveal_phone_number: bool = False,
        webhook_url: str | None = None,
        skip_existing_contacts: bool = True,
        max_credits: int | None = None,
        on_budget_exhausted: str = "fail",
        output_path: str | None = None,
        apollo_conn_id: str = ApolloHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(apollo_conn_id=apollo_conn_id, **kwargs)
        self.people = people
        self.reveal_personal_emails = reveal_personal_emails
        self.reveal_phone_number = reveal_phone_number
        self.webhook_url = webhook_url
        self.skip_existing_contacts = skip_existing_contacts
        self.max_credits = max_credits
        self.on_budget_exhausted = on_budget_exhausted
        self.output_path = output_path
        self.declare_output_asset(output_path)

    def execute(self, context: Context) -> list[dict[str, Any]] | dict[str, Any]:
        people = as_mapping_list("people", self.people)
        details = [match_details(f"people[{index}]", person) for index, person in enumerate(people)]
        max_credits = optional_int("max_credits", self.max_credits, minimum=0)
        if self.on_budget_exhausted not in ("fail", "skip"):
            raise ApolloConfigurationError(
                f"on_budget_exhausted must be one of 'fail', 'skip'; got {self.on_budget_exhausted!r}. It is "
                'templated: a template such as "{{ params.on_budget_exhausted }}" must render to one '
                "of the two (check the rendered value in the task's Rendered Template tab)."
            )
        output_path = checked_output_path(self.output_path)
        webhook_url = None if self.webhook_url is None else public_https_url("webhook_url", self.webhook_url)
        if self.reveal_phone_number and webhook_url is None:
            raise ApolloConfigurationError(
                "reveal_phone_number=True needs webhook_url: Apollo delivers phone numbers later, "
                "to that URL. Set webhook_url or leave reveal_phone_number False."
            )

        keys = [identity(detail) for detail in details]
        details_by_key = dict(zip(reversed(keys), reversed(details), strict=True))  # first occurrence wins
        unique_keys = unique(keys)

        existing = self._existing_contacts(unique_keys, details_by_key)
        to_enrich = [key for key in unique_keys if key not in existing]
        enriched: dict[PersonKey, dict[str, Any] | None] = {}
        budget = CreditBudget(max_credits)
        try:
            self._enrich(to_enrich, details_by_key, enriched, budget, webhook_url)
        except ApolloError:
            if enriched:
                results = self._results(people, keys, existing, enriched)
                self._keep_partial_results(context, results, output_path)
                self.log.error(
                    "Apollo failed after %s had been enriched (%s); their results are in XCom "
                    "key %r of this task.",
                    plural(len(enriched), "person"),
                    budget.describe(),
                    PARTIAL_RESULTS_KEY,
                )
            raise

        results = self._results(people, keys, existing, enriched)
        counts = _count(results, PERSON_STATUSES)
        outcome = (
            f"Enriched {len(people)} {'person' if len(people) == 1 else 'people'}: "
            f"{counts['matched']} matched, {counts['not_found']} not found, "
            f"{plural(counts['existing_contact'], 'existing contact')}"
        )
        if counts["skipped_budget"]:
            outcome += f", {counts['skipped_budget']} skipped for the budget of {max_credits} credits"
        if len(unique_keys) < len(people):
            outcome += f" ({plural(len(people) - len(unique_keys), 'repeated input')} paid for once)"
        if budget.at_risk:
            outcome += f"; charged {budget.describe()}"
        self.log_summary(outcome)

        if counts["skipped_budget"] and self.on_budget_exhausted == "fail":
            self._keep_partial_results(context, results, output_path)
            raise ApolloBudgetExceededError(
                f"max_credits={max_credits} would be exceeded: {counts['skipped_budget']} of "
                f"{len(people)} people were not enriched ({counts['matched']} matched, "
                f"{counts['not_found']} not found, {counts['existing_contact']} existing contacts; "
                f"{budget.describe()} spent). The results already paid for "
                f"are in XCom key {PARTIAL_RESULTS_KEY!r} of this task. Raise max_credits, or set "
                "on_budget_exhausted='skip' to let the task succeed with them marked skipped_budget."
            )
        return _deliver(results, output_path, counts)

    def _existing_contacts(
        self, keys: Sequence[PersonKey], details_by_key: Mapping[PersonKey, Mapping[str, str]]
    ) -> dict[PersonKey, dict[str, Any]]:
        """The team's contact for each person who already is one (contact search: 0 credits)."""
        if not self.skip_existing_contacts or not keys:
            return {}
        found = self.hook.find_existing_contacts([details_by_key[key] for key in keys])
        return {key: contact for key, contact in zip(keys, found, strict=True) if contact}

    def _enrich(
        self,
        keys: Sequence[PersonKey],
        details_by_key: Mapping[PersonKey, Mapping[str, str]],
        enriched: dict[PersonKey, dict[str, Any] | None],
        budget: CreditBudget,
        webhook_url: str | None,
    ) -> None:
        """Enrich ``keys`` into ``enriched``, within ``budget``; people left out stay absent.

        The hook sends the batches (several in flight) only once their worst case fits in the
        budget, lost answers counted as charged. Results already paid for reach ``enriched``
        even when a batch fails, so the caller can keep them.
        """
        if not keys:
            return
        try:
            matches = self.hook.bulk_enrich_people(
                [details_by_key[key] for key in keys],
                reveal_personal_emails=self.reveal_personal_emails,
                reveal_phone_number=self.reveal_phone_number,
                webhook_url=webhook_url,
                budget=budget,
            )
        except ApolloError as error:
            known = error.partial_results or [None] * len(keys)
            unresolved = set(error.unresolved)
            enriched.update((key, known[i]) for i, key in enumerate(keys) if i not in unresolved)
            if not isinstance(error, ApolloBudgetExceededError):
                raise
            self.log.warning(
                "Budget of %s credits reached after spending %s: %s left out (marked skipped_budget).",
                format_credits(budget.limit or 0),
                budget.describe(),
                "1 person" if len(unresolved) == 1 else f"{len(unresolved)} people",
            )
            return
        enriched.update(zip(keys, matches, strict=True))

    @staticmethod
    def _results(
        people: Sequence[Mapping[str, Any]],
        keys: Sequence[PersonKey],
        existing: Mapping[PersonKey, dict[str, Any]],
        enriched: Mapping[PersonKey, dict[str, Any] | None],
    ) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for person, key in zip(people, keys, strict=True):
            record: dict[str, Any] | None
            if key in existing:
                status, record = "existing_contact", existing[key]
            elif key in enriched:
                record = enriched[key]
                status = "matched" if record else "not_found"
            else:
                status, record = "skipped_budget", None
            results.append({"status": status, "input": dict(person), "person": record or None})
        return results

    def _keep_partial_results(
        self, context: Context, results: list[dict[str, Any]], output_path: str | None
    ) -> None:
        counts = _count(results, PERSON_STATUSES)
        context["ti"].xcom_push(key=PARTIAL_RESULTS_KEY, value=_deliver(results, output_path, counts))


class ApolloEnrichOrganizationsOperator(ApolloBaseOperator):
    """Enrich organizations by domain through ``organizations/bulk_enrich`` (1 credit per match).

    One result per input, in input order::

        {"status": "matched" | "not_found", "input": <the input>, "organization": <record> | None}

    Domains are normalised (``https://www.Acme.com/about`` is ``acme.com``) and each distinct
    domain is enriched once.

    :param domains: domains or URLs, or organization records (their ``primary_domain``,
        ``domain`` or ``website_url`` is used). A list of lists is flattened. (templated)
    :param output_path: write the results as JSON Lines to this local path or object-storage
        URL and return ``{"path", "count", "matched", "not_found"}`` instead. (templated)
    :param apollo_conn_id: Airflow connection of type ``apollo``. (templated)
    """

    template_fields: Sequence[str] = ("domains", "output_path", "apollo_conn_id")

    def __init__(
        self,
        *,
        domains: Sequence[str] | Sequence[Mapping[str, Any]],
        output_path: str | None = None,
        apollo_conn_id: str = ApolloHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(apollo_conn_id=apollo_conn_id, **kwargs)
        self.domains = domains
        self.output_path = output_path
        self.declare_output_asset(output_path)

    def execute(self, context: Context) -> list[dict[str, Any]] | dict[str, Any]:
        inputs = as_list("domains", self.domains)
        output_path = checked_output_path(self.output_path)
        domains = [require_domain(f"domains[{index}]", _domain_of(item)) for index, item in enumerate(inputs)]
        distinct = unique(domains)

        organizations = self.hook.bulk_enrich_organizations(distinct) if distinct else []
        by_domain = dict(zip(distinct, organizations, strict=True))
        results = [
            {
                "status": "matched" if by_domain[domain] else "not_found",
                "input": item,
                "organization": by_domain[domain] or None,
            }
            for item, domain in zip(inputs, domains, strict=True)
        ]
        counts = _count(results, ("matched", "not_found"))
        self.log_summary(
            f"Enriched {plural(len(results), 'organization')}: {counts['matched']} matched, "
            f"{counts['not_found']} not found"
        )
        return _deliver(results, output_path, counts)


def _domain_of(item: Any) -> Any:
    """The domain of a domain string or an organization record."""
    if isinstance(item, Mapping):
        for key in ("primary_domain", "domain", "website_url"):
            if item.get(key):
                return item[key]
    return item


def _count(results: Sequence[Mapping[str, Any]], statuses: Sequence[str]) -> dict[str, int]:
    """How many results have each status (every status present, zeros included)."""
    counts = Counter(result["status"] for result in results)
    return {status: counts[status] for status in statuses}


def _deliver(
    results: list[dict[str, Any]], output_path: str | None, counts: Mapping[str, int]
) -> list[dict[str, Any]] | dict[str, Any]:
    """The results themselves, or written to ``output_path`` and summarised."""
    if output_path is None:
        return results
    path, count = write_json_lines(output_path, iter(results))
    return {"path": path, "count": count, **counts}
