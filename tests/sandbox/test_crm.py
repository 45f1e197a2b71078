"""The seeded CRM: deterministic seeding, documented sorts with ties, the display cap, deletes, config."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxLimits, WindowLimits
from airflow_provider_apollo.sandbox.cli import build_parser
from airflow_provider_apollo.sandbox.crm_seed import CrmSizes
from airflow_provider_apollo.sandbox.state import SandboxState
from airflow_provider_apollo.sandbox.world import generate_world
from tests._support import CANARY_KEY
from tests.sandbox.conftest import Api

SIZES = {"crm_contacts": 600, "crm_accounts": 80, "crm_deals": 20, "crm_tasks": 60, "crm_users": 3}
NOON = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def sandbox_options() -> dict[str, Any]:
    """This module's world: a seeded CRM (the suite's default sandbox has none)."""
    return dict(seed=7, people=300, reference_time=NOON, **SIZES)


def _state(seed: int, **sizes: int) -> SandboxState:
    world = generate_world(seed=seed, people=200, reference_time=NOON)
    return SandboxState(lambda: world, CrmSizes(**sizes))


def _walk(
    api: Api, path: str, body: dict[str, Any], key: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every page of a search; returns the records and each page's pagination."""
    records: list[dict[str, Any]] = []
    paginations = []
    page = 1
    while True:
        answer = api.post(path, json={**body, "page": page}).json()
        paginations.append(answer["pagination"])
        records.extend(answer[key])
        if page >= answer["pagination"]["total_pages"]:
            return records, paginations
        page += 1


# ------------------------------------------------------------------------------ seeding
def test_seeding_is_deterministic_for_a_seed_and_differs_between_seeds():
    first = _state(3, contacts=300, accounts=40, deals=10, tasks=30, users=3)
    again = _state(3, contacts=300, accounts=40, deals=10, tasks=30, users=3)
    other = _state(4, contacts=300, accounts=40, deals=10, tasks=30, users=3)

    for kind in ("contacts", "accounts", "opportunities", "tasks"):
        assert getattr(first, kind) == getattr(again, kind)
        assert (
            len(getattr(first, kind))
            == {"contacts": 300, "accounts": 40, "opportunities": 10, "tasks": 30}[kind]
        )
    assert first.users == again.users and len(first.users) == 3
    assert [c["email"] for c in first.contacts.values()] != [c["email"] for c in other.contacts.values()]


def test_seeded_contacts_look_like_api_contacts_and_carry_the_crm_fields(sb, api):
    created = api.new_contact(first_name="Api", last_name="Made", email="api.made@example.com")
    seeded = next(iter(sb.state.contacts.values()))

    assert set(seeded) == set(created)
    stage_ids = {s["id"] for s in sb.state.world.contact_stages}
    user_ids = {u["id"] for u in api.get("/users/search").json()["users"]}
    contacts = list(sb.state.contacts.values())
    assert {c["contact_stage_id"] for c in contacts} <= stage_ids
    assert len({c["contact_stage_id"] for c in contacts}) > 3
    assert {c["owner_id"] for c in contacts} == user_ids  # every user owns some
    assert sum(1 for c in contacts if c["label_ids"]) > 100
    assert sum(1 for c in contacts if c["typed_custom_fields"]) > 300
    assert sum(1 for c in contacts if c["account_id"]) > 500
    assert all(c["updated_at"] >= c["created_at"] for c in contacts)
    assert all(c["updated_at"].endswith("Z") and len(c["updated_at"]) == 24 for c in contacts)


def test_some_contacts_share_their_updated_at_millisecond(sb):
    ties = Counter(c["updated_at"] for c in sb.state.contacts.values())
    assert sum(n for n in ties.values() if n > 1) >= 10


def test_the_default_sandbox_has_an_empty_crm_and_one_user():
    state = _state(7)
    assert (state.contacts, state.accounts, state.opportunities, state.tasks) == ({}, {}, {}, {})
    assert [u["id"] for u in state.users] == [state.world.user["id"]]


def test_sixty_thousand_contacts_seed_quickly_and_the_cap_hides_records_past_50000():
    started = time.perf_counter()
    sandbox = ApolloSandbox(
        api_key=CANARY_KEY, people=100, reference_time=NOON, crm_contacts=60_000, crm_accounts=500
    )
    seconds = time.perf_counter() - started
    # Not a benchmark: a bound loose enough for a loaded 2-core CI machine that still catches a
    # generation that went quadratic (hours at this size). About 2 s here.
    assert seconds < 30, f"seeding 60,000 contacts took {seconds:.1f}s"
    with sandbox:
        api = Api(sandbox)
        body = {"sort_by_field": "contact_updated_at", "sort_ascending": True}
        last = api.post("/contacts/search", json={**body, "per_page": 100, "page": 500}).json()
        past = api.post("/contacts/search", json={**body, "per_page": 100, "page": 501}).json()
        wide = api.post("/contacts/search", json={**body, "per_page": 200, "page": 250}).json()
        wider = api.post("/contacts/search", json={**body, "per_page": 200, "page": 251}).json()

    ordered = sorted(sandbox.state.contacts.values(), key=lambda c: (c["updated_at"], c["id"]))
    assert [c["id"] for c in last["contacts"]] == [c["id"] for c in ordered[49_900:50_000]]
    assert past["contacts"] == [] and wider["contacts"] == []
    assert [c["id"] for c in wide["contacts"]] == [c["id"] for c in ordered[49_800:50_000]]
    for answer in (last, past, wide, wider):
        assert answer["pagination"]["total_entries"] == 60_000  # the true total, past the cap
        assert answer["partial_results_only"] is False
    assert past["pagination"]["total_pages"] == 600


# ------------------------------------------------------------------------------ sorts and filters
@pytest.mark.parametrize("ascending", [True, False])
def test_contacts_sorted_by_updated_at_page_through_every_contact_once_with_ties(sb, api, ascending):
    records, pages = _walk(
        api,
        "/contacts/search",
        {"sort_by_field": "contact_updated_at", "sort_ascending": ascending, "per_page": 100},
        "contacts",
    )

    ids = [c["id"] for c in records]
    assert len(ids) == len(set(ids)) == 600 == pages[0]["total_entries"]
    stamps = [c["updated_at"] for c in records]
    assert stamps == sorted(stamps, reverse=not ascending)
    assert {p["total_pages"] for p in pages} == {6}


def test_descending_is_the_default_and_other_documented_sort_fields_work(sb, api):
    newest = api.post("/contacts/search", json={"sort_by_field": "contact_updated_at", "per_page": 5}).json()
    created = api.post(
        "/contacts/search",
        json={"sort_by_field": "contact_created_at", "sort_ascending": True, "per_page": 100},
    ).json()
    activity = api.post(
        "/contacts/search",
        json={"sort_by_field": "contact_last_activity_date", "sort_ascending": False, "per_page": 100},
    ).json()

    top = max(c["updated_at"] for c in sb.state.contacts.values())
    assert newest["contacts"][0]["updated_at"] == top
    created_at = [c["created_at"] for c in created["contacts"]]
    assert created_at == sorted(created_at) and created_at[0] == min(
        c["created_at"] for c in sb.state.contacts.values()
    )
    dates = [c["last_activity_date"] for c in activity["contacts"]]
    assert None not in dates and dates == sorted(dates, reverse=True)  # contacts without one come last


def test_contact_filters_count_what_they_match(sb, api):
    contacts = list(sb.state.contacts.values())
    stage = contacts[0]["contact_stage_id"]
    label = next(c["label_ids"][0] for c in contacts if c["label_ids"])
    owner = contacts[0]["owner_id"]
    name = contacts[0]["last_name"]

    def total(**body: Any) -> int:
        return int(
            api.post("/contacts/search", json={**body, "per_page": 1}).json()["pagination"]["total_entries"]
        )

    assert total(contact_stage_ids=[stage]) == sum(c["contact_stage_id"] == stage for c in contacts)
    assert total(contact_label_ids=[label]) == sum(label in c["label_ids"] for c in contacts)
    assert total(owner_ids=[owner]) == sum(c["owner_id"] == owner for c in contacts)
    assert total(q_keywords=name) == sum(
        name.lower() in f"{c['name']} {c['email']}".lower() for c in contacts
    )
    assert 0 < total(contact_stage_ids=[stage]) < 600


@pytest.mark.parametrize("field", ["account_updated_at", "account_created_at", "account_last_activity_date"])
def test_accounts_sort_by_the_documented_fields_and_filter(sb, api, field):
    records, _ = _walk(
        api, "/accounts/search", {"sort_by_field": field, "sort_ascending": True, "per_page": 30}, "accounts"
    )

    key = field.removeprefix("account_")
    # The documented account record has no updated_at: the truth has it.
    truth = {a["id"]: a for a in api.control("GET", "/records/accounts").json()["live"]}
    values = [truth[a["id"]][key] if key == "updated_at" else a[key] for a in records]
    assert "updated_at" not in records[0]
    assert len(records) == 80 == len({a["id"] for a in records})
    assert values == sorted(values, key=lambda v: (v is not None, v or ""))
    stage = records[0]["account_stage_id"]
    staged = api.post("/accounts/search", json={"account_stage_ids": [stage], "per_page": 100}).json()
    assert staged["pagination"]["total_entries"] == sum(a["account_stage_id"] == stage for a in records)
    name = records[0]["name"]
    named = api.post("/accounts/search", json={"q_organization_name": name}).json()["accounts"]
    assert records[0]["id"] in {a["id"] for a in named}


def test_deals_tasks_sequences_users_stages_and_labels_list_the_seeded_team(sb, api):
    deals_get = api.get("/opportunities/search", params={"per_page": 100}).json()
    deals_post = api.post(
        "/opportunities/search", json={"sort_by_field": "amount", "sort_ascending": True, "per_page": 100}
    ).json()
    tasks = api.post(
        "/tasks/search", json={"sort_by_field": "task_due_at", "sort_ascending": True, "per_page": 100}
    )
    users = api.get("/users/search").json()
    labels = api.get("/labels").json()

    assert deals_get["pagination"]["total_entries"] == 20 == len(deals_post["opportunities"])
    amounts = [d["amount"] for d in deals_post["opportunities"]]
    assert amounts == sorted(amounts)
    due = [t["due_at"] for t in tasks.json()["tasks"]]
    assert len(due) == 60 and due == sorted(due)
    assert users["pagination"]["total_entries"] == 3
    assert {"Newsletter", "Tier 1"} <= {label["name"] for label in labels}
    for path, key in (("/contact_stages", "contact_stages"), ("/account_stages", "account_stages")):
        assert api.get(path).json()[key]
    assert api.post("/emailer_campaigns/search").json()["pagination"]["total_entries"] == 4


def test_account_search_counts_against_its_own_rate_limit_window(sb, api):
    sb.configure(limits=SandboxLimits(other=WindowLimits(per_minute=2)))
    statuses = [api.post("/accounts/search").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert api.post("/contacts/search").status_code == 200  # another endpoint, another count


# ------------------------------------------------------------------------------ deletes
def test_a_deleted_contact_answers_422_and_leaves_search(sb, api):
    gone = next(iter(sb.state.contacts))
    sb.state.delete("contacts", gone)

    view = api.get(f"/contacts/{gone}")
    everyone, _ = _walk(
        api, "/contacts/search", {"sort_by_field": "contact_updated_at", "per_page": 100}, "contacts"
    )
    patch = api.patch(f"/contacts/{gone}", json={"title": "Back"})

    assert view.status_code == 422 and view.json() == {"error": "This contact has been deleted."}
    assert patch.status_code == 422
    assert gone not in {c["id"] for c in everyone} and len(everyone) == 599
    unknown = api.get("/contacts/0123456789abcdef01234567")
    assert unknown.status_code == 422 and "not a valid ID" in unknown.json()["error"]


def test_a_deleted_account_answers_422_and_leaves_search(sb, api):
    gone = next(iter(sb.state.accounts))
    sb.state.delete("accounts", gone)

    view = api.get(f"/accounts/{gone}")
    listed = api.post("/accounts/search", json={"per_page": 100}).json()

    assert view.status_code == 422 and view.json() == {"error": "This account has been deleted."}
    assert gone not in {a["id"] for a in listed["accounts"]}
    assert listed["pagination"]["total_entries"] == 79


# ------------------------------------------------------------------------------ records and config
def test_records_are_the_truth_with_the_mapped_fields(sb, api):
    gone = next(iter(sb.state.contacts))
    sb.state.delete("contacts", gone)
    truth = api.control("GET", "/records/contacts").json()
    compact = api.control("GET", "/records/contacts", params={"fields": "email"}).json()
    one = truth["live"][0]
    viewed = api.get(f"/contacts/{one['id']}").json()["contact"]

    assert truth["deleted"] == [gone] and truth["counts"] == {"live": 599, "deleted": 1}
    assert len(truth["live"]) == 599 and gone not in {c["id"] for c in truth["live"]}
    assert {k: viewed[k] for k in one} == one
    assert set(compact["live"][0]) == {"id", "updated_at", "email"}
    deals = api.control("GET", "/records/opportunities").json()["live"]
    assert len(deals) == 20 and all(d["updated_at"] for d in deals)  # kept although the API shape has none
    assert len(api.control("GET", "/records/sequences").json()["live"]) == 4
    assert api.control("GET", "/records/widgets").status_code == 422
    assert api.control("GET", "/records/contacts", params={"fields": "shoe_size"}).status_code == 422


def test_crm_size_config_takes_effect_on_reset(sb, api):
    changed = api.control("POST", "/config", json={"crm_contacts": 50, "crm_accounts": 5})
    before_reset = api.control("GET", "/world").json()["crm"]
    try:
        api.control("POST", "/reset")
        after_reset = api.control("GET", "/world").json()["crm"]
        config = api.control("GET", "/config").json()
    finally:
        sb.reset(**SIZES)

    assert changed.status_code == 200 and changed.json()["crm_contacts"] == 50
    assert changed.json()["crm_seeded"]["crm_contacts"] == 600
    assert before_reset["live"]["contacts"] == 600
    assert after_reset["live"] == {"contacts": 50, "accounts": 5, "opportunities": 20, "tasks": 60}
    assert config["crm_seeded"] == {**SIZES, "crm_contacts": 50, "crm_accounts": 5}
    assert api.control("POST", "/config", json={"crm_contacts": -1}).status_code == 422
    assert api.control("POST", "/config", json={"crm_widgets": 1}).status_code == 422
    assert api.control("POST", "/config", json={"crm_users": 0}).status_code == 422


def test_world_lists_the_crm_control_points(sb, api):
    world = api.control("GET", "/world").json()
    assert {"POST /_sandbox/activity", "GET /_sandbox/records/{object}"} <= set(world["control_endpoints"])
    assert {"contacts", "accounts", "opportunities", "tasks", "sequences", "users"} <= set(
        world["crm"]["records_objects"]
    )
    assert {"seed", "update", "create", "delete", "move_stage"} <= set(world["crm"]["activity_keys"])


def test_cli_flags_size_the_crm():
    args = build_parser().parse_args(["--crm-contacts", "120000", "--crm-accounts", "7"])
    defaults = build_parser().parse_args([])
    assert (args.crm_contacts, args.crm_accounts) == (120_000, 7)
    assert (defaults.crm_contacts, defaults.crm_accounts, defaults.crm_users) == (500, 100, 5)


def test_the_control_points_refuse_non_loopback_clients(sb):
    # The new points sit on the control router, whose every route depends on the loopback guard.
    from fastapi import HTTPException
    from starlette.requests import Request

    from airflow_provider_apollo.sandbox import control

    router = control.build_router(sb.runtime)
    paths = {getattr(route, "path", "") for route in router.routes}
    outsider = Request({"type": "http", "client": ("203.0.113.9", 5000), "headers": []})

    assert {"/_sandbox/activity", "/_sandbox/records/{name}"} <= paths
    assert [dependency.dependency for dependency in router.dependencies] == [control._loopback_only]
    with pytest.raises(HTTPException) as refused:
        control._loopback_only(outsider)
    assert refused.value.status_code == 403
    assert requests.get(f"{sb.base_url}/_sandbox/records/users", timeout=5).status_code == 200


def test_a_repeated_filtered_search_sees_the_writes_made_between_its_pages(sb, api):
    contacts = list(sb.state.contacts.values())
    stage = contacts[0]["contact_stage_id"]
    outsider = next(c for c in contacts if c["contact_stage_id"] != stage)
    other_stage = outsider["contact_stage_id"]
    body = {"contact_stage_ids": [stage], "sort_by_field": "contact_updated_at", "per_page": 5}

    first = api.post("/contacts/search", json=body).json()
    api.post("/contacts/update_stages", json={"contact_ids": [outsider["id"]], "contact_stage_id": stage})
    second = api.post("/contacts/search", json=body).json()
    moved_away = next(c["id"] for c in second["contacts"] if c["id"] != outsider["id"])
    api.post("/contacts/bulk_update", json={"contact_ids": [moved_away], "contact_stage_id": other_stage})
    third = api.post("/contacts/search", json=body).json()

    total = first["pagination"]["total_entries"]
    assert second["pagination"]["total_entries"] == total + 1
    assert second["contacts"][0]["id"] == outsider["id"]  # just changed: newest first
    assert third["pagination"]["total_entries"] == total
    assert moved_away not in {c["id"] for c in third["contacts"]}


@pytest.mark.parametrize("sizes", [{"crm_contacts": -1}, {"crm_users": 0}, {"crm_deals": True}])
def test_bad_crm_sizes_are_refused_by_name(sizes):
    name = next(iter(sizes))
    with pytest.raises(ValueError, match=name):
        ApolloSandbox(people=50, **sizes)


def test_the_cli_refuses_a_bad_crm_size(capsys):
    from airflow_provider_apollo.sandbox.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["--port", "0", "--people", "50", "--crm-contacts", "-5"])
    assert stopped.value.code == 2 and "crm_contacts" in capsys.readouterr().err


def test_reset_with_sizes_reseeds_and_refuses_unknown_names(sb):
    try:
        sb.reset(crm_contacts=7)
        assert len(sb.state.contacts) == 7
        with pytest.raises(ValueError, match="crm_widgets"):
            sb.reset(crm_widgets=1)
        assert len(sb.state.contacts) == 7  # the refused reset changed nothing
    finally:
        sb.reset(**SIZES)
