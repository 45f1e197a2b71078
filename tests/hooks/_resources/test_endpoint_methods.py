"""Every endpoint method: HTTP method, path, body or query, and what it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests_mock

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.hooks.apollo import ApolloHook
from tests._support import BASE, CANARY_KEY


@dataclass
class Case:
    name: str
    call: Callable[[ApolloHook], Any]
    method: str
    path: str
    answer: Any
    body: dict[str, Any] | None = None
    query: dict[str, list[str]] = field(default_factory=dict)
    returns: Any = None


ONE_PAGE = {"pagination": {"page": 1, "per_page": 100, "total_entries": 1, "total_pages": 1}}

CASES = [
    Case(
        "search_people",
        lambda h: h.search_people({"person_titles": ["cto"]}, page=2, per_page=50),
        "POST",
        "mixed_people/api_search",
        {"total_entries": 1, "people": [{"id": "p1"}]},
        body={"person_titles": ["cto"], "page": 2, "per_page": 50},
        returns={"total_entries": 1, "people": [{"id": "p1"}]},
    ),
    Case(
        "search_people legacy",
        lambda h: h.search_people({}, legacy=True),
        "POST",
        "mixed_people/search",
        {"people": []},
        body={"page": 1, "per_page": 100},
        returns={"people": []},
    ),
    Case(
        "search_organizations",
        lambda h: h.search_organizations({"q_organization_name": "Acme"}),
        "POST",
        "mixed_companies/search",
        {"organizations": [{"id": "o1"}], "accounts": []},
        body={"q_organization_name": "Acme", "page": 1, "per_page": 100},
        returns={"organizations": [{"id": "o1"}], "accounts": []},
    ),
    Case(
        "enrich_person",
        lambda h: h.enrich_person({"email": "a@x.com"}),
        "POST",
        "people/match",
        {"person": {"id": "p1", "email": "a@x.com"}},
        body={"email": "a@x.com", "reveal_personal_emails": False, "reveal_phone_number": False},
        returns={"id": "p1", "email": "a@x.com"},
    ),
    Case(
        "enrich_person with phone",
        lambda h: h.enrich_person(
            {"id": "p1"}, reveal_phone_number=True, webhook_url="https://hooks.example/x"
        ),
        "POST",
        "people/match",
        {"person": {"id": "p1"}},
        body={
            "id": "p1",
            "reveal_personal_emails": False,
            "reveal_phone_number": True,
            "webhook_url": "https://hooks.example/x",
        },
        returns={"id": "p1"},
    ),
    Case(
        "enrich_person stub",
        lambda h: h.enrich_person({"email": "nobody@x.com"}),
        "POST",
        "people/match",
        {"person": {"id": None, "match_confidence": None}},
        body={"email": "nobody@x.com", "reveal_personal_emails": False, "reveal_phone_number": False},
        returns=None,
    ),
    Case(
        "enrich_organization",
        lambda h: h.enrich_organization("https://www.Acme.com/about"),
        "GET",
        "organizations/enrich",
        {"organization": {"id": "o1"}},
        query={"domain": ["acme.com"]},
        returns={"id": "o1"},
    ),
    Case(
        "enrich_organization miss",
        lambda h: h.enrich_organization("acme.com"),
        "GET",
        "organizations/enrich",
        {},
        query={"domain": ["acme.com"]},
        returns=None,
    ),
    Case(
        "iter_job_postings",
        lambda h: list(h.iter_job_postings("org1", per_page=500)),
        "GET",
        "organizations/org1/job_postings",
        {"organization_job_postings": [{"id": "j1"}]},
        query={"page": ["1"], "per_page": ["500"]},
        returns=[{"id": "j1"}],
    ),
    Case(
        "create_contact",
        lambda h: h.create_contact({"first_name": "Ada", "email": "ada@x.com"}),
        "POST",
        "contacts",
        {"contact": {"id": "c1"}},
        body={"first_name": "Ada", "email": "ada@x.com", "run_dedupe": True},
        returns={"id": "c1"},
    ),
    Case(
        "bulk_create_contacts",
        lambda h: h.bulk_create_contacts([{"email": "a@x.com"}, {"email": "b@x.com"}]),
        "POST",
        "contacts/bulk_create",
        {
            "created_contacts": [{"id": "c2", "email": "b@x.com"}],
            "existing_contacts": [{"id": "c1", "email": "a@x.com"}],
        },
        body={"contacts": [{"email": "a@x.com"}, {"email": "b@x.com"}], "run_dedupe": True},
        returns=[{"id": "c1", "email": "a@x.com"}, {"id": "c2", "email": "b@x.com"}],
    ),
    Case(
        "get_contact",
        lambda h: h.get_contact("c1"),
        "GET",
        "contacts/c1",
        {"contact": {"id": "c1"}},
        returns={"id": "c1"},
    ),
    Case(
        "update_contact",
        lambda h: h.update_contact("c1", {"title": "CTO"}),
        "PATCH",
        "contacts/c1",
        {"contact": {"id": "c1", "title": "CTO"}},
        body={"title": "CTO"},
        returns={"id": "c1", "title": "CTO"},
    ),
    Case(
        "bulk_update_contacts",
        lambda h: h.bulk_update_contacts([{"id": "c1", "title": "CTO"}]),
        "POST",
        "contacts/bulk_update",
        {"contacts": [{"id": "c1", "title": "CTO"}]},
        body={"contact_attributes": [{"id": "c1", "title": "CTO"}]},
        returns=[{"id": "c1", "title": "CTO"}],
    ),
    Case(
        "search_contacts",
        lambda h: h.search_contacts({"q_keywords": "ada"}, per_page=10),
        "POST",
        "contacts/search",
        {"contacts": [], **ONE_PAGE},
        body={"q_keywords": "ada", "page": 1, "per_page": 10},
        returns={"contacts": [], **ONE_PAGE},
    ),
    Case(
        "iter_contacts",
        lambda h: list(h.iter_contacts({"contact_stage_ids": ["s1"]})),
        "POST",
        "contacts/search",
        {"contacts": [{"id": "c1"}], **ONE_PAGE},
        body={"contact_stage_ids": ["s1"], "page": 1, "per_page": 100},
        returns=[{"id": "c1"}],
    ),
    Case(
        "list_contact_stages",
        lambda h: h.list_contact_stages(),
        "GET",
        "contact_stages",
        {"contact_stages": [{"id": "s1", "name": "Cold"}]},
        returns=[{"id": "s1", "name": "Cold"}],
    ),
    Case(
        "update_contact_stages",
        lambda h: h.update_contact_stages(["c1", "c2"], "s1"),
        "POST",
        "contacts/update_stages",
        {"contacts": []},
        body={"contact_ids": ["c1", "c2"], "contact_stage_id": "s1"},
        returns={"contacts": []},
    ),
    Case(
        "update_contact_owners",
        lambda h: h.update_contact_owners(["c1"], "u1"),
        "POST",
        "contacts/update_owners",
        {"contacts": []},
        body={"contact_ids": ["c1"], "owner_id": "u1"},
        returns={"contacts": []},
    ),
    Case(
        "create_account",
        lambda h: h.create_account({"name": "Acme", "domain": "acme.com"}, run_dedupe=False),
        "POST",
        "accounts",
        {"account": {"id": "a1"}},
        body={"name": "Acme", "domain": "acme.com", "run_dedupe": False},
        returns={"id": "a1"},
    ),
    Case(
        "bulk_create_accounts",
        lambda h: h.bulk_create_accounts([{"name": "Acme", "domain": "acme.com"}, {"name": "Initech"}]),
        "POST",
        "accounts/bulk_create",
        {"created_accounts": [{"id": "a2", "name": "Initech"}, {"id": "a1", "domain": "acme.com"}]},
        body={"accounts": [{"name": "Acme", "domain": "acme.com"}, {"name": "Initech"}], "run_dedupe": True},
        returns=[{"id": "a1", "domain": "acme.com"}, {"id": "a2", "name": "Initech"}],
    ),
    Case(
        "get_account",
        lambda h: h.get_account("a1"),
        "GET",
        "accounts/a1",
        {"account": {"id": "a1"}},
        returns={"id": "a1"},
    ),
    Case(
        "update_account",
        lambda h: h.update_account("a1", {"name": "Acme Inc"}),
        "PATCH",
        "accounts/a1",
        {"account": {"id": "a1"}},
        body={"name": "Acme Inc"},
        returns={"id": "a1"},
    ),
    Case(
        "bulk_update_accounts",
        lambda h: h.bulk_update_accounts([{"id": "a1", "name": "Acme Inc"}]),
        "POST",
        "accounts/bulk_update",
        {"accounts": [{"id": "a1"}]},
        body={"account_attributes": [{"id": "a1", "name": "Acme Inc"}]},
        returns=[{"id": "a1"}],
    ),
    Case(
        "search_accounts",
        lambda h: h.search_accounts({"q_organization_name": "Acme"}),
        "POST",
        "accounts/search",
        {"accounts": [], **ONE_PAGE},
        body={"q_organization_name": "Acme", "page": 1, "per_page": 100},
        returns={"accounts": [], **ONE_PAGE},
    ),
    Case(
        "iter_accounts",
        lambda h: list(h.iter_accounts({"account_stage_ids": ["s1"]})),
        "POST",
        "accounts/search",
        {"accounts": [{"id": "a1"}], **ONE_PAGE},
        body={"account_stage_ids": ["s1"], "page": 1, "per_page": 100},
        returns=[{"id": "a1"}],
    ),
    Case(
        "list_account_stages",
        lambda h: h.list_account_stages(),
        "GET",
        "account_stages",
        {"account_stages": [{"id": "s1"}]},
        returns=[{"id": "s1"}],
    ),
    Case(
        "update_account_owners",
        lambda h: h.update_account_owners(["a1"], "u1"),
        "POST",
        "accounts/update_owners",
        {"accounts": []},
        body={"account_ids": ["a1"], "owner_id": "u1"},
        returns={"accounts": []},
    ),
    Case(
        "iter_sequences",
        lambda h: list(h.iter_sequences(q_name="Outreach")),
        "POST",
        "emailer_campaigns/search",
        {"emailer_campaigns": [{"id": "s1"}], **ONE_PAGE},
        body={"q_name": "Outreach", "page": 1, "per_page": 100},
        returns=[{"id": "s1"}],
    ),
    Case(
        "add_contacts_to_sequence",
        lambda h: h.add_contacts_to_sequence("s1", ["c1"], email_account_id="e1", sequence_no_email=True),
        "POST",
        "emailer_campaigns/s1/add_contact_ids",
        {"contacts": [{"id": "c1"}], "emailer_campaign": {"id": "s1"}},
        body={
            "emailer_campaign_id": "s1",
            "contact_ids": ["c1"],
            "send_email_from_email_account_id": "e1",
            "sequence_no_email": True,
            "sequence_unverified_email": False,
            "sequence_job_change": False,
            "sequence_active_in_other_campaigns": False,
            "sequence_finished_in_other_campaigns": False,
            "sequence_same_company_in_same_campaign": False,
        },
        returns={"contacts": [{"id": "c1"}], "emailer_campaign": {"id": "s1"}},
    ),
    Case(
        "remove_contacts_from_sequences",
        lambda h: h.remove_contacts_from_sequences(["s1"], ["c1"], mode="stop"),
        "POST",
        "emailer_campaigns/remove_or_stop_contact_ids",
        {"contacts": []},
        body={"emailer_campaign_ids": ["s1"], "contact_ids": ["c1"], "mode": "stop"},
        returns={"contacts": []},
    ),
    Case(
        "create_task",
        lambda h: h.create_task(
            {"contact_id": "c1", "type": "call", "priority": "low", "due_at": "2026-01-01", "user_id": "u1"}
        ),
        "POST",
        "tasks",
        {"task": {"id": "t1"}},
        # Apollo requires status: the hook fills in "scheduled" when the task has none.
        body={
            "contact_id": "c1",
            "type": "call",
            "priority": "low",
            "due_at": "2026-01-01",
            "user_id": "u1",
            "status": "scheduled",
        },
        returns={"id": "t1"},
    ),
    Case(
        "bulk_create_tasks",
        lambda h: h.bulk_create_tasks(
            ["c1", "c2"], type="call", priority="high", due_at="2026-01-01T09:00:00Z", note="hi", user_id="u1"
        ),
        "POST",
        "tasks/bulk_create",
        True,
        body={
            "contact_ids": ["c1", "c2"],
            "type": "call",
            "priority": "high",
            "due_at": "2026-01-01T09:00:00Z",
            "status": "scheduled",
            "user_id": "u1",
            "note": "hi",
        },
        returns=True,
    ),
    Case(
        "search_tasks",
        lambda h: h.search_tasks({"contact_ids": ["c1"], "task_types": ["call"]}),
        "POST",
        "tasks/search",
        {"tasks": [{"id": "t1", "contact_id": "c1", "type": "contact_call"}, {"id": "t2"}], **ONE_PAGE},
        # Apollo documents no task filter: they are checked on the answer, not sent.
        body={"page": 1, "per_page": 100},
        returns={"tasks": [{"id": "t1", "contact_id": "c1", "type": "contact_call"}], **ONE_PAGE},
    ),
    Case(
        "iter_tasks",
        lambda h: list(h.iter_tasks({"statuses": ["scheduled"]})),
        "POST",
        "tasks/search",
        {"tasks": [{"id": "t1", "status": "scheduled"}, {"id": "t2", "status": "completed"}], **ONE_PAGE},
        body={"page": 1, "per_page": 100},
        returns=[{"id": "t1", "status": "scheduled"}],
    ),
    Case(
        "create_opportunity",
        lambda h: h.create_opportunity({"name": "Deal", "amount": 1000}),
        "POST",
        "opportunities",
        {"opportunity": {"id": "o1"}},
        body={"name": "Deal", "amount": 1000},
        returns={"id": "o1"},
    ),
    Case(
        "get_opportunity",
        lambda h: h.get_opportunity("o1"),
        "GET",
        "opportunities/o1",
        {"opportunity": {"id": "o1"}},
        returns={"id": "o1"},
    ),
    Case(
        "update_opportunity",
        lambda h: h.update_opportunity("o1", {"amount": 5}),
        "PATCH",
        "opportunities/o1",
        {"opportunity": {"id": "o1", "amount": 5}},
        body={"amount": 5},
        returns={"id": "o1", "amount": 5},
    ),
    Case(
        "iter_opportunities",
        lambda h: list(h.iter_opportunities(per_page=25)),
        "GET",
        "opportunities/search",
        {"opportunities": [{"id": "o1"}], **ONE_PAGE},
        query={"page": ["1"], "per_page": ["25"]},
        returns=[{"id": "o1"}],
    ),
    Case(
        "list_opportunity_stages",
        lambda h: h.list_opportunity_stages(),
        "GET",
        "opportunity_stages",
        {"opportunity_stages": [{"id": "st1"}]},
        returns=[{"id": "st1"}],
    ),
    Case(
        "list_users",
        lambda h: h.list_users(),
        "GET",
        "users/search",
        {"users": [{"id": "u1"}], **ONE_PAGE},
        query={"page": ["1"], "per_page": ["100"]},
        returns=[{"id": "u1"}],
    ),
    Case(
        "list_email_accounts",
        lambda h: h.list_email_accounts(),
        "GET",
        "email_accounts",
        {"email_accounts": [{"id": "e1"}]},
        returns=[{"id": "e1"}],
    ),
    Case("list_labels", lambda h: h.list_labels(), "GET", "labels", [{"id": "l1"}], returns=[{"id": "l1"}]),
    Case(
        "list_custom_fields",
        lambda h: h.list_custom_fields(),
        "GET",
        "fields",
        {"fields": [{"id": "f1"}]},
        returns=[{"id": "f1"}],
    ),
    Case(
        "get_api_usage_stats",
        lambda h: h.get_api_usage_stats(),
        "POST",
        "usage_stats/api_usage_stats",
        {'["api/v1/contacts", "search"]': {"minute": {"limit": 200}}},
        returns={'["api/v1/contacts", "search"]': {"minute": {"limit": 200}}},
    ),
    Case(
        "request passthrough",
        lambda h: h.request("GET", "/api/v1/calls/search", params={"page": 1}),
        "GET",
        "calls/search",
        {"calls": []},
        query={"page": ["1"]},
        returns={"calls": []},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_endpoint(hook: ApolloHook, api: requests_mock.Mocker, case: Case) -> None:
    api.register_uri(case.method, f"{BASE}/{case.path}", json=case.answer)
    assert case.call(hook) == case.returns
    assert api.call_count == 1
    sent = api.last_request
    assert sent.method == case.method
    assert sent.path == f"/api/v1/{case.path}".lower()
    assert sent.qs == case.query
    if case.body is None:
        assert not sent.body
    else:
        assert sent.json() == case.body
    assert sent.headers["X-Api-Key"] == CANARY_KEY
    assert "api_key" not in sent.url


def test_custom_fields_fall_back_to_typed_custom_fields(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.get(f"{BASE}/fields", status_code=404, text="Not Found")
    api.get(f"{BASE}/typed_custom_fields", json={"typed_custom_fields": [{"id": "f1"}]})
    assert hook.list_custom_fields() == [{"id": "f1"}]


def test_ids_are_escaped_in_paths(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.get(f"{BASE}/contacts/a%2Fb", json={"contact": {"id": "a/b"}})
    assert hook.get_contact("a/b") == {"id": "a/b"}


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda h: h.get_contact(""), "contact_id"),
        (lambda h: h.update_contact_stages([], "s1"), "contact_ids"),
        (lambda h: h.update_contact_owners("c1", "u1"), "contact_ids"),
        (lambda h: h.bulk_update_contacts([{"title": "x"}]), r"contacts\[0\].*'id'"),
        (lambda h: h.remove_contacts_from_sequences(["s1"], ["c1"], mode="pause"), "mode"),
        (lambda h: h.bulk_create_tasks(["c1"], type="meeting", priority="high", due_at="x"), "type"),
        (lambda h: h.bulk_create_tasks(["c1"], type="call", priority="urgent", due_at="x"), "priority"),
        (lambda h: h.enrich_person({"first_name": "Ada"}), r"details\[0\]"),
        (lambda h: h.enrich_person({"email": "a@x.com"}, reveal_phone_number=True), "webhook_url"),
        (lambda h: h.enrich_organization("not a domain"), r"domains\[0\]"),
        (lambda h: h.search_people({}, per_page=101), "per_page"),
        (lambda h: h.search_people({}, page=0), "page"),
        (lambda h: list(h.iter_job_postings("o1", per_page=20_000)), "per_page"),
        (lambda h: list(h.iter_contacts({}, max_records=-1)), "max_records"),
        (lambda h: h.request("GET", "https://evil.example/api/v1/labels"), "relative"),
    ],
)
def test_bad_arguments_fail_before_any_request(
    hook: ApolloHook, api: requests_mock.Mocker, call: Callable[[ApolloHook], Any], match: str
) -> None:
    with pytest.raises(ApolloConfigurationError, match=match):
        call(hook)
    assert api.call_count == 0
