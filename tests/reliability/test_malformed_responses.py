"""Malformed answers (issue 6, part 5): a clear provider error, never a bare traceback.

Apollo, or a proxy in front of it, can answer 200 with an HTML error page, an empty body, a
truncated document, JSON of the wrong shape or with the expected key missing or mistyped.
Every hook call a DAG makes must turn each of those into an ``ApolloError`` that names the
endpoint (so the user knows which call broke) and never leaks the key: a ``KeyError`` or
``TypeError`` from deep inside the provider tells a user nothing. Apollo's documented
"not found" answers (``organizations/enrich`` answering ``{}``) are not errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests_mock as rm

from airflow_provider_apollo.exceptions import ApolloAmbiguousWriteError, ApolloError, ApolloResponseError
from airflow_provider_apollo.hooks.apollo import ApolloHook
from tests._support import set_connection

BASE = "https://api.apollo.io/api/v1"
PERSON = {"email": "ann@acme.example", "first_name": "Ann", "last_name": "Lee"}


@dataclass(frozen=True)
class Call:
    """One hook call a DAG makes, the request it sends, and how its errors may name it.

    :param mentions: words of which the error must contain one (the endpoint, or the
        search's name for the paged searches: "people search").
    :param undecodable_only: only bodies that are not JSON apply; the call returns Apollo's
        answer as is and its operator interprets the shape (``tasks/bulk_create``).
    """

    name: str
    method: str
    path: str
    run: Callable[[ApolloHook], Any]
    mentions: tuple[str, ...] = ()
    undecodable_only: bool = False

    def named_in(self, message: str) -> bool:
        return any(word in message for word in (self.path, *self.mentions))


CALLS = [
    Call(
        "iter_people",
        "POST",
        "mixed_people/api_search",
        lambda h: list(h.iter_people({}, max_records=5)),
        ("people search",),
    ),
    Call(
        "iter_organizations",
        "POST",
        "mixed_companies/search",
        lambda h: list(h.iter_organizations({})),
        ("organizations search",),
    ),
    Call("enrich_person", "POST", "people/match", lambda h: h.enrich_person(PERSON)),
    Call("bulk_enrich_people", "POST", "people/bulk_match", lambda h: h.bulk_enrich_people([PERSON])),
    Call(
        "enrich_organization", "GET", "organizations/enrich", lambda h: h.enrich_organization("acme.example")
    ),
    Call(
        "bulk_enrich_organizations",
        "POST",
        "organizations/bulk_enrich",
        lambda h: h.bulk_enrich_organizations(["acme.example"]),
    ),
    Call(
        "iter_job_postings",
        "GET",
        "organizations/org-1/job_postings",
        lambda h: list(h.iter_job_postings("org-1")),
        ("job postings search",),
    ),
    Call("create_contact", "POST", "contacts", lambda h: h.create_contact(PERSON)),
    Call("bulk_create_contacts", "POST", "contacts/bulk_create", lambda h: h.bulk_create_contacts([PERSON])),
    Call("get_contact", "GET", "contacts/c-1", lambda h: h.get_contact("c-1")),
    Call("find_existing_contacts", "POST", "contacts/search", lambda h: h.find_existing_contacts([PERSON])),
    Call("list_contact_stages", "GET", "contact_stages", lambda h: h.list_contact_stages()),
    Call(
        "iter_sequences",
        "POST",
        "emailer_campaigns/search",
        lambda h: list(h.iter_sequences()),
        ("sequences search",),
    ),
    Call("list_email_accounts", "GET", "email_accounts", lambda h: h.list_email_accounts()),
    Call("list_users", "GET", "users/search", lambda h: h.list_users(), ("users search",)),
    Call(
        "create_task",
        "POST",
        "tasks",
        lambda h: h.create_task({"contact_id": "c-1", "type": "call", "user_id": "u-1"}),
    ),
    Call(
        "bulk_create_tasks",
        "POST",
        "tasks/bulk_create",
        lambda h: h.bulk_create_tasks(
            ["c-1"], type="call", priority="high", due_at="2026-03-01T09:00:00Z", user_id="u-1"
        ),
        undecodable_only=True,
    ),
    Call("iter_tasks", "POST", "tasks/search", lambda h: list(h.iter_tasks({})), ("tasks search",)),
]

#: Every key any of the calls above reads, each set to a value of the wrong type.
_EVERY_KEY = [
    "people", "organizations", "accounts", "matches", "person", "organization", "contacts", "contact",
    "created_contacts", "existing_contacts", "contact_stages", "emailer_campaigns", "email_accounts",
    "users", "task", "tasks", "organization_job_postings", "pagination", "total_entries",
]  # fmt: skip

BODIES: dict[str, tuple[str, str]] = {
    # name: (body, content type)
    "html_error_page": ("<html><body><h1>502 Bad Gateway</h1>nginx</body></html>", "text/html"),
    "empty_body": ("", "application/json"),
    "whitespace_body": ("  \n", "application/json"),
    "truncated_json": ('{"people": [{"id": "p1", "first_na', "application/json"),
    "json_null": ("null", "application/json"),
    "json_list": ("[1, 2, 3]", "application/json"),
    "json_string": ('"ok"', "application/json"),
    "object_without_expected_keys": (json.dumps({"unexpected": True}), "application/json"),
    "expected_keys_as_strings": (json.dumps(dict.fromkeys(_EVERY_KEY, "oops")), "application/json"),
    "expected_keys_as_numbers": (json.dumps(dict.fromkeys(_EVERY_KEY, 7)), "application/json"),
}
UNDECODABLE = frozenset({"html_error_page", "empty_body", "whitespace_body", "truncated_json"})

#: Answers Apollo documents as legitimate for that call: they must not raise.
LEGITIMATE = {
    # organizations/enrich answers {} when it knows no such domain (quirk 1 of the API notes).
    ("enrich_organization", "object_without_expected_keys"): None,
}

#: (call, body) -> a provider bug the case exposes (reported to the lead; xfail strict). The
#: bugs this catalogue found are fixed; a new one goes here until it is.
KNOWN_BUGS: dict[tuple[str, str], str] = {}


def _cases() -> list[Any]:
    cases = []
    for call in CALLS:
        for body_name in sorted(BODIES):
            if call.undecodable_only and body_name not in UNDECODABLE:
                continue
            bug = KNOWN_BUGS.get((call.name, body_name))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            cases.append(pytest.param(call, body_name, id=f"{call.name}-{body_name}", marks=marks))
    return cases


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> ApolloHook:
    """A hook on a mocked Apollo that does not retry (a retry would only repeat the answer)."""
    set_connection(monkeypatch, "apollo_malformed", extra={"max_retries": 0})
    hook = ApolloHook(apollo_conn_id="apollo_malformed")
    hook._sleep = lambda _: None
    return hook


@pytest.mark.parametrize(("call", "body_name"), _cases())
def test_a_malformed_answer_is_a_clear_provider_error(
    hook: ApolloHook, call: Call, body_name: str, canary_key: str, requests_mock: rm.Mocker
) -> None:
    body, content_type = BODIES[body_name]
    requests_mock.register_uri(
        call.method, f"{BASE}/{call.path}", text=body, status_code=200, headers={"Content-Type": content_type}
    )

    if (call.name, body_name) in LEGITIMATE:
        assert call.run(hook) == LEGITIMATE[call.name, body_name]
        return
    with pytest.raises(ApolloError) as raised:
        call.run(hook)

    message = str(raised.value)
    assert call.named_in(message), f"the error does not name the endpoint: {message}"
    assert canary_key not in message
    assert requests_mock.call_count >= 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_gateway_html_page_on_5xx_is_a_transient_error_naming_the_endpoint(
    hook: ApolloHook, status: int, canary_key: str, requests_mock: rm.Mocker
) -> None:
    page = f"<html><head><title>{status}</title></head><body>upstream failed, key={canary_key}</body></html>"
    requests_mock.post(f"{BASE}/people/bulk_match", text=page, status_code=status)

    with pytest.raises(ApolloError) as raised:
        hook.bulk_enrich_people([PERSON])

    message = str(raised.value)
    assert "people/bulk_match" in message and str(status) in message
    assert canary_key not in message  # the body quoted a key: it is scrubbed
    assert "<html" not in message.lower()


def test_an_unreadable_answer_to_a_task_create_is_reported_as_ambiguous(
    hook: ApolloHook, requests_mock: rm.Mocker
) -> None:
    """Apollo may have created the tasks: the error must say so, so that nobody resends blindly."""
    requests_mock.post(f"{BASE}/tasks/bulk_create", text="<html>oops</html>", status_code=200)

    with pytest.raises(ApolloResponseError) as raised:
        hook.bulk_create_tasks(
            ["c-1"], type="call", priority="high", due_at="2026-03-01T09:00:00Z", user_id="u-1"
        )

    assert isinstance(raised.value, ApolloAmbiguousWriteError)  # "it may exist: look before creating"
    assert requests_mock.call_count == 1  # never resent


def test_a_truncated_page_is_retried_then_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """A truncated answer is asked again (a proxy hiccup?), a bounded number of times."""
    set_connection(monkeypatch, "apollo_malformed", extra={"max_retries": 2})
    waits: list[float] = []
    hook = ApolloHook(apollo_conn_id="apollo_malformed")
    hook._sleep = waits.append
    with rm.Mocker() as mocker:
        mocker.post(f"{BASE}/mixed_people/api_search", text='{"people": [', status_code=200)
        with pytest.raises(ApolloResponseError, match="mixed_people/api_search"):
            hook.search_people({})
        assert mocker.call_count == 3
    assert len(waits) == 2
