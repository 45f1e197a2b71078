"""The writes an upsert needs: bulk updates, account bulk create, custom fields, owners, stages, labels."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from tests.sandbox.conftest import Api

SIZES = {"crm_contacts": 300, "crm_accounts": 30, "crm_users": 3}


@pytest.fixture(scope="module")
def sandbox_options() -> dict[str, Any]:
    """This module's world: a seeded CRM (the suite's default sandbox has none)."""
    noon = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
    return dict(seed=9, people=200, reference_time=noon, **SIZES)


def _fields(api: Api) -> dict[str, str]:
    """Custom field ids by name, as a client reads them from GET /typed_custom_fields."""
    return {f["name"]: f["id"] for f in api.get("/typed_custom_fields").json()["typed_custom_fields"]}


def _records(api: Api, name: str) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in api.control("GET", f"/records/{name}").json()["live"]}


def test_contacts_bulk_update_with_attributes_changes_each_contact_and_bumps_updated_at(sb, api):
    fields = _fields(api)
    users = [u["id"] for u in api.get("/users/search").json()["users"]]
    stages = [s["id"] for s in api.get("/contact_stages").json()["contact_stages"]]
    ids = list(sb.state.contacts)[:3]
    before = _records(api, "contacts")

    response = api.post(
        "/contacts/bulk_update",
        json={
            "contact_attributes": [
                {
                    "id": ids[0],
                    "title": "Chief Upsert Officer",
                    "typed_custom_fields": {fields["ICP Score"]: 97},
                },
                {"id": ids[1], "owner_id": users[2], "contact_stage_id": stages[3]},
                {
                    "id": ids[2],
                    "label_names": ["Warehouse A"],
                    "typed_custom_fields": {fields["Lead Source"]: "dbt"},
                },
            ]
        },
    )
    after = _records(api, "contacts")

    assert response.status_code == 200
    assert [c["id"] for c in response.json()["contacts"]] == ids
    assert after[ids[0]]["title"] == "Chief Upsert Officer"
    assert after[ids[0]]["typed_custom_fields"][fields["ICP Score"]] == 97
    # Fields not named keep their value: the update merges custom fields.
    for field_id, value in before[ids[0]]["typed_custom_fields"].items():
        if field_id != fields["ICP Score"]:
            assert after[ids[0]]["typed_custom_fields"][field_id] == value
    assert (after[ids[1]]["owner_id"], after[ids[1]]["contact_stage_id"]) == (users[2], stages[3])
    warehouse_a = next(lb["id"] for lb in api.get("/labels").json() if lb["name"] == "Warehouse A")
    assert warehouse_a in after[ids[2]]["label_ids"]
    assert after[ids[2]]["typed_custom_fields"][fields["Lead Source"]] == "dbt"
    for contact_id in ids:
        assert after[contact_id]["updated_at"] > before[contact_id]["updated_at"]
    assert all(after[i] == before[i] for i in set(before) - set(ids))


def test_contacts_bulk_update_with_ids_applies_the_same_fields(sb, api):
    stages = [s["id"] for s in api.get("/contact_stages").json()["contact_stages"]]
    ids = list(sb.state.contacts)[10:14]

    response = api.post("/contacts/bulk_update", json={"contact_ids": ids, "contact_stage_id": stages[5]})

    assert response.status_code == 200
    assert {_records(api, "contacts")[i]["contact_stage_id"] for i in ids} == {stages[5]}


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ({"typed_custom_fields": {"0123456789abcdef01234567": "x"}}, "not a custom field of contacts"),
        ({"typed_custom_fields": {"ICP Score": "high"}}, "is a number field"),
        ({"owner_id": "0123456789abcdef01234567"}, "not a valid ID"),
        ({"contact_stage_id": "nope"}, "not a valid ID"),
    ],
)
def test_a_bad_entry_refuses_the_whole_bulk_update(sb, api, edit, named):
    fields = _fields(api)
    custom = edit.get("typed_custom_fields")
    if custom and "ICP Score" in custom:
        edit = {"typed_custom_fields": {fields["ICP Score"]: custom["ICP Score"]}}
    ids = list(sb.state.contacts)[:2]
    before = _records(api, "contacts")

    response = api.post(
        "/contacts/bulk_update",
        json={"contact_attributes": [{"id": ids[0], "title": "Changed"}, {"id": ids[1], **edit}]},
    )

    assert response.status_code == 422 and named in response.json()["error"]
    assert _records(api, "contacts") == before  # the good first entry was not written either


def test_bulk_update_refuses_more_than_1000_and_deleted_contacts(sb, api):
    ids = list(sb.state.contacts)
    too_many = api.post("/contacts/bulk_update", json={"contact_ids": (ids * 4)[:1001], "title": "x"})
    sb.state.delete("contacts", ids[0])
    deleted = api.post("/contacts/bulk_update", json={"contact_ids": ids[:2], "title": "x"})

    assert too_many.status_code == 422 and "at most 1000" in too_many.json()["error"]
    assert deleted.status_code == 422 and deleted.json() == {"error": "This contact has been deleted."}
    assert _records(api, "contacts")[ids[1]]["title"] != "x"


def test_accounts_bulk_create_with_custom_fields_and_dedupe(sb, api):
    fields = _fields(api)
    users = [u["id"] for u in api.get("/users/search").json()["users"]]
    stages = [s["id"] for s in api.get("/account_stages").json()["account_stages"]]
    seeded = next(iter(sb.state.accounts.values()))
    body = {
        "run_dedupe": True,
        "accounts": [
            {
                "name": "Warehouse Co",
                "domain": "warehouse-co.example.org",
                "owner_id": users[1],
                "account_stage_id": stages[2],
                "typed_custom_fields": {fields["Renewal Date"]: "2027-03-01"},
                "label_names": ["Scored A"],
            },
            {"name": "Another", "domain": seeded["domain"]},
        ],
    }

    answer = api.post("/accounts/bulk_create", json=body).json()
    again = api.post("/accounts/bulk_create", json=body).json()
    truth = _records(api, "accounts")

    created = answer["created_accounts"]
    assert [a["name"] for a in created] == ["Warehouse Co"]
    assert [a["id"] for a in answer["existing_accounts"]] == [seeded["id"]]
    assert again["created_accounts"] == [] and len(again["existing_accounts"]) == 2
    record = truth[created[0]["id"]]
    assert (record["owner_id"], record["account_stage_id"]) == (users[1], stages[2])
    assert record["typed_custom_fields"] == {fields["Renewal Date"]: "2027-03-01"}
    assert record["label_ids"] and record["updated_at"] == record["created_at"]
    assert len(truth) == 31


def test_accounts_bulk_create_refuses_an_unknown_custom_field_before_creating_any(sb, api):
    response = api.post(
        "/accounts/bulk_create",
        json={
            "accounts": [
                {"name": "Good", "domain": "good.example.org"},
                {"name": "Bad", "typed_custom_fields": {"0123456789abcdef01234567": 1}},
            ]
        },
    )
    assert response.status_code == 422 and "not a custom field of accounts" in response.json()["error"]
    assert len(_records(api, "accounts")) == 30


def test_accounts_bulk_update_both_spellings_and_patch_clears_a_custom_field(sb, api):
    fields = _fields(api)
    stages = [s["id"] for s in api.get("/account_stages").json()["account_stages"]]
    ids = list(sb.state.accounts)[:3]
    before = _records(api, "accounts")

    legacy = api.post("/accounts/bulk_update", json={"account_ids": ids[:2], "account_stage_id": stages[4]})
    each = api.post(
        "/accounts/bulk_update",
        json={
            "account_attributes": [
                {
                    "id": ids[2],
                    "name": "Renamed",
                    "typed_custom_fields": {fields["Renewal Date"]: "2028-01-31"},
                }
            ]
        },
    )
    patched = api.patch(f"/accounts/{ids[2]}", json={"typed_custom_fields": {fields["Renewal Date"]: None}})
    after = _records(api, "accounts")

    assert legacy.status_code == each.status_code == patched.status_code == 200
    assert {after[i]["account_stage_id"] for i in ids[:2]} == {stages[4]}
    assert after[ids[2]]["name"] == "Renamed"
    assert each.json()["accounts"][0]["typed_custom_fields"][fields["Renewal Date"]] == "2028-01-31"
    assert fields["Renewal Date"] not in after[ids[2]]["typed_custom_fields"]
    assert all(after[i]["updated_at"] > before[i]["updated_at"] for i in ids)


def test_contact_writes_bump_updated_at_through_every_route(sb, api):
    users = [u["id"] for u in api.get("/users/search").json()["users"]]
    stages = [s["id"] for s in api.get("/contact_stages").json()["contact_stages"]]
    ids = list(sb.state.contacts)[20:23]
    before = _records(api, "contacts")

    api.patch(f"/contacts/{ids[0]}", json={"title": "Patched"})
    api.post("/contacts/update_stages", json={"contact_ids": [ids[1]], "contact_stage_id": stages[1]})
    api.post("/contacts/update_owners", json={"contact_ids": [ids[2]], "owner_id": users[1]})
    after = _records(api, "contacts")

    assert all(after[i]["updated_at"] > before[i]["updated_at"] for i in ids)
    newest = api.post("/contacts/search", json={"sort_by_field": "contact_updated_at", "per_page": 3}).json()
    assert {c["id"] for c in newest["contacts"]} == set(ids)


def test_bulk_create_with_run_dedupe_finds_a_seeded_contact_by_email(sb, api):
    seeded = next(iter(sb.state.contacts.values()))
    answer = api.post(
        "/contacts/bulk_create",
        json={
            "run_dedupe": True,
            "contacts": [
                {"first_name": "Same", "last_name": "Person", "email": seeded["email"].upper()},
                {"first_name": "New", "last_name": "Person", "email": "new.person@example.com"},
            ],
        },
    ).json()

    assert [c["id"] for c in answer["existing_contacts"]] == [seeded["id"]]
    assert [c["email"] for c in answer["created_contacts"]] == ["new.person@example.com"]
    assert len(_records(api, "contacts")) == 301


def test_a_changed_email_is_what_dedupe_then_matches(sb, api):
    contact_id = next(iter(sb.state.contacts))
    old_email = sb.state.contacts[contact_id]["email"]
    api.patch(f"/contacts/{contact_id}", json={"email": "moved@example.com"})

    by_new = api.post("/contacts", json={"email": "moved@example.com", "run_dedupe": True}).json()
    by_old = api.post("/contacts", json={"email": old_email, "run_dedupe": True}).json()

    assert by_new["contact"]["id"] == contact_id and "dedupe_result" in by_new
    assert by_old["contact"]["id"] != contact_id and "dedupe_result" not in by_old


def test_the_email_index_returns_the_oldest_live_contact_with_an_email():
    from airflow_provider_apollo.sandbox.crm_index import EmailIndex

    index = EmailIndex()
    for contact_id in ("a", "b", "c"):
        index.add(contact_id, " Same@Example.com ")
    index.add("d", None)

    assert index.first("same@example.COM") == "a"
    index.remove("b", "same@example.com")
    index.remove("a", "same@example.com")
    assert index.first("same@example.com") == "c"  # "b" left first: "c" is the oldest still there
    index.remove("c", "SAME@example.com")
    assert index.first("same@example.com") is None and index.first(None) is None
