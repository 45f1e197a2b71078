"""Tasks: never deduplicated, bulk create, search (POST and legacy GET), completion."""

from __future__ import annotations

DUE = "2026-12-21T16:16:48.311Z"


def test_creating_the_same_task_twice_creates_two_and_stats_count_the_duplicate(sb, api):
    contact = api.new_contact(first_name="Bran")
    task = {
        "contact_id": contact["id"],
        "type": "call",
        "priority": "high",
        "due_at": DUE,
        "note": "call Bran",
    }

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
        json={"contact_ids": contacts, "type": "outreach_manual_email", "priority": "medium", "due_at": DUE},
    ).json()

    assert body["success"] is True
    assert [t["contact_id"] for t in body["tasks"]] == contacts
    assert sb.stats()["tasks"] == {"total": 3, "duplicates": 0}


def test_invalid_task_fields_are_422_and_create_nothing(sb, api):
    contact = api.new_contact(first_name="Hodor")

    bad_type = api.post("/tasks", json={"contact_id": contact["id"], "type": "telepathy", "priority": "high"})
    bad_contact = api.post("/tasks", json={"contact_id": "nope", "type": "call", "priority": "high"})
    bad_priority = api.post(
        "/tasks/bulk_create", json={"contact_ids": [contact["id"]], "type": "call", "priority": "urgent"}
    )

    assert bad_type.status_code == bad_contact.status_code == bad_priority.status_code == 422
    assert sb.stats()["tasks"]["total"] == 0


def test_search_filters_and_legacy_get(sb, api):
    one = api.new_contact(first_name="One")["id"]
    two = api.new_contact(first_name="Two")["id"]
    api.post(
        "/tasks/bulk_create",
        json={"contact_ids": [one, two], "type": "call", "priority": "low", "due_at": DUE},
    )
    email_task = api.post(
        "/tasks", json={"contact_id": one, "type": "outreach_manual_email", "priority": "low"}
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
