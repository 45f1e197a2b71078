"""The real ApolloHook against the real sandbox, over real loopback sockets: every public method.

Unit tests (``_resources/test_endpoint_methods.py``) prove what the hook *sends*; these prove that what it
sends is what the sandbox (Apollo's stand-in) *understands*, and that what the sandbox answers is
what the hook *reads*: path, method, request fields and response shape, end to end. Each test
asserts what a user notices: the records returned, and the sandbox's own records, counters and
credits ledger afterwards.

``test_every_public_hook_method_has_an_integration_test`` fails when a public member is added
to ``ApolloHook`` without a test here that calls it.
"""

from __future__ import annotations

import ast
import inspect
import json
import math
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_apollo.exceptions import (
    ApolloConfigurationError,
    ApolloNotFoundError,
    ApolloValidationError,
)
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.sandbox import ApolloSandbox
from tests._support import CANARY_KEY

CONN_ENV = "AIRFLOW_CONN_APOLLO_DEFAULT"
API = "/api/v1"
DUE_AT = "2026-03-02T09:00:00Z"
# The sandbox never calls it (it makes no outgoing requests); a loopback address all the same.
# Apollo delivers only to public HTTPS webhooks (the hook refuses others); the sandbox posts nothing.
WEBHOOK_URL = "https://hooks.example.com/apollo-phones"

# Public members that send nothing: the connection form's UI helpers
# (tests/hooks/_transport/test_connection.py).
NOT_SENDING_REQUESTS = {
    "get_connection_form_widgets": "builds connection-form fields; no request",
    "get_ui_field_behaviour": "describes the connection form; no request",
}


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def sandbox_options() -> dict[str, Any]:
    """The module's ``sandbox`` (tests/conftest.py): the seed-42 world, 600 people."""
    return {"people": 600}


@pytest.fixture(scope="module")
def world_summary(sandbox: ApolloSandbox) -> dict[str, Any]:
    """``GET /_sandbox/world``: user, mailboxes, sequences, stages, sample domains and people."""
    answer = requests.get(f"{sandbox.base_url}/_sandbox/world", timeout=10)
    answer.raise_for_status()
    summary: dict[str, Any] = answer.json()
    return summary


@pytest.fixture
def sb(sandbox: ApolloSandbox) -> ApolloSandbox:
    """The module's sandbox with no CRM records, counters or credits: each test starts clean."""
    sandbox.reset()
    return sandbox


def _never_sleep(seconds: float) -> None:
    # Nothing here is rate limited or faulty: a wait would mean an unexpected retry or pacing.
    raise AssertionError(f"the hook wanted to wait {seconds:g} s against a healthy sandbox")


@pytest.fixture
def hook(sb: ApolloSandbox) -> ApolloHook:
    """A fresh hook on ``apollo_default`` (so ``credits_spent`` counts this test only)."""
    hook = ApolloHook()
    hook._sleep = _never_sleep
    return hook


# ------------------------------------------------------------------------------------- helpers
def _requests_to(sb: ApolloSandbox, method: str, template: str) -> int:
    """How many requests the sandbox served on ``method /api/v1/template``."""
    by_endpoint: dict[str, int] = sb.stats()["requests"]["by_endpoint"]
    return by_endpoint.get(f"{method} {API}/{template}", 0)


def _credits_charged(sb: ApolloSandbox, method: str, template: str) -> float:
    """Credits in the sandbox's ledger for ``method /api/v1/template``."""
    by_endpoint: dict[str, float] = sb.stats()["credits"]["by_endpoint"]
    return by_endpoint.get(f"{method} {API}/{template}", 0.0)


def _people(sb: ApolloSandbox, keep: Callable[[dict[str, Any]], bool], count: int) -> list[dict[str, Any]]:
    """The first ``count`` people of the world that ``keep`` accepts."""
    chosen = [p for p in sb.state.world.people if keep(p)][:count]
    assert len(chosen) == count, "the seed-42 world is too small for this test"
    return chosen


def _contact_fields(sb: ApolloSandbox, person: dict[str, Any], *, with_email: bool = True) -> dict[str, Any]:
    """Contact fields for a world person: name, title, company and (optionally) email."""
    fields = {
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "title": person["title"],
        "organization_name": _organization_of(sb, person)["name"],
    }
    if with_email:
        fields["email"] = person["email"]
    return fields


def _organization_of(sb: ApolloSandbox, person: dict[str, Any]) -> dict[str, Any]:
    organization: dict[str, Any] = sb.state.world.organizations_by_id[person["organization_id"]]
    return organization


def _verified(person: dict[str, Any]) -> bool:
    return bool(person["email_status"] == "verified")


def _unverified(person: dict[str, Any]) -> bool:
    return bool(person["email_status"] == "unverified")


def _no_email(person: dict[str, Any]) -> bool:
    return person["email"] is None


def _id_of(record: dict[str, Any] | None) -> str | None:
    return None if record is None else str(record["id"])


# ---------------------------------------------------------------------- connection and transport
def test_test_connection_accepts_the_sandbox_key_with_one_health_check(
    sb: ApolloSandbox, hook: ApolloHook
) -> None:
    ok, message = hook.test_connection()

    assert (ok, message) == (True, f"Connected to Apollo at {sb.base_url}/api/v1")
    assert _requests_to(sb, "GET", "auth/health") == 1
    assert hook.base_url == f"{sb.base_url}/api/v1"


def test_test_connection_reports_a_refused_key_without_quoting_it(
    sb: ApolloSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong_key = "not-the-sandbox-key-31f2"
    monkeypatch.setenv(
        "AIRFLOW_CONN_APOLLO_WRONG_KEY",
        json.dumps({"conn_type": "apollo", "host": sb.base_url, "password": wrong_key}),
    )
    wrong_key_hook = ApolloHook("apollo_wrong_key")
    wrong_key_hook._sleep = _never_sleep

    ok, message = wrong_key_hook.test_connection()

    assert not ok
    assert "401" in message and "'apollo_wrong_key'" in message  # what failed, and where to fix it
    assert wrong_key not in message
    assert sb.stats()["unauthorized"] == 1  # one attempt: a 401 is never retried


def test_get_conn_is_the_authenticated_session_the_hook_sends_with(
    sb: ApolloSandbox, hook: ApolloHook
) -> None:
    session = hook.get_conn()

    assert session is hook.session
    assert session.headers["X-Api-Key"] == CANARY_KEY == hook.config.api_key
    assert session.get(f"{hook.base_url}/auth/health", timeout=10).json() == {"is_logged_in": True}
    assert sb.stats()["unauthorized"] == 0


def test_request_reaches_any_endpoint_and_the_counters_agree_with_the_sandbox(
    sb: ApolloSandbox, hook: ApolloHook, world_summary: dict[str, Any]
) -> None:
    stages = hook.request("GET", "contact_stages")
    page = hook.request("POST", "contacts/search", json={"q_keywords": "nobody", "per_page": 5})

    assert [s["name"] for s in stages["contact_stages"]] == [
        s["name"] for s in world_summary["contact_stages"]
    ]
    assert page["contacts"] == [] and page["pagination"]["total_entries"] == 0
    assert hook.requests_sent == sb.stats()["requests"]["total"] == 2
    assert hook.quota.statuses().keys() >= {"contact_stages", "contacts/search"}


def test_request_refuses_an_api_key_in_the_body_before_sending(sb: ApolloSandbox, hook: ApolloHook) -> None:
    with pytest.raises(ApolloConfigurationError, match="api_key"):
        hook.request("POST", "contacts/search", json={"api_key": CANARY_KEY})

    stats = sb.stats()
    assert stats["requests"]["total"] == 0 and stats["api_key_in_request"] == 0
    assert hook.requests_sent == 0


def test_request_to_an_unknown_route_is_a_not_found_error(sb: ApolloSandbox, hook: ApolloHook) -> None:
    with pytest.raises(ApolloNotFoundError) as raised:
        hook.request("GET", "no_such_endpoint")

    assert raised.value.status_code == 404
    assert hook.requests_sent == 1  # a 404 is not retried


# ---------------------------------------------------------------------------- unknown filters
@pytest.mark.parametrize(
    ("method", "typo", "suggestion"),
    [
        ("search_people", "person_title", "person_titles"),
        ("iter_people", "person_title", "person_titles"),
        ("search_organizations", "organization_location", "organization_locations"),
        ("iter_organizations", "organization_location", "organization_locations"),
        ("search_contacts", "q_keyword", "q_keywords"),
        ("iter_contacts", "q_keyword", "q_keywords"),
        ("search_accounts", "q_organisation_name", "q_organization_name"),
        ("iter_accounts", "q_organisation_name", "q_organization_name"),
        ("search_tasks", "contact_id", "contact_ids"),
        ("iter_tasks", "contact_id", "contact_ids"),
    ],
)
def test_unknown_filter_is_rejected_before_any_request(
    sb: ApolloSandbox, hook: ApolloHook, method: str, typo: str, suggestion: str
) -> None:
    with pytest.raises(ApolloConfigurationError, match=suggestion):
        answer = getattr(hook, method)({typo: ["x"]})
        if inspect.isgenerator(answer):
            list(answer)

    # Apollo would have answered an unfiltered page; the sandbox saw nothing at all.
    assert sb.stats()["requests"]["total"] == 0
    assert hook.requests_sent == 0


# ------------------------------------------------------------------------------- people search
def test_search_people_filters_narrow_the_results(sb: ApolloSandbox, hook: ApolloHook) -> None:
    everyone = hook.search_people({}, per_page=1)
    narrowed = hook.search_people(
        {"person_titles": ["sales"], "person_seniorities": ["director", "vp", "head"]}, per_page=100
    )

    expected = [
        p["id"]
        for p in sb.state.world.people
        if "sales" in p["title"].lower() and p["seniority"] in {"director", "vp", "head"}
    ]
    assert everyone["total_entries"] == len(sb.state.world.people)
    assert 0 < narrowed["total_entries"] == len(expected) < everyone["total_entries"]
    assert [p["id"] for p in narrowed["people"]] == expected
    # People API search reveals no contact data (that costs an enrichment).
    assert all("email" not in p for p in narrowed["people"])
    assert sb.stats()["credits"]["total"] == 0 == hook.credits_spent


def test_search_people_legacy_route_surfaces_apollos_422(sb: ApolloSandbox, hook: ApolloHook) -> None:
    with pytest.raises(ApolloValidationError, match="api_search") as raised:
        hook.search_people({"person_titles": ["sales"]}, legacy=True)

    assert raised.value.status_code == 422
    assert _requests_to(sb, "POST", "mixed_people/search") == 1


def test_iter_people_walks_every_page_and_stops_at_the_total(sb: ApolloSandbox, hook: ApolloHook) -> None:
    expected = [p["id"] for p in sb.state.world.people if p["country"] == "Germany"]

    people = list(hook.iter_people({"person_locations": ["Germany"]}, per_page=7))
    capped = list(hook.iter_people({"person_locations": ["Germany"]}, per_page=7, max_records=9))

    assert len(expected) > 14, "need at least three pages"
    assert [p["id"] for p in people] == expected
    assert [p["id"] for p in capped] == expected[:9]
    pages = math.ceil(len(expected) / 7) + 2  # the capped walk needs two pages for nine people
    assert _requests_to(sb, "POST", "mixed_people/api_search") == pages


# ------------------------------------------------------------------------- organization search
def test_search_organizations_filters_narrow_and_cost_one_credit_per_page(
    sb: ApolloSandbox, hook: ApolloHook
) -> None:
    small = [o["id"] for o in sb.state.world.organizations if o["estimated_num_employees"] <= 50]

    page = hook.search_organizations({"organization_num_employees_ranges": ["1,50"]}, per_page=100)

    assert 0 < page["pagination"]["total_entries"] == len(small) < len(sb.state.world.organizations)
    assert [o["id"] for o in page["organizations"]] == small
    assert hook.credits_spent == 1 == _credits_charged(sb, "POST", "mixed_companies/search")


def test_iter_organizations_yields_saved_organizations_too(sb: ApolloSandbox, hook: ApolloHook) -> None:
    in_australia = [o for o in sb.state.world.organizations if o["country"] == "Australia"]
    saved = hook.create_account(
        {"name": in_australia[0]["name"], "domain": in_australia[0]["primary_domain"]}
    )

    found = list(hook.iter_organizations({"organization_locations": ["Australia"]}, per_page=3))

    # Apollo answers organizations the team saved as its accounts; the hook yields both kinds.
    assert len(found) == len(in_australia) > 2
    assert {r.get("organization_id") or r["id"] for r in found} == {o["id"] for o in in_australia}
    assert saved["id"] in {r["id"] for r in found}
    pages = math.ceil(len(in_australia) / 3)
    assert hook.credits_spent == pages == _credits_charged(sb, "POST", "mixed_companies/search")


# ---------------------------------------------------------------------------------- enrichment
def test_enrich_person_returns_the_match_and_none_when_nobody_matches(
    sb: ApolloSandbox, hook: ApolloHook
) -> None:
    (person,) = _people(sb, _verified, 1)

    match = hook.enrich_person({"email": person["email"].upper()})
    nobody = hook.enrich_person({"email": "nobody-at-all@nowhere.example.org"})

    assert match is not None
    assert (match["id"], match["email"]) == (person["id"], person["email"])
    assert nobody is None  # Apollo's 200 stub, reported as "not found"
    assert _requests_to(sb, "POST", "people/match") == 2
    assert hook.credits_spent == 1 == _credits_charged(sb, "POST", "people/match")


def test_enrich_person_phone_reveal_needs_a_webhook_and_costs_what_the_sandbox_charges(
    sb: ApolloSandbox, hook: ApolloHook
) -> None:
    (person,) = _people(sb, lambda p: bool(p["mobile_phone"]), 1)

    with pytest.raises(ApolloConfigurationError, match="webhook_url"):
        hook.enrich_person({"id": person["id"]}, reveal_phone_number=True)
    assert sb.stats()["requests"]["total"] == 0

    match = hook.enrich_person({"id": person["id"]}, reveal_phone_number=True, webhook_url=WEBHOOK_URL)

    assert match is not None and match["id"] == person["id"]
    assert hook.credits_spent == 9 == _credits_charged(sb, "POST", "people/match")  # 1 + 8 for a mobile


def test_bulk_enrich_people_aligns_25_inputs_and_spends_what_the_ledger_says(
    sb: ApolloSandbox, hook: ApolloHook
) -> None:
    by_name_at_company = sb.state.world.people_by_name_and_org

    def findable_every_way(person: dict[str, Any]) -> bool:
        # An email, and the only one of that name at the company (so name + domain is unambiguous).
        key = (person["first_name"].lower(), person["last_name"].lower(), person["organization_id"])
        return bool(person["email"]) and by_name_at_company[key]["id"] == person["id"]

    people = _people(sb, findable_every_way, 20)
    cases: list[tuple[dict[str, Any], str | None]] = [
        *(({"id": p["id"]}, p["id"]) for p in people[0:5]),
        *(({"email": p["email"]}, p["id"]) for p in people[5:10]),
        *(({"linkedin_url": p["linkedin_url"]}, p["id"]) for p in people[10:15]),
        *(
            (
                {
                    "first_name": p["first_name"],
                    "last_name": p["last_name"],
                    "domain": _organization_of(sb, p)["primary_domain"],
                },
                p["id"],
            )
            for p in people[15:20]
        ),
    ]
    missing: list[dict[str, Any]] = [
        {"email": "ghost-1@nowhere.example.org"},
        {"id": "ffffffffffffffffffffffff"},
        {"linkedin_url": "https://www.linkedin.com/in/nobody-here-0"},
        {
            "first_name": "Nobody",
            "last_name": "Here",
            "domain": _organization_of(sb, people[0])["primary_domain"],
        },
        {"email": "ghost-2@nowhere.example.org"},
    ]
    # Misses spread over the three batches of ten, at different positions in each.
    for position, detail in zip((4, 9, 16, 17, 24), missing, strict=True):
        cases.insert(position, (detail, None))
    assert len(cases) == 25

    results = hook.bulk_enrich_people([detail for detail, _ in cases])

    assert [_id_of(r) for r in results] == [expected for _, expected in cases]
    assert _requests_to(sb, "POST", "people/bulk_match") == 3
    matched = sum(expected is not None for _, expected in cases)
    assert hook.credits_spent == matched == _credits_charged(sb, "POST", "people/bulk_match")
    assert sb.stats()["credits"]["total"] == hook.credits_spent


def test_enrich_organization_matches_a_website_url_and_none_for_an_unknown_domain(
    sb: ApolloSandbox, hook: ApolloHook, world_summary: dict[str, Any]
) -> None:
    domain = world_summary["sample_domains"][0]

    organization = hook.enrich_organization(f"https://www.{domain}/careers")
    unknown = hook.enrich_organization("no-such-company.example.org")

    assert organization is not None and organization["primary_domain"] == domain
    assert unknown is None
    assert _requests_to(sb, "GET", "organizations/enrich") == 2
    assert hook.credits_spent == 1 == _credits_charged(sb, "GET", "organizations/enrich")


def test_bulk_enrich_organizations_aligns_repeats_and_misses(
    sb: ApolloSandbox, hook: ApolloHook, world_summary: dict[str, Any]
) -> None:
    domains = list(world_summary["sample_domains"][:10])
    inputs = [*domains, "no-such-company.example.org", f"https://{domains[3]}/"]

    results = hook.bulk_enrich_organizations(inputs)

    assert [r["primary_domain"] if r else None for r in results] == [*domains, None, domains[3]]
    assert _requests_to(sb, "POST", "organizations/bulk_enrich") == 2  # 11 unique domains, 10 per call
    assert hook.credits_spent == 10 == _credits_charged(sb, "POST", "organizations/bulk_enrich")


def test_iter_job_postings_newest_first_one_credit_per_page(
    sb: ApolloSandbox, hook: ApolloHook, world_summary: dict[str, Any]
) -> None:
    organization_id = world_summary["sample_organizations_hiring"][0]["id"]
    sb.add_job_postings(organization_id, [{"title": "Staff Data Engineer"}])
    expected = [p["id"] for p in sb.state.job_postings(organization_id)]

    postings = list(hook.iter_job_postings(organization_id, per_page=2))

    assert len(expected) > 2
    assert [p["id"] for p in postings] == expected
    assert postings[0]["title"] == "Staff Data Engineer"
    pages = math.ceil(len(expected) / 2)
    assert hook.credits_spent == pages == _credits_charged(sb, "GET", "organizations/{id}/job_postings")
    with pytest.raises(ApolloValidationError, match="not a valid ID"):
        list(hook.iter_job_postings("ffffffffffffffffffffffff"))


# ------------------------------------------------------------------------------------ contacts
def test_create_contact_with_dedupe_twice_leaves_one_contact(sb: ApolloSandbox, hook: ApolloHook) -> None:
    (person,) = _people(sb, _verified, 1)
    fields = {**_contact_fields(sb, person), "label_names": ["Integration Test"]}

    first = hook.create_contact(fields)
    second = hook.create_contact(fields)

    assert first["id"] == second["id"]
    assert (first["email"], first["email_status"], first["person_id"]) == (
        person["email"],
        "verified",
        person["id"],
    )
    assert sb.stats()["contacts"] == {"total": 1, "duplicates_by_email": 0}
    assert "Integration Test" in {label["name"] for label in hook.list_labels()}

    hook.create_contact(fields, run_dedupe=False)  # Apollo does not deduplicate without the flag
    assert sb.stats()["contacts"] == {"total": 2, "duplicates_by_email": 1}


def test_bulk_create_contacts_in_chunks_of_100_in_input_order(sb: ApolloSandbox, hook: ApolloHook) -> None:
    people = _people(sb, lambda p: bool(p["email"]), 105)
    existing = hook.create_contact(_contact_fields(sb, people[50]))

    created = hook.bulk_create_contacts([_contact_fields(sb, p) for p in people])

    assert [c["email"] for c in created] == [p["email"] for p in people]
    assert created[50]["id"] == existing["id"]
    assert _requests_to(sb, "POST", "contacts/bulk_create") == 2
    assert sb.stats()["contacts"] == {"total": 105, "duplicates_by_email": 0}


def test_get_update_and_bulk_update_contacts_change_the_sandbox_records(
    sb: ApolloSandbox, hook: ApolloHook
) -> None:
    first, second, third = (hook.create_contact(_contact_fields(sb, p)) for p in _people(sb, _verified, 3))

    updated = hook.update_contact(first["id"], {"title": "Chief Data Officer"})
    fetched = hook.get_contact(first["id"])
    bulk = hook.bulk_update_contacts(
        [{"id": second["id"], "title": "VP Data"}, {"id": third["id"], "title": "Head of BI"}]
    )

    assert updated["title"] == fetched["title"] == "Chief Data Officer"
    assert [(c["id"], c["title"]) for c in bulk] == [(second["id"], "VP Data"), (third["id"], "Head of BI")]
    titles = {cid: c["title"] for cid, c in sb.state.contacts.items()}
    assert titles == {first["id"]: "Chief Data Officer", second["id"]: "VP Data", third["id"]: "Head of BI"}
    assert _requests_to(sb, "PATCH", "contacts/{id}") == 1
    with pytest.raises(ApolloValidationError, match="not a valid ID"):
        hook.get_contact("ffffffffffffffffffffffff")


def test_search_and_iter_contacts_narrow_and_page(sb: ApolloSandbox, hook: ApolloHook) -> None:
    people = _people(sb, _verified, 5)
    contacts = hook.bulk_create_contacts([_contact_fields(sb, p) for p in people])
    target = people[2]

    page = hook.search_contacts({"q_keywords": f"{target['first_name']} {target['last_name']}"})
    every = list(hook.iter_contacts({}, per_page=2))

    assert [c["id"] for c in page["contacts"]] == [contacts[2]["id"]]
    assert page["pagination"]["total_entries"] == 1
    assert sorted(c["id"] for c in every) == sorted(c["id"] for c in contacts)
    assert _requests_to(sb, "POST", "contacts/search") == 1 + 3  # one search, then three pages of two


def test_find_existing_contacts_matches_by_email_and_name_and_says_none_otherwise(
    sb: ApolloSandbox, hook: ApolloHook
) -> None:
    with_email, without_email = _people(sb, _verified, 2)
    by_email = hook.create_contact(_contact_fields(sb, with_email))
    by_name = hook.create_contact(_contact_fields(sb, without_email, with_email=False))
    calls_before = sb.stats()["requests"]["total"]

    found = hook.find_existing_contacts(
        [
            {"email": with_email["email"].upper()},
            {"email": "ghost@nowhere.example.org", "first_name": "No", "last_name": "Body"},
            _contact_fields(sb, without_email, with_email=False),
        ]
    )

    assert [_id_of(c) for c in found] == [by_email["id"], None, by_name["id"]]
    # Two contacts fit on one page: one search call, no credits.
    assert sb.stats()["requests"]["total"] - calls_before == 1
    assert sb.stats()["credits"]["total"] == 0


def test_contact_stages_and_owners_are_updated(
    sb: ApolloSandbox, hook: ApolloHook, world_summary: dict[str, Any]
) -> None:
    contacts = [hook.create_contact(_contact_fields(sb, p)) for p in _people(sb, _verified, 2)]
    ids = [c["id"] for c in contacts]
    stages = hook.list_contact_stages()
    replied = next(s for s in stages if s["name"] == "Replied")

    moved = hook.update_contact_stages(ids, replied["id"])
    owned = hook.update_contact_owners(ids, world_summary["user"]["id"])

    assert [s["name"] for s in stages] == [s["name"] for s in world_summary["contact_stages"]]
    assert {c["contact_stage_id"] for c in moved["contacts"]} == {replied["id"]}
    assert {sb.state.contacts[i]["contact_stage_id"] for i in ids} == {replied["id"]}
    assert [c["id"] for c in owned["contacts"]] == ids
    assert {sb.state.contacts[i]["owner_id"] for i in ids} == {world_summary["user"]["id"]}
    # The sandbox reads the hook's owner_id/contact_stage_id fields: an unknown id is refused.
    with pytest.raises(ApolloValidationError, match="not a valid ID"):
        hook.update_contact_owners(ids, "ffffffffffffffffffffffff")
    with pytest.raises(ApolloValidationError, match="not a valid ID"):
        hook.update_contact_stages(ids, "ffffffffffffffffffffffff")


# ------------------------------------------------------------------------------------ accounts
def test_accounts_family(sb: ApolloSandbox, hook: ApolloHook, world_summary: dict[str, Any]) -> None:
    organizations = sb.state.world.organizations[:4]
    fields = [{"name": o["name"], "domain": o["primary_domain"]} for o in organizations]

    first = hook.create_account(fields[0])
    again = hook.create_account(fields[0])
    bulk = hook.bulk_create_accounts([fields[2], fields[0], fields[1]])
    stages = hook.list_account_stages()
    fetched = hook.get_account(bulk[0]["id"])
    updated = hook.update_account(first["id"], {"account_stage_id": stages[1]["id"]})
    bulk_updated = hook.bulk_update_accounts(
        [{"id": bulk[0]["id"], "phone": "+1 555-0199"}, {"id": bulk[2]["id"], "phone": "+1 555-0198"}]
    )
    named = hook.search_accounts({"q_organization_name": organizations[1]["name"]})
    every = list(hook.iter_accounts({}, per_page=1))
    owned = hook.update_account_owners([first["id"], bulk[0]["id"]], world_summary["user"]["id"])

    assert again["id"] == first["id"] and first["organization_id"] == organizations[0]["id"]
    assert [a["domain"] for a in bulk] == [fields[2]["domain"], fields[0]["domain"], fields[1]["domain"]]
    assert bulk[1]["id"] == first["id"]
    assert sb.stats()["accounts"] == {"total": 3}
    assert fetched["name"] == organizations[2]["name"]
    assert [s["name"] for s in stages] == [s["name"] for s in world_summary["account_stages"]]
    assert (
        updated["account_stage_id"] == sb.state.accounts[first["id"]]["account_stage_id"] == stages[1]["id"]
    )
    assert [a["phone"] for a in bulk_updated] == ["+1 555-0199", "+1 555-0198"]
    assert sb.state.accounts[bulk[2]["id"]]["phone"] == "+1 555-0198"
    assert [a["id"] for a in named["accounts"]] == [bulk[2]["id"]]
    assert sorted(a["id"] for a in every) == sorted(sb.state.accounts)
    assert _requests_to(sb, "POST", "accounts/search") == 1 + 3
    assert [a["id"] for a in owned["accounts"]] == [first["id"], bulk[0]["id"]]
    with pytest.raises(ApolloValidationError, match="not a valid ID"):
        hook.update_account_owners([first["id"]], "ffffffffffffffffffffffff")


# ----------------------------------------------------------------------------------- sequences
def test_iter_sequences_lists_and_filters_by_name(
    sb: ApolloSandbox, hook: ApolloHook, world_summary: dict[str, Any]
) -> None:
    every = list(hook.iter_sequences(per_page=1))
    duplicates = list(hook.iter_sequences(q_name="duplicate"))

    assert [s["id"] for s in every] == [s["id"] for s in world_summary["sequences"]]
    assert [s["name"] for s in duplicates] == ["Duplicate Name", "Duplicate Name"]
    assert _requests_to(sb, "POST", "emailer_campaigns/search") == len(world_summary["sequences"]) + 1


def test_sequence_enrolment_skip_rules_idempotent_re_add_and_removal(
    sb: ApolloSandbox, hook: ApolloHook, world_summary: dict[str, Any]
) -> None:
    sequence = {s["name"]: s["id"] for s in world_summary["sequences"] if s["active"]}
    outreach, nurture = sequence["Sandbox Outreach"], sequence["Sandbox Nurture"]
    mailbox = world_summary["email_accounts"][0]["id"]
    (verified,) = _people(sb, _verified, 1)
    (unverified,) = _people(sb, _unverified, 1)
    (no_email,) = _people(sb, _no_email, 1)
    a, b, c = (
        hook.create_contact(_contact_fields(sb, p, with_email=p["email"] is not None))
        for p in (verified, unverified, no_email)
    )
    ids = [a["id"], b["id"], c["id"]]

    strict = hook.add_contacts_to_sequence(outreach, ids, email_account_id=mailbox)
    assert strict["skipped_contact_ids"] == {b["id"]: "unverified_email", c["id"]: "no_email"}
    assert [x["id"] for x in strict["contacts"]] == [a["id"]]
    assert sb.stats()["sequence_enrolments"] == {"total": 1, "duplicates": 0}

    for _ in range(2):  # the second call is a retry: nothing changes
        lenient = hook.add_contacts_to_sequence(
            outreach, ids, email_account_id=mailbox, sequence_unverified_email=True, sequence_no_email=True
        )
        assert lenient["skipped_contact_ids"] == {}
        assert sb.stats()["sequence_enrolments"] == {"total": 3, "duplicates": 0}

    busy = hook.add_contacts_to_sequence(nurture, [a["id"]], email_account_id=mailbox)
    assert busy["skipped_contact_ids"] == {a["id"]: "active_in_other_campaigns"}
    hook.add_contacts_to_sequence(
        nurture, [a["id"]], email_account_id=mailbox, sequence_active_in_other_campaigns=True
    )
    assert sb.stats()["sequence_enrolments"]["total"] == 4

    hook.remove_contacts_from_sequences([nurture], [a["id"]])
    hook.remove_contacts_from_sequences([outreach], [b["id"]], mode="stop")
    hook.remove_contacts_from_sequences([outreach], [c["id"]], mode="mark_as_finished")

    def statuses(contact_id: str) -> dict[str, str]:
        return {
            s["emailer_campaign_id"]: s["status"]
            for s in sb.state.contacts[contact_id]["contact_campaign_statuses"]
        }

    assert statuses(a["id"]) == {outreach: "active"}
    assert statuses(b["id"]) == {outreach: "paused"}
    assert statuses(c["id"]) == {outreach: "finished"}
    assert sb.stats()["sequence_enrolments"] == {"total": 3, "duplicates": 0}
    with pytest.raises(ApolloConfigurationError, match="mode"):
        hook.remove_contacts_from_sequences([outreach], [a["id"]], mode="pause")


# --------------------------------------------------------------------------------------- tasks
def test_tasks_are_created_searched_and_never_deduplicated(sb: ApolloSandbox, hook: ApolloHook) -> None:
    contacts = [hook.create_contact(_contact_fields(sb, p)) for p in _people(sb, _verified, 3)]
    ids = [c["id"] for c in contacts]

    call = hook.create_task(
        {"contact_id": ids[0], "type": "call", "priority": "high", "due_at": DUE_AT, "note": "Renewal"}
    )
    bulk = hook.bulk_create_tasks(ids, type="action_item", priority="medium", due_at=DUE_AT, note="Follow up")

    assert (call["contact_id"], call["type"], call["priority"], call["note"]) == (
        ids[0],
        "call",
        "high",
        "Renewal",
    )
    assert [t["contact_id"] for t in bulk["tasks"]] == ids
    assert {t["note"] for t in bulk["tasks"]} == {"Follow up"}
    # No user_id given: the team's only user owns them, and Apollo was told so.
    assert hook.task_owner_id() == sb.state.world.user["id"]
    assert {t["user_id"] for t in [call, *bulk["tasks"]]} == {sb.state.world.user["id"]}
    assert sb.stats()["tasks"] == {"total": 4, "duplicates": 0}

    # Apollo never deduplicates tasks, and the hook does not pretend it does.
    hook.bulk_create_tasks(ids[:1], type="action_item", priority="medium", due_at=DUE_AT)
    assert sb.stats()["tasks"] == {"total": 5, "duplicates": 1}

    calls = hook.search_tasks({"contact_ids": [ids[0]], "task_types": ["call"]})
    assert [t["id"] for t in calls["tasks"]] == [call["id"]]
    sb.complete_tasks([call["id"]])
    completed = hook.search_tasks({"statuses": ["completed"]})
    assert [t["id"] for t in completed["tasks"]] == [call["id"]]

    every = list(hook.iter_tasks({}, per_page=2))
    first_three = list(hook.iter_tasks({"task_types": ["action_item"]}, max_records=3, per_page=2))
    assert sorted(t["id"] for t in every) == sorted(sb.state.tasks)
    assert len(first_three) == 3 and {t["type"] for t in first_three} == {"action_item"}
    assert _requests_to(sb, "POST", "tasks/search") == 2 + 3 + 2


# ------------------------------------------------------------------------------- opportunities
def test_opportunities_family(sb: ApolloSandbox, hook: ApolloHook, world_summary: dict[str, Any]) -> None:
    organization = sb.state.world.organizations[0]
    account = hook.create_account({"name": organization["name"], "domain": organization["primary_domain"]})
    stages = hook.list_opportunity_stages()
    open_stage = next(s for s in stages if not s["is_closed"])
    won_stage = next(s for s in stages if s["is_won"])

    deal = hook.create_opportunity(
        {
            "name": "Renewal 2026",
            "amount": 1200,
            "account_id": account["id"],
            "opportunity_stage_id": open_stage["id"],
        }
    )
    hook.create_opportunity({"name": "Upsell 2026"})
    fetched = hook.get_opportunity(deal["id"])
    won = hook.update_opportunity(deal["id"], {"amount": 1500, "opportunity_stage_id": won_stage["id"]})
    every = list(hook.iter_opportunities(per_page=1))

    assert [s["name"] for s in stages] == [s["name"] for s in world_summary["opportunity_stages"]]
    assert (fetched["name"], fetched["amount"], fetched["account_id"]) == (
        "Renewal 2026",
        1200,
        account["id"],
    )
    assert (won["amount"], won["is_won"], won["stage_name"]) == (1500, True, won_stage["name"])
    assert sb.state.opportunities[deal["id"]]["is_closed"] is True
    assert sorted(o["name"] for o in every) == ["Renewal 2026", "Upsell 2026"]
    assert _requests_to(sb, "GET", "opportunities/search") == 2
    assert sb.stats()["opportunities"] == {"total": 2}


# ------------------------------------------------------------------------------ team and usage
def test_team_lists(sb: ApolloSandbox, hook: ApolloHook, world_summary: dict[str, Any]) -> None:
    users = hook.list_users()
    mailboxes = hook.list_email_accounts()
    labels = hook.list_labels()
    fields = hook.list_custom_fields()

    assert [u["id"] for u in users] == [world_summary["user"]["id"]]
    assert [m["email"] for m in mailboxes] == ["sdr@sandbox.example.com", "ae@sandbox.example.com"]
    assert {label["name"] for label in labels} >= {"Sandbox VIP", "Sandbox Target Accounts"}
    assert [f["name"] for f in fields] == ["Lead Source", "ICP Score", "Renewal Date"]
    # The current GET fields answered, so the deprecated route was not needed.
    assert _requests_to(sb, "GET", "fields") == 1
    assert _requests_to(sb, "GET", "typed_custom_fields") == 0


def test_quota_status_and_usage_stats_after_calls(sb: ApolloSandbox, hook: ApolloHook) -> None:
    people = _people(sb, lambda p: bool(p["email"]), 12)
    assert hook.quota_status("people/bulk_match") is None  # nothing learned before the first answer

    hook.bulk_enrich_people([{"id": p["id"]} for p in people])  # two calls
    status = hook.quota_status("people/bulk_match")
    usage = hook.get_api_usage_stats()

    assert status is not None
    # The sandbox's paid-plan bulk limits (half the single endpoint's minute, the same hour and
    # day, as Apollo documents), and its count of this endpoint's two calls.
    assert (status.minute.limit, status.minute.usage, status.minute.left) == (500, 2, 498)
    assert (status.hour.limit, status.day.limit) == (10000, 50000)
    bulk_usage = usage[json.dumps(["api/v1/people", "bulk_match"])]
    assert bulk_usage["minute"] == {"limit": 500, "consumed": 2, "left_over": 498}


# ------------------------------------------------------------------------------------ coverage
def _public_hook_members() -> set[str]:
    """Public methods and properties of ApolloHook and its resource classes (not BaseHook's)."""
    kinds = (staticmethod, classmethod, property, cached_property)
    own_classes = [cls for cls in ApolloHook.__mro__ if cls.__module__.startswith("airflow_provider_apollo.")]
    return {
        name
        for cls in own_classes
        for name, value in vars(cls).items()
        if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, kinds))
    }


def _hook_attributes_used_here() -> set[str]:
    """Attributes this module reads on a hook (``hook.x``, ``wrong_key_hook.x``, ``ApolloHook.x``)."""
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and (node.value.id.endswith("hook") or node.value.id == "ApolloHook")
    }


def test_crm_export_reads(sb: ApolloSandbox, hook: ApolloHook) -> None:
    """The CRM export's reads: a page with its total, later pages in order, a lookup, a delete seen."""
    from airflow_provider_apollo._api.crm_objects import crm_object

    contacts = crm_object("contacts")
    by_creation = {"sort_by_field": "contact_created_at", "sort_ascending": True}
    sb.reset(crm_contacts=250, crm_users=2)
    try:
        first = hook.crm_page(contacts, by_creation, 1)
        assert (first.number, len(first.records), first.total_entries, first.partial) == (1, 100, 250, False)
        later = list(hook.iter_crm_pages(contacts, by_creation, first=2, last=3))
        assert [(p.number, len(p.records)) for p in later] == [(2, 100), (3, 50)]
        assert len({r["id"] for p in (first, *later) for r in p.records}) == 250
        assert _requests_to(sb, "POST", "contacts/search") == 3
        stages = hook.crm_list(crm_object("contact_stages"))
        assert [s["id"] for s in stages] == [s["id"] for s in sb.state.world.contact_stages]
        kept = first.records[0]["id"]
        assert (hook.crm_record_or_none(contacts, kept) or {}).get("id") == kept
        sb.state.delete("contacts", kept)
        assert hook.crm_record_or_none(contacts, kept) is None  # 422 "This contact has been deleted."
    finally:
        sb.reset(crm_contacts=0, crm_users=1)


def test_every_public_hook_method_has_an_integration_test() -> None:
    public = _public_hook_members()
    untested = public - _hook_attributes_used_here() - NOT_SENDING_REQUESTS.keys()

    assert {"request", "bulk_enrich_people", "get_api_usage_stats"} <= public  # the enumeration works
    assert not untested, f"ApolloHook members with no test against the sandbox: {sorted(untested)}"
    assert NOT_SENDING_REQUESTS.keys() <= public, "stale exemption: the member no longer exists"
