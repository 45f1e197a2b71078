"""Tasks: never deduplicated, bulk create, search (POST and legacy GET), completion."""

from __future__ import annotations

import pytest

DUE = "2026-12-21T16:16:48.311Z"


def required(sb, **fields):
    """A task body with every field Apollo's reference marks required, plus ``fields``."""
    return {"user_id": sb.state.world.user["id"], "status": "scheduled", "due_at": DUE, **fields}


def test_creating_the_same_task_twice_creates_two_and_stats_count_the_duplicate(sb, api):
    contact = api.new_contact(first_name="Bran")
    task = required(sb, contact_id=contact["id"], type="call", priority="high", note="call Bran")

    first = api.post("/tasks", json=task).json()["task"]
    second = api.post("/tasks", json=task).json()["task"]

    assert first["id"] != second["id"]
    assert set(first) >= {
        "id",
        "user_id",
        "created_at",
        "completed_at",
        "note",
        "due_at",
        "type",
        "priority",
        "status",
        "contact_id",
    }
    assert first["status"] == "scheduled"
    assert sb.stats()["tasks"] == {"total": 2, "duplicates": 1}


def test_bulk_create_one_task_per_contact(sb, api):
    contacts = [api.new_contact(first_name=f"C{i}")["id"] for i in range(3)]

    body = api.post(
        "/tasks/bulk_create",
        json=required(sb, contact_ids=contacts, type="outreach_manual_email", priority="medium"),
    ).json()

    assert body["success"] is True
    assert [t["contact_id"] for t in body["tasks"]] == contacts
    assert sb.stats()["tasks"] == {"total": 3, "duplicates": 0}


def test_invalid_task_fields_are_422_and_create_nothing(sb, api):
    contact = api.new_contact(first_name="Hodor")

    bad_type = api.post("/tasks", json=required(sb, contact_id=contact["id"], type="telepathy"))
    bad_contact = api.post("/tasks", json=required(sb, contact_id="nope", type="call", priority="high"))
    bad_priority = api.post(
        "/tasks/bulk_create", json=required(sb, contact_ids=[contact["id"]], type="call", priority="urgent")
    )
    bad_owner = api.post("/tasks", json=required(sb, contact_id=contact["id"], type="call", user_id="nobody"))

    assert bad_type.status_code == bad_contact.status_code == bad_priority.status_code == 422
    assert bad_owner.status_code == 422
    assert sb.stats()["tasks"]["total"] == 0


@pytest.mark.parametrize("path", ["/tasks", "/tasks/bulk_create"])
@pytest.mark.parametrize("missing", ["user_id", "type", "status", "due_at", "contact"])
def test_a_task_without_a_documented_required_field_is_a_422_naming_it(sb, api, path, missing):
    # create-a-task / bulk-create-tasks: user_id, contact_id(s), type, status and due_at are
    # "required"; a task without an owner is the provider bug this rule exists to catch.
    contact = api.new_contact(first_name="Rickon")["id"]
    contact_field = "contact_id" if path == "/tasks" else "contact_ids"
    body = required(sb, type="call", **{contact_field: contact if path == "/tasks" else [contact]})
    del body[contact_field if missing == "contact" else missing]

    answer = api.post(path, json=body)

    assert answer.status_code == 422
    assert set(answer.json()) == {"error"}
    assert (contact_field if missing == "contact" else missing) in answer.json()["error"]
    assert sb.stats()["tasks"]["total"] == 0


def test_priority_is_optional_and_defaults_to_medium(sb, api):
    contact = api.new_contact(first_name="Osha")["id"]

    task = api.post("/tasks", json=required(sb, contact_id=contact, type="call")).json()["task"]

    assert task["priority"] == "medium"


def test_search_filters_and_legacy_get(sb, api):
    one = api.new_contact(first_name="One")["id"]
    two = api.new_contact(first_name="Two")["id"]
    api.post(
        "/tasks/bulk_create",
        json=required(sb, contact_ids=[one, two], type="call", priority="low"),
    )
    email_task = api.post(
        "/tasks", json=required(sb, contact_id=one, type="outreach_manual_email", priority="low")
    ).json()["task"]
    sb.complete_tasks([email_task["id"]])

    by_contact = api.post("/tasks/search", json={"contact_ids": [one]}).json()
    by_type = api.post("/tasks/search", json={"task_types": ["call"]}).json()
    completed = api.post("/tasks/search", json={"statuses": ["completed"]}).json()
    legacy = api.get("/tasks/search", params={"open_factor_names[]": "task_types", "per_page": 2}).json()

    assert by_contact["pagination"]["total_entries"] == 2
    assert {t["contact_id"] for t in by_type["tasks"]} == {one, two}
    assert [t["id"] for t in completed["tasks"]] == [email_task["id"]]
    assert completed["tasks"][0]["completed_at"] is not None
    assert legacy["pagination"] == {"page": 1, "per_page": 2, "total_entries": 3, "total_pages": 2}


def test_search_page_above_100_is_refused_as_documented(sb, api):
    # search-for-tasks, per_page: 100 at most; more "may trigger a 422 error".
    assert api.post("/tasks/search", json={"per_page": 100}).status_code == 200
    refused = api.post("/tasks/search", json={"per_page": 101})

    assert refused.status_code == 422
    assert "per_page" in refused.json()["error"]
