"""``POST /_sandbox/activity``: what it answers is what ``/_sandbox/records`` and the API then show."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from tests.sandbox.conftest import Api

SIZES = {"crm_contacts": 400, "crm_accounts": 40, "crm_deals": 15, "crm_tasks": 60, "crm_users": 3}
BURST = {
    "seed": 11,
    "update": 12,
    "create": 5,
    "delete": 4,
    "move_stage": 6,
    "account_update": 3,
    "account_create": 2,
    "account_delete": 2,
    "deal_update": 2,
    "deal_create": 1,
    "task_complete": 3,
    "task_create": 2,
}


@pytest.fixture(scope="module")
def sandbox_options() -> dict[str, Any]:
    """This module's world: a seeded CRM (the suite's default sandbox has none)."""
    noon = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
    return dict(seed=5, people=200, reference_time=noon, **SIZES)


def _truth(api: Api, name: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
    answer = api.control("GET", f"/records/{name}").json()
    return {record["id"]: record for record in answer["live"]}, answer["deleted"]


def test_activity_answers_what_records_then_show(sb, api):
    contacts_before, _ = _truth(api, "contacts")
    accounts_before, _ = _truth(api, "accounts")
    deals_before, _ = _truth(api, "opportunities")
    started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")

    response = api.control("POST", "/activity", json=BURST)
    did = response.json()
    contacts, deleted_contacts = _truth(api, "contacts")
    accounts, deleted_accounts = _truth(api, "accounts")
    deals, _ = _truth(api, "opportunities")
    tasks, _ = _truth(api, "tasks")

    assert response.status_code == 200
    c = did["contacts"]
    assert [len(c[k]) for k in ("updated", "created", "deleted", "moved_stage")] == [12, 5, 4, 6]
    assert len(set(c["updated"]) | set(c["deleted"]) | set(c["moved_stage"])) == 22  # distinct contacts
    assert sorted(deleted_contacts) == sorted(c["deleted"])
    assert not set(c["deleted"]) & set(contacts)
    assert set(c["created"]) <= set(contacts) and not set(c["created"]) & set(contacts_before)
    assert len(contacts) == 400 - 4 + 5
    for contact_id in c["updated"] + c["moved_stage"] + c["created"]:
        assert contacts[contact_id]["updated_at"] >= started  # bumped to the sandbox clock
    for contact_id in c["moved_stage"]:
        assert contacts[contact_id]["contact_stage_id"] != contacts_before[contact_id]["contact_stage_id"]
    for contact_id in c["updated"]:
        assert contacts[contact_id] != contacts_before[contact_id]
    untouched = set(contacts_before) - set(c["updated"]) - set(c["moved_stage"]) - set(c["deleted"])
    assert all(contacts[i] == contacts_before[i] for i in untouched)

    a = did["accounts"]
    assert sorted(deleted_accounts) == sorted(a["deleted"]) and len(a["deleted"]) == 2
    assert set(a["created"]) <= set(accounts) and len(accounts) == 40 - 2 + 2
    for account_id in a["updated"]:
        assert accounts[account_id]["updated_at"] >= started
        assert accounts[account_id]["account_stage_id"] != accounts_before[account_id]["account_stage_id"]
    for deal_id in did["opportunities"]["updated"]:
        assert deals[deal_id]["amount"] > deals_before[deal_id]["amount"]
        assert deals[deal_id]["updated_at"] >= started
    assert set(did["opportunities"]["created"]) <= set(deals) and len(deals) == 16
    assert all(tasks[t]["status"] == "completed" for t in did["tasks"]["completed"])
    assert set(did["tasks"]["created"]) <= set(tasks) and len(tasks) == 62


def test_an_incremental_read_newest_first_finds_every_change(sb, api):
    did = api.control(
        "POST", "/activity", json={"seed": 2, "update": 30, "create": 10, "move_stage": 10}
    ).json()
    changed = (
        set(did["contacts"]["updated"])
        | set(did["contacts"]["created"])
        | set(did["contacts"]["moved_stage"])
    )

    newest = api.post(
        "/contacts/search",
        json={"sort_by_field": "contact_updated_at", "sort_ascending": False, "per_page": 50},
    ).json()["contacts"]

    assert {contact["id"] for contact in newest} == changed  # the 50 newest are exactly the 50 changed


def test_the_same_seed_on_the_same_crm_does_the_same_things(sb, api):
    first = api.control("POST", "/activity", json=BURST).json()
    api.control("POST", "/reset")
    again = api.control("POST", "/activity", json=BURST).json()
    api.control("POST", "/reset")
    other = api.control("POST", "/activity", json={**BURST, "seed": 12}).json()

    assert first == again
    assert other["contacts"]["updated"] != first["contacts"]["updated"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"update": -1}, "update"),
        ({"update": "3"}, "update"),
        ({"delete": 10_000}, "10000 contacts"),
        ({"rename": 3}, "rename"),
        ({"seed": "x"}, "seed"),
    ],
)
def test_a_bad_activity_is_refused_and_changes_nothing(sb, api, body, named):
    before, _ = _truth(api, "contacts")

    response = api.control("POST", "/activity", json=body)

    assert response.status_code == 422 and named in response.json()["error"]
    assert _truth(api, "contacts") == (before, [])


def test_the_python_handle_runs_the_same_activity(sb, api):
    did = sb.activity(seed=3, delete=2)
    assert sorted(_truth(api, "contacts")[1]) == sorted(did["contacts"]["deleted"])
