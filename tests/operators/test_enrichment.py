from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_apollo.exceptions import (
    ApolloBudgetExceededError,
    ApolloConfigurationError,
    ApolloRateLimitError,
)
from airflow_provider_apollo.hooks._transport.connection import ApolloConnectionConfig
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators.enrichment import (
    ApolloEnrichOrganizationsOperator,
    ApolloEnrichPeopleOperator,
)


class FakeApolloPeople:
    """Apollo's enrichment as the hook double sees it: who exists, who is a contact, what it costs.

    ``bulk_enrich_people`` runs the real hook's batching and budget code (one batch in flight,
    so batches arrive in order); only the ``people/bulk_match`` request itself is faked here.
    """

    def __init__(self, hook: MagicMock, known_emails: Sequence[str], known_ids: Sequence[str] = ()) -> None:
        self.hook = hook
        self.known_emails = set(known_emails)
        self.known_ids = set(known_ids)
        self.contacts: dict[str, dict[str, Any]] = {}
        self.sent: list[list[dict[str, Any]]] = []  # the details of each bulk_match request
        self.options: list[dict[str, Any]] = []  # the other members of each request
        self.fail_on_request: int | None = None  # 1-based request number that fails
        real = ApolloHook()
        real.__dict__["config"] = ApolloConnectionConfig(
            conn_id="fake", api_key="fake-key", base_url="https://api.apollo.io/api/v1", max_concurrency=1
        )
        real.request = self._bulk_match  # type: ignore[method-assign]
        hook.bulk_enrich_people.side_effect = real.bulk_enrich_people
        hook.find_existing_contacts.side_effect = self.find_existing_contacts

    @property
    def batches(self) -> list[int]:
        """How many people each request carried."""
        return [len(details) for details in self.sent]

    def _person(self, details: Mapping[str, Any]) -> dict[str, Any] | None:
        if details.get("id") in self.known_ids:
            return {"id": details["id"], "email": f"{details['id']}@acme.example"}
        if details.get("email") in self.known_emails:
            return {"id": f"person-{details['email']}", "email": details["email"]}
        return None

    def _bulk_match(self, method: str, path: str, *, json: Mapping[str, Any], **_: Any) -> dict[str, Any]:
        assert (method, path) == ("POST", "people/bulk_match")
        details = list(json["details"])
        assert len(details) <= 10, "Apollo takes at most 10 people per bulk_match"
        self.sent.append(details)
        self.options.append({key: value for key, value in json.items() if key != "details"})
        self.hook.requests_sent += 1
        if self.fail_on_request == len(self.sent):
            raise ApolloRateLimitError("Daily quota of people/bulk_match used up.", window="day")
        matches = [self._person(detail) for detail in details]
        charged = (9 if json.get("reveal_phone_number") else 1) * sum(1 for match in matches if match)
        self.hook.credits_spent += charged
        return {"matches": matches, "credits_consumed": charged}

    def find_existing_contacts(self, people: Sequence[Mapping[str, Any]]) -> list[Any]:
        self.hook.requests_sent += 1
        return [self.contacts.get(person.get("email", "")) for person in people]

    def make_contacts(self, results: Sequence[Mapping[str, Any]]) -> None:
        for result in results:
            if result["status"] == "matched":
                email = result["input"]["email"]
                self.contacts[email] = {"id": f"contact-{email}", "email": email}


def _emails(count: int, prefix: str = "p") -> list[dict[str, str]]:
    return [{"email": f"{prefix}{i}@acme.example"} for i in range(count)]


def test_results_are_aligned_with_inputs_and_say_what_happened(hook, attach, context, capsys):
    fake = FakeApolloPeople(hook, known_emails=["ann@acme.example"], known_ids=["5f1"])
    fake.contacts["bob@acme.example"] = {"id": "c-bob", "email": "bob@acme.example"}
    searched = {
        "id": "5f1",
        "first_name": "Cy",
        "organization": {"name": "Acme", "primary_domain": "acme.example"},
    }
    people = [
        {"email": "ann@acme.example"},
        searched,
        {"email": "nobody@acme.example"},
        {"email": "bob@acme.example"},
    ]

    result = attach(ApolloEnrichPeopleOperator(task_id="e", people=people)).execute(context)

    assert [r["status"] for r in result] == ["matched", "matched", "not_found", "existing_contact"]
    assert [r["input"] for r in result] == people
    assert result[0]["person"]["email"] == "ann@acme.example"
    assert result[2]["person"] is None
    assert result[3]["person"] == {"id": "c-bob", "email": "bob@acme.example"}
    # The existing contact was looked up (free) and never sent to enrichment.
    sent = [d for details in fake.sent for d in details]
    assert {"email": "bob@acme.example"} not in sent
    # A person from the search is matched by Apollo id, with the company from its nested organization.
    assert {"id": "5f1", "first_name": "Cy", "organization_name": "Acme", "domain": "acme.example"} in sent
    assert (
        "Enriched 4 people: 2 matched, 1 not found, 1 existing contact; 2 credits spent in 2 calls."
        in capsys.readouterr().out
    )


def test_second_run_on_the_same_people_spends_no_credit(hook, attach, context):
    people = _emails(12)
    fake = FakeApolloPeople(hook, known_emails=[p["email"] for p in people[:9]])

    first = attach(ApolloEnrichPeopleOperator(task_id="e", people=people)).execute(context)
    fake.make_contacts(first)  # what ApolloCreateContactsOperator does next
    credits_after_first_run = hook.credits_spent
    second = attach(ApolloEnrichPeopleOperator(task_id="e", people=people)).execute(context)

    assert credits_after_first_run == 9
    assert hook.credits_spent == 9  # nothing more
    # The three Apollo does not know are tried again: not found costs nothing.
    assert [r["status"] for r in second] == ["existing_contact"] * 9 + ["not_found"] * 3
    assert fake.batches == [10, 2, 3]


def test_skip_existing_contacts_false_enriches_everyone(hook, attach, context):
    fake = FakeApolloPeople(hook, known_emails=["a@acme.example"])
    fake.contacts["a@acme.example"] = {"id": "c1"}

    result = attach(
        ApolloEnrichPeopleOperator(
            task_id="e", people=[{"email": "a@acme.example"}], skip_existing_contacts=False
        )
    ).execute(context)

    assert result[0]["status"] == "matched"
    hook.find_existing_contacts.assert_not_called()


def test_the_same_person_twice_is_paid_for_once(hook, attach, context, capsys):
    fake = FakeApolloPeople(hook, known_emails=["ann@acme.example"], known_ids=["5f1"])
    people = [
        {"email": "ann@acme.example"},
        {"id": "5f1"},
        {"email": "ANN@acme.example"},
        {"id": "5f1", "first_name": "Cy"},
    ]

    result = attach(ApolloEnrichPeopleOperator(task_id="e", people=people)).execute(context)

    assert [r["status"] for r in result] == ["matched"] * 4
    assert fake.sent == [[{"email": "ann@acme.example"}, {"id": "5f1"}]]
    assert hook.credits_spent == 2
    assert "(2 repeated inputs paid for once)" in capsys.readouterr().out


def test_budget_shrinks_the_last_batch_then_skips_the_rest(hook, attach, context):
    people = _emails(40)
    fake = FakeApolloPeople(hook, known_emails=[p["email"] for p in people])

    result = attach(
        ApolloEnrichPeopleOperator(task_id="e", people=people, max_credits=25, on_budget_exhausted="skip")
    ).execute(context)

    assert fake.batches == [10, 10, 5]
    assert hook.credits_spent == 25
    assert [r["status"] for r in result] == ["matched"] * 25 + ["skipped_budget"] * 15
    assert all(r["person"] is None for r in result[25:])


def test_budget_is_reread_from_credits_actually_spent(hook, attach, context):
    """People not found cost nothing, so the budget stretches further than its worst case."""
    people = _emails(30)
    fake = FakeApolloPeople(hook, known_emails=[p["email"] for p in people[::2]])  # half are unknown

    result = attach(
        ApolloEnrichPeopleOperator(task_id="e", people=people, max_credits=10, on_budget_exhausted="skip")
    ).execute(context)

    assert hook.credits_spent <= 10
    assert sum(fake.batches) > 10
    assert sum(r["status"] == "matched" for r in result) == hook.credits_spent


def test_phone_reveal_budget_counts_nine_credits_per_person(hook, attach, context):
    people = _emails(5)
    fake = FakeApolloPeople(hook, known_emails=[p["email"] for p in people])

    result = attach(
        ApolloEnrichPeopleOperator(
            task_id="e",
            people=people,
            reveal_phone_number=True,
            webhook_url="https://hooks.example.com/apollo",
            max_credits=20,
            on_budget_exhausted="skip",
        )
    ).execute(context)

    assert fake.batches == [2]
    assert fake.options == [
        {
            "reveal_personal_emails": False,
            "reveal_phone_number": True,
            "webhook_url": "https://hooks.example.com/apollo",
        }
    ]
    assert [r["status"] for r in result] == ["matched"] * 2 + ["skipped_budget"] * 3


def test_budget_exhausted_fails_after_keeping_what_was_paid_for(hook, attach, context):
    people = _emails(15)
    FakeApolloPeople(hook, known_emails=[p["email"] for p in people])

    op = attach(ApolloEnrichPeopleOperator(task_id="e", people=people, max_credits=12))
    with pytest.raises(ApolloBudgetExceededError) as raised:
        op.execute(context)

    message = str(raised.value)
    assert "max_credits=12" in message
    assert "3 of 15 people were not enriched (12 matched" in message
    assert "partial_results" in message
    context["ti"].xcom_push.assert_called_once()
    pushed = context["ti"].xcom_push.call_args.kwargs
    assert pushed["key"] == "partial_results"
    assert [r["status"] for r in pushed["value"]] == ["matched"] * 12 + ["skipped_budget"] * 3


def test_an_apollo_failure_midway_keeps_the_batches_already_paid_for(hook, attach, context):
    people = _emails(25)
    fake = FakeApolloPeople(hook, known_emails=[p["email"] for p in people])
    fake.fail_on_request = 2
    with pytest.raises(ApolloRateLimitError):
        attach(ApolloEnrichPeopleOperator(task_id="e", people=people)).execute(context)

    pushed = context["ti"].xcom_push.call_args.kwargs
    assert pushed["key"] == "partial_results"
    assert [r["status"] for r in pushed["value"]] == ["matched"] * 10 + ["skipped_budget"] * 15


def test_budget_zero_sends_nothing(hook, attach, context):
    fake = FakeApolloPeople(hook, known_emails=[])
    result = attach(
        ApolloEnrichPeopleOperator(task_id="e", people=_emails(3), max_credits=0, on_budget_exhausted="skip")
    ).execute(context)
    assert [r["status"] for r in result] == ["skipped_budget"] * 3
    assert fake.sent == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reveal_phone_number": True}, "reveal_phone_number=True needs webhook_url"),
        (
            {"reveal_phone_number": True, "webhook_url": "hooks.example.com"},
            "webhook_url must be a public HTTPS URL",
        ),
        ({"max_credits": -1}, "max_credits must be None or an integer >= 0"),
        ({"on_budget_exhausted": "ignore"}, "on_budget_exhausted must be one of 'fail', 'skip'"),
        ({"people": [{"email": "a@acme.example"}, "bob@acme.example"]}, r"people\[1\] must be a mapping"),
        ({"people": [{"first_name": "Ann", "last_name": "Lee"}]}, r"people\[0\] cannot be matched"),
        ({"people": None}, "people is required"),
    ],
)
def test_arguments_are_checked_before_any_call(hook, attach, context, kwargs, message):
    arguments = {"people": _emails(2), **kwargs}
    op = attach(ApolloEnrichPeopleOperator(task_id="e", **arguments))
    with pytest.raises(ApolloConfigurationError, match=message):
        op.execute(context)
    assert hook.method_calls == []


def test_name_and_company_is_enough_to_match(hook, attach, context):
    FakeApolloPeople(hook, known_emails=[])
    person = {"first_name": "Ann", "last_name": "Lee", "organization_name": "Acme", "title": "CTO"}
    attach(ApolloEnrichPeopleOperator(task_id="e", people=[person])).execute(context)
    assert hook.bulk_enrich_people.call_args.args[0] == [
        {"first_name": "Ann", "last_name": "Lee", "organization_name": "Acme"}
    ]


def test_no_people_means_no_request(hook, attach, context):
    assert attach(ApolloEnrichPeopleOperator(task_id="e", people=[])).execute(context) == []
    assert hook.method_calls == []


def test_output_path_gets_the_results_and_xcom_the_counts(hook, attach, context, tmp_path):
    FakeApolloPeople(hook, known_emails=["p0@acme.example"])
    target = tmp_path / "enriched.jsonl"

    result = attach(
        ApolloEnrichPeopleOperator(task_id="e", people=_emails(2), output_path=str(target))
    ).execute(context)

    assert result == {
        "path": str(target),
        "count": 2,
        "matched": 1,
        "not_found": 1,
        "existing_contact": 0,
        "skipped_budget": 0,
    }
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [line["status"] for line in lines] == ["matched", "not_found"]


def test_people_and_webhook_url_are_templated():
    op = ApolloEnrichPeopleOperator(
        task_id="e",
        people=[{"email": "{{ params.email }}"}],
        webhook_url="https://hooks.example.com/{{ run_id }}",
        max_credits="{{ params.budget }}",
    )
    op.render_template_fields({"params": {"email": "ann@acme.example", "budget": 50}, "run_id": "r1"})
    assert op.people == [{"email": "ann@acme.example"}]
    assert op.webhook_url == "https://hooks.example.com/r1"
    assert op.max_credits == "50"


# --------------------------------------------------------------------------- organizations


def test_organizations_are_normalised_deduplicated_and_aligned(hook, attach, context, capsys):
    def bulk_enrich(domains: Sequence[str]) -> list[Any]:
        hook.credits_spent += 1
        hook.requests_sent += 1
        return [{"id": "o1", "primary_domain": d} if d == "acme.com" else None for d in domains]

    hook.bulk_enrich_organizations.side_effect = bulk_enrich
    inputs = ["https://www.Acme.com/about", "nowhere.example", "acme.com", {"primary_domain": "acme.com"}]

    result = attach(ApolloEnrichOrganizationsOperator(task_id="o", domains=inputs)).execute(context)

    hook.bulk_enrich_organizations.assert_called_once_with(["acme.com", "nowhere.example"])
    assert [r["status"] for r in result] == ["matched", "not_found", "matched", "matched"]
    assert [r["input"] for r in result] == inputs
    assert result[1]["organization"] is None
    assert (
        "Enriched 4 organizations: 3 matched, 1 not found; 1 credit spent in 1 call."
        in capsys.readouterr().out
    )


@pytest.mark.parametrize("bad", ["", "   ", "localhost", "https://", 42])
def test_unusable_domains_are_refused_before_any_call(hook, attach, context, bad):
    op = attach(ApolloEnrichOrganizationsOperator(task_id="o", domains=["acme.com", bad]))
    with pytest.raises(ApolloConfigurationError, match=r"domains\[1\]"):
        op.execute(context)
    assert hook.method_calls == []


def test_organization_output_path(hook, attach, context, tmp_path):
    hook.bulk_enrich_organizations.return_value = [None]
    target = tmp_path / "orgs.jsonl"
    result = attach(
        ApolloEnrichOrganizationsOperator(task_id="o", domains="acme.com", output_path=str(target))
    ).execute(context)
    assert result == {"path": str(target), "count": 1, "matched": 0, "not_found": 1}


def test_on_budget_exhausted_is_templated_and_its_error_says_so(hook, attach, context):
    """A DAG param chooses fail or skip per run; a value that renders wrong names the template."""
    FakeApolloPeople(hook, known_emails=[])
    op = attach(
        ApolloEnrichPeopleOperator(
            task_id="e", people=_emails(3), max_credits=0, on_budget_exhausted="{{ params.when_spent }}"
        )
    )
    op.render_template_fields({"params": {"when_spent": "skip"}})
    assert [r["status"] for r in op.execute(context)] == ["skipped_budget"] * 3

    op = attach(
        ApolloEnrichPeopleOperator(
            task_id="e", people=_emails(3), max_credits=0, on_budget_exhausted="{{ params.when_spent }}"
        )
    )
    op.render_template_fields({"params": {"when_spent": "Skip it"}})
    with pytest.raises(ApolloConfigurationError, match=r"got 'Skip it'\. It is templated"):
        op.execute(context)
