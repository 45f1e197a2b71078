"""Answers of the wrong shape are errors, never "nobody found" or an empty list.

Each case is an answer a proxy, a partial outage or an API change could produce, which the
hook used to read as a legitimate empty result: enrichment reporting a match as "not
found", created contacts silently lost, existing contacts not recognised (so enrichment
paid for them again). Apollo's real "not found" answers stay ``None``.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests_mock

from airflow_provider_apollo.exceptions import (
    ApolloAmbiguousWriteError,
    ApolloResponseError,
    ApolloUnreadableWriteError,
)
from airflow_provider_apollo.hooks.apollo import ApolloHook
from tests._support import BASE, CANARY_KEY

ANN = {"email": "ann@acme.example", "first_name": "Ann", "last_name": "Lee"}
STUB_PERSON = {"id": None, "first_name": "Ann", "last_name": "Lee", "email": None}


# --------------------------------------------------------------------------- enrichment
@pytest.mark.parametrize("person", ["oops", 7, ["p-1"], True])
def test_a_person_that_is_not_an_object_is_an_error_not_a_miss(
    hook: ApolloHook, api: requests_mock.Mocker, person: Any
) -> None:
    api.post(f"{BASE}/people/match", json={"person": person})

    with pytest.raises(ApolloResponseError, match="people/match has a 'person' that is not an object"):
        hook.enrich_person(ANN)
    assert hook.credits_spent == 0


@pytest.mark.parametrize(
    "person", [STUB_PERSON, {**STUB_PERSON, "id": "p-1", "match_confidence": None}, None]
)
def test_apollos_no_match_answers_are_still_none(
    hook: ApolloHook, api: requests_mock.Mocker, person: Any
) -> None:
    api.post(f"{BASE}/people/match", json={"person": person})

    assert hook.enrich_person(ANN) is None
    assert hook.credits_spent == 0


@pytest.mark.parametrize("organization", ["oops", 7, ["o-1"]])
def test_an_organization_that_is_not_an_object_is_an_error_not_a_miss(
    hook: ApolloHook, api: requests_mock.Mocker, organization: Any
) -> None:
    api.get(f"{BASE}/organizations/enrich", json={"organization": organization})

    with pytest.raises(ApolloResponseError, match="organizations/enrich has an 'organization' that is not"):
        hook.enrich_organization("acme.example")


@pytest.mark.parametrize("answer", [{}, {"organization": {}}, {"organization": None}])
def test_apollos_unknown_domain_answers_are_still_none(
    hook: ApolloHook, api: requests_mock.Mocker, answer: dict[str, Any]
) -> None:
    api.get(f"{BASE}/organizations/enrich", json=answer)

    assert hook.enrich_organization("acme.example") is None
    assert hook.credits_spent == 0


# -------------------------------------------------------------------- contacts/bulk_create
@pytest.mark.parametrize(
    "answer",
    [
        {"success": True},
        {"created_contacts": None, "existing_contacts": None},
        {"created_contacts": "2 created"},
        {"created_contacts": [1, 2], "existing_contacts": []},
    ],
)
def test_an_unreadable_bulk_create_answer_is_an_ambiguous_write(
    hook: ApolloHook, api: requests_mock.Mocker, answer: dict[str, Any]
) -> None:
    """The contacts were most likely created: the error says so instead of returning []."""
    api.post(f"{BASE}/contacts/bulk_create", json=answer)
    # The hook looks before sending again; here the contacts never show up.
    api.post(f"{BASE}/contacts/search", json={"contacts": [], "pagination": {"total_entries": 0}})

    with pytest.raises(ApolloUnreadableWriteError) as raised:
        hook.bulk_create_contacts([ANN, {**ANN, "email": "bo@acme.example"}])

    error = raised.value
    assert isinstance(error, ApolloAmbiguousWriteError) and isinstance(error, ApolloResponseError)
    assert error.endpoint == "contacts/bulk_create"
    assert "contacts/bulk_create" in str(error) and "look for them before creating again" in str(error)
    assert CANARY_KEY not in str(error)
    creates = [r for r in api.request_history if r.path.endswith("/contacts/bulk_create")]
    searches = [r for r in api.request_history if r.path.endswith("/contacts/search")]
    # Never resent blindly: each resend follows a look-up that found the contacts missing.
    assert len(creates) == hook.config.max_retries + 1
    assert len(searches) == hook.config.max_retries


def test_contacts_found_after_an_unreadable_answer_are_not_created_again(
    hook: ApolloHook, api: requests_mock.Mocker
) -> None:
    api.post(f"{BASE}/contacts/bulk_create", json={"success": True})
    landed = [
        {"id": "c-ann", "person_id": None, **ANN},
        {"id": "c-bo", "person_id": None, **ANN, "email": "bo@acme.example"},
    ]
    api.post(f"{BASE}/contacts/search", json={"contacts": landed, "pagination": {"total_entries": 2}})

    records = hook.bulk_create_contacts([ANN, {**ANN, "email": "bo@acme.example"}])

    assert [r["id"] for r in records] == ["c-ann", "c-bo"]
    assert sum(r.path.endswith("/contacts/bulk_create") for r in api.request_history) == 1


def test_a_bulk_create_answer_with_only_one_of_the_lists_is_read(
    hook: ApolloHook, api: requests_mock.Mocker
) -> None:
    api.post(f"{BASE}/contacts/bulk_create", json={"created_contacts": [{"id": "c-1", **ANN}]})

    assert hook.bulk_create_contacts([ANN]) == [{"id": "c-1", **ANN}]


# ------------------------------------------------------------------ find_existing_contacts
@pytest.mark.parametrize("contacts", ["oops", 7, None, [1, 2]])
def test_an_unreadable_contact_search_fails_instead_of_finding_nobody(
    hook: ApolloHook, api: requests_mock.Mocker, contacts: Any
) -> None:
    """Reading it as "nobody" would make enrichment pay for people who are contacts already."""
    answer = {"pagination": {"total_entries": 1, "total_pages": 1}}
    api.post(f"{BASE}/contacts/search", json={**answer, "contacts": contacts})

    with pytest.raises(ApolloResponseError, match=r"team's contacts \(POST contacts/search\)") as raised:
        hook.find_existing_contacts([ANN])
    assert raised.value.endpoint == "contacts/search"


def test_an_unreadable_keyword_search_fails_too(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    """Many pages of contacts: the hook asks by keyword, and that answer is checked as well."""
    first = {
        "contacts": [{"id": "c-9", "email": "zed@other.example"}],
        "pagination": {"total_entries": 500, "total_pages": 5},
    }
    api.post(
        f"{BASE}/contacts/search",
        [{"json": first}, {"json": {"pagination": {"total_entries": 0}}}],
    )

    with pytest.raises(ApolloResponseError, match="has no 'contacts' list"):
        hook.find_existing_contacts([ANN])
    assert api.request_history[1].json()["q_keywords"] == ANN["email"]


# --------------------------------------------------------------------------- listings
@pytest.mark.parametrize(
    ("method", "answer", "says"),
    [
        ("list_contact_stages", [1, 2, 3], "that is not an object"),
        ("list_contact_stages", {"contact_stages": [{"id": "s-1"}, "Cold"]}, "contact_stages[1] that is not"),
        ("list_email_accounts", [1, 2, 3], "that is not an object"),
        ("list_email_accounts", {"email_accounts": None}, "has no 'email_accounts' list"),
        ("list_labels", [{"id": "l-1"}, None], "that is not an object"),
    ],
)
def test_a_listing_of_things_that_are_not_objects_is_an_error(
    hook: ApolloHook, api: requests_mock.Mocker, method: str, answer: Any, says: str
) -> None:
    path = {"list_contact_stages": "contact_stages", "list_email_accounts": "email_accounts"}.get(
        method, "labels"
    )
    api.get(f"{BASE}/{path}", json=answer)

    with pytest.raises(ApolloResponseError, match=f"GET {path}") as raised:
        getattr(hook, method)()
    assert says in str(raised.value)


def test_a_bare_list_of_objects_is_still_a_listing(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.get(f"{BASE}/labels", json=[{"id": "l-1", "name": "Prospects"}])

    assert hook.list_labels() == [{"id": "l-1", "name": "Prospects"}]


@pytest.mark.parametrize("answer", [{}, {"contacts": "updated"}, {"contacts": [1, 2]}])
def test_an_unreadable_bulk_update_answer_is_an_error_not_nothing_updated(
    hook: ApolloHook, api: requests_mock.Mocker, answer: dict[str, Any]
) -> None:
    api.post(f"{BASE}/contacts/bulk_update", json=answer)

    with pytest.raises(ApolloResponseError, match="contacts/bulk_update"):
        hook.bulk_update_contacts([{"id": "c-1", "title": "CTO"}])


def test_a_bulk_update_answer_returns_the_updated_records(
    hook: ApolloHook, api: requests_mock.Mocker
) -> None:
    api.post(f"{BASE}/contacts/bulk_update", json={"contacts": [{"id": "c-1", "title": "CTO"}]})

    assert hook.bulk_update_contacts([{"id": "c-1", "title": "CTO"}]) == [{"id": "c-1", "title": "CTO"}]
    assert api.last_request.json() == {"contact_attributes": [{"id": "c-1", "title": "CTO"}]}
