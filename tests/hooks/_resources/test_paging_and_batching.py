"""Pagination stop rules, the 50,000 cap, bulk batching and realignment, filters, existing contacts."""

from __future__ import annotations

import logging
import random
from typing import Any

import pytest
import requests_mock

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.hooks.apollo import ApolloHook
from tests._support import BASE


def people_page(start: int, count: int, total: int | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {"people": [{"id": f"p{start + i}"} for i in range(count)]}
    if total is not None:
        page["total_entries"] = total
    return page


def contacts_page(contacts: list[dict[str, Any]], page: int, total_pages: int) -> dict[str, Any]:
    return {
        "contacts": contacts,
        "pagination": {"page": page, "per_page": 100, "total_entries": None, "total_pages": total_pages},
    }


# --------------------------------------------------------------------------- pagination
def test_people_stop_at_total_entries(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.post(
        f"{BASE}/mixed_people/api_search",
        [
            {"json": people_page(0, 100, 250)},
            {"json": people_page(100, 100, 250)},
            {"json": people_page(200, 50, 250)},
        ],
    )
    people = list(hook.iter_people({"person_titles": ["cto"]}))
    assert [p["id"] for p in people] == [f"p{i}" for i in range(250)]
    assert [r.json()["page"] for r in api.request_history] == [1, 2, 3]


def test_stop_at_total_pages(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.post(
        f"{BASE}/contacts/search",
        [
            {"json": contacts_page([{"id": "c1"}] * 100, 1, 2)},
            {"json": contacts_page([{"id": "c2"}] * 100, 2, 2)},
        ],
    )
    assert len(list(hook.iter_contacts({}))) == 200
    assert api.call_count == 2


def test_stop_at_an_empty_page(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.post(f"{BASE}/mixed_people/api_search", [{"json": people_page(0, 100)}, {"json": {"people": []}}])
    assert len(list(hook.iter_people({}))) == 100
    assert api.call_count == 2


def test_stop_at_max_records_without_fetching_more(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.post(f"{BASE}/mixed_people/api_search", json=people_page(0, 100, 10_000))
    people = list(hook.iter_people({}, max_records=30, per_page=100))
    assert len(people) == 30
    assert api.call_count == 1


def test_organization_pages_cost_one_credit_each(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    page = {"organizations": [{"id": "o"}] * 99, "accounts": [{"id": "a"}], "pagination": {"total_pages": 3}}
    api.post(f"{BASE}/mixed_companies/search", json=page)
    records = list(hook.iter_organizations({"organization_locations": ["Paris"]}))
    assert len(records) == 300
    assert records[99] == {"id": "a"}  # accounts follow the organizations of each page
    assert hook.credits_spent == 3
    assert hook.requests_sent == 3


def test_job_postings_stop_at_a_short_page_and_cost_credits(
    hook: ApolloHook, api: requests_mock.Mocker
) -> None:
    api.get(f"{BASE}/organizations/o1/job_postings", json={"organization_job_postings": [{"id": "j"}] * 7})
    assert len(list(hook.iter_job_postings("o1", per_page=10))) == 7
    assert api.call_count == 1
    assert hook.credits_spent == 1


@pytest.mark.slow  # walks 500 pages of 100: over a second
def test_the_50000_cap_warns_with_what_is_left_behind(
    hook: ApolloHook, api: requests_mock.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    served = []

    def answer(request: Any, context: Any) -> dict[str, Any]:
        page = request.json()["page"]
        served.append(page)
        return people_page((page - 1) * 100, 100, 123_456)

    api.post(f"{BASE}/mixed_people/api_search", json=answer)
    count = sum(1 for _ in hook.iter_people({"person_locations": ["United States"]}))
    assert count == 50_000
    assert served[-1] == 500 and len(served) == 500
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "123456" in warning and "73456 records will be left behind" in warning
    assert "person_locations" in warning and "person_seniorities" in warning


def test_no_cap_warning_when_max_records_is_within_reach(
    hook: ApolloHook, api: requests_mock.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    api.post(f"{BASE}/mixed_people/api_search", json=people_page(0, 100, 123_456))
    assert len(list(hook.iter_people({}, max_records=100))) == 100
    assert "left behind" not in caplog.text


# ----------------------------------------------------------------------------- batching
def person(i: int) -> dict[str, Any]:
    return {"id": f"p{i}", "email": f"person{i}@acme.com", "first_name": f"F{i}", "last_name": f"L{i}"}


def inputs(n: int) -> list[dict[str, Any]]:
    return [{"email": f"person{i}@acme.com"} for i in range(n)]


NOT_FOUND = {3, 12, 24}


def aligned_answer(request: Any, context: Any) -> dict[str, Any]:
    details = request.json()["details"]
    index = [int(d["email"].removeprefix("person").split("@")[0]) for d in details]
    return {"matches": [None if i in NOT_FOUND else person(i) for i in index]}


def test_25_people_go_out_as_10_10_5_and_come_back_aligned(
    hook: ApolloHook, api: requests_mock.Mocker
) -> None:
    api.post(f"{BASE}/people/bulk_match", json=aligned_answer)
    results = hook.bulk_enrich_people(inputs(25))
    # Several batches are in flight at once, so they may reach Apollo in any order.
    assert sorted(len(r.json()["details"]) for r in api.request_history) == [5, 10, 10]
    assert len(results) == 25
    for i, result in enumerate(results):
        assert result == (None if i in NOT_FOUND else person(i))
    assert hook.credits_spent == 22  # 1 per matched person (no credits_consumed in the answers)
    assert hook.requests_sent == 3


@pytest.mark.parametrize("shape", ["shuffled", "short"])
def test_answers_out_of_order_or_short_are_realigned(
    hook: ApolloHook, api: requests_mock.Mocker, shape: str
) -> None:
    def answer(request: Any, context: Any) -> dict[str, Any]:
        matches = [
            m for m in aligned_answer(request, context)["matches"] if m is not None or shape == "shuffled"
        ]
        random.Random(7).shuffle(matches)
        return {"matches": matches, "credits_consumed": 4.5}

    api.post(f"{BASE}/people/bulk_match", json=answer)
    results = hook.bulk_enrich_people(inputs(25))
    assert [r["id"] if r else None for r in results] == [
        None if i in NOT_FOUND else f"p{i}" for i in range(25)
    ]
    assert hook.credits_spent == 13.5  # Apollo's own credits_consumed wins over the estimate


def test_stub_person_is_not_found(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.post(
        f"{BASE}/people/bulk_match",
        json={
            "matches": [{"id": None, "first_name": "?"}, {"id": "p1", "match_confidence": "none"}, person(2)]
        },
    )
    results = hook.bulk_enrich_people(
        [{"email": "x@a.com"}, {"email": "y@a.com"}, {"email": "person2@acme.com"}]
    )
    assert results == [None, None, person(2)]


def test_mobile_phone_costs_eight_more_credits(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.post(
        f"{BASE}/people/match",
        json={"person": {"id": "p1", "phone_numbers": [{"raw_number": "+1", "type": "mobile"}]}},
    )
    hook.enrich_person({"id": "p1"}, reveal_phone_number=True, webhook_url="https://hooks.example/x")
    assert hook.credits_spent == 9


def test_invalid_detail_is_named_before_any_request(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    details: list[Any] = [*inputs(12), {"first_name": "Ada"}]
    with pytest.raises(ApolloConfigurationError, match=r"details\[12\]"):
        hook.bulk_enrich_people(details)
    with pytest.raises(ApolloConfigurationError, match=r"details\[1\] must be a mapping"):
        hook.bulk_enrich_people([{"email": "a@x.com"}, "a@x.com"])  # type: ignore[list-item]
    assert api.call_count == 0


def test_organizations_chunked_deduplicated_and_aligned(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    def answer(request: Any, context: Any) -> dict[str, Any]:
        domains = request.json()["domains"]
        found = [{"id": d, "primary_domain": d} for d in domains if not d.startswith("gone")]
        return {"organizations": list(reversed(found))}

    api.post(f"{BASE}/organizations/bulk_enrich", json=answer)
    domains = [f"org{i}.com" for i in range(12)] + ["gone.com", "https://www.ORG0.com/about"]
    results = hook.bulk_enrich_organizations(domains)
    assert [len(r.json()["domains"]) for r in api.request_history] == [10, 3]
    assert [r["id"] if r else None for r in results] == [f"org{i}.com" for i in range(12)] + [
        None,
        "org0.com",
    ]
    assert hook.credits_spent == 12


# ------------------------------------------------------------------------------ filters
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda h: h.search_people({"person_title": ["cto"]}),
            r"'person_title' \(did you mean 'person_titles'",
        ),
        (lambda h: list(h.iter_people({"seniority": ["vp"]})), "Unknown people search filter: 'seniority'"),
        (lambda h: h.search_organizations({"organization_location": ["x"]}), "organization_locations"),
        (lambda h: h.search_contacts({"email": "a@x.com"}), "Unknown contact search filter"),
        (lambda h: list(h.iter_accounts({"domain": "x.com"})), "Unknown account search filter"),
        (lambda h: list(h.iter_tasks({"contact_id": "c1"})), "'contact_ids'"),
    ],
)
def test_unknown_filters_are_rejected_before_any_request(
    hook: ApolloHook, api: requests_mock.Mocker, call: Any, match: str
) -> None:
    with pytest.raises(ApolloConfigurationError, match=match) as caught:
        call(hook)
    assert "Valid filters:" in str(caught.value)
    assert api.call_count == 0


def test_page_is_a_parameter_not_a_filter(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    with pytest.raises(ApolloConfigurationError, match="'page' is not a filter: give page= / per_page="):
        list(hook.iter_organizations({"page": 3}))
    assert api.call_count == 0


def test_bracketed_filters_are_sent_as_json(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.post(f"{BASE}/mixed_people/api_search", json={"people": []})
    hook.search_people({"person_titles[]": ["cto"], "revenue_range[min]": 1000, "revenue_range[max]": 5000})
    assert api.last_request.json() == {
        "person_titles": ["cto"],
        "revenue_range": {"min": 1000, "max": 5000},
        "page": 1,
        "per_page": 100,
    }


# ---------------------------------------------------------------- find_existing_contacts
def test_find_existing_contacts_by_keyword_when_the_team_has_many_contacts(
    hook: ApolloHook, api: requests_mock.Mocker
) -> None:
    ada = {
        "id": "c1",
        "email": "ada@acme.com",
        "first_name": "Ada",
        "last_name": "L",
        "organization_name": "Acme",
    }
    bob = {"id": "c2", "first_name": "Bob", "last_name": "Stone", "organization_name": "Initech"}

    def answer(request: Any, context: Any) -> dict[str, Any]:
        body = request.json()
        keyword = body.get("q_keywords")
        if keyword is None:
            return contacts_page([{"id": "other", "email": "z@z.com"}], body["page"], 50)
        return contacts_page([c for c in (ada, bob) if keyword.split()[0].lower() in str(c).lower()], 1, 1)

    api.post(f"{BASE}/contacts/search", json=answer)
    people = [
        {"email": "ADA@acme.com"},
        {"first_name": "Bob", "last_name": "Stone", "organization": {"name": "Initech"}},
        {"first_name": "Cy", "last_name": "New", "organization_name": "Nowhere"},
    ]
    assert hook.find_existing_contacts(people) == [ada, bob, None]
    keywords = [r.json().get("q_keywords") for r in api.request_history]
    assert keywords == [None, "ADA@acme.com", "Bob Stone", "Cy New"]  # 1 page + 3 keyword calls, not 50 pages
    assert hook.credits_spent == 0


def test_find_existing_contacts_walks_when_that_is_cheaper(
    hook: ApolloHook, api: requests_mock.Mocker
) -> None:
    pages = {
        1: [{"id": "c1", "email": "a@x.com"}],
        2: [{"id": "c2", "linkedin_url": "https://www.linkedin.com/in/bee/"}],
        3: [{"id": "c3", "email": "c@x.com"}],
    }
    api.post(
        f"{BASE}/contacts/search",
        json=lambda r, c: contacts_page(pages[r.json()["page"]], r.json()["page"], 3),
    )
    people = [
        {"email": "a@x.com"},
        {"linkedin_url": "http://linkedin.com/in/bee"},
        {"email": "c@x.com"},
        {"email": "d@x.com"},
        {"email": "e@x.com"},
    ]
    found = hook.find_existing_contacts(people)
    assert [c["id"] if c else None for c in found] == ["c1", "c2", "c3", None, None]
    assert all("q_keywords" not in r.json() for r in api.request_history)
    assert api.call_count == 3
