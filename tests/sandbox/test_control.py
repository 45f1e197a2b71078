"""The control plane under /_sandbox/ and the matching ApolloSandbox methods."""

from __future__ import annotations

import json

from airflow_provider_apollo.sandbox import ApolloSandbox
from tests._support import CANARY_KEY

STATS_KEYS = {
    "requests",
    "rate_limited",
    "rate_limited_by_endpoint",
    "faults",
    "credits",
    "contacts",
    "accounts",
    "tasks",
    "sequence_enrolments",
    "unauthorized",
}


def test_stats_over_http_equal_sb_stats_and_have_the_promised_keys(sb, api):
    api.post("/contacts", json={"first_name": "A"})

    over_http = api.control("GET", "/stats").json()

    assert over_http == sb.stats()
    assert set(over_http) >= STATS_KEYS
    assert over_http["requests"] == {"total": 1, "by_endpoint": {"POST /api/v1/contacts": 1}}


def test_reset_forgets_records_and_counters_but_keeps_the_world(sb, api):
    people_before = [p["id"] for p in sb.state.world.people[:5]]
    api.post("/contacts", json={"first_name": "A"})

    assert api.control("POST", "/reset").json() == {"reset": True}

    assert sb.stats()["contacts"]["total"] == 0
    assert sb.stats()["requests"]["total"] == 0
    assert [p["id"] for p in sb.state.world.people[:5]] == people_before
    assert api.new_contact(first_name="B")["id"].endswith("01")  # ids restart too: runs are repeatable


def test_posting_job_postings_makes_them_visible_newest_first(sb, api):
    org_id = sb.state.world.organizations[0]["id"]
    before = api.get(f"/organizations/{org_id}/job_postings", params={"per_page": 100}).json()["pagination"][
        "total_entries"
    ]

    created = api.control(
        "POST", "/job_postings", json={"organization_id": org_id, "postings": [{"title": "Head of Data"}]}
    ).json()
    via_method = sb.add_job_postings(
        org_id, [{"title": "Data Engineer", "posted_at": "2020-01-01T00:00:00Z"}]
    )
    after = api.get(f"/organizations/{org_id}/job_postings", params={"per_page": 100}).json()

    assert created["organization_job_postings"][0]["title"] == "Head of Data"
    assert via_method[0]["posted_at"].startswith("2020-01-01T00:00:00")
    assert after["pagination"]["total_entries"] == before + 2
    assert after["organization_job_postings"][0]["title"] == "Head of Data"
    assert (
        api.control("POST", "/job_postings", json={"organization_id": "nope", "postings": []}).status_code
        == 422
    )


def test_completing_tasks(sb, api):
    contact = api.new_contact(first_name="A")
    owner = sb.state.world.user["id"]
    body = {
        "contact_id": contact["id"],
        "type": "call",
        "user_id": owner,
        "status": "scheduled",
        "due_at": "2030-01-01T09:00:00Z",
    }
    task = api.post("/tasks", json=body).json()["task"]

    done = api.control("POST", "/tasks/complete", json={"task_ids": [task["id"]]}).json()

    assert done["tasks"][0]["status"] == "completed"
    assert sb.state.tasks[task["id"]]["status"] == "completed"
    assert api.control("POST", "/tasks/complete", json={"task_ids": ["nope"]}).status_code == 422


def test_config_changes_limits_and_faults_at_runtime(sb, api):
    response = api.control(
        "POST", "/config", json={"limits": {"other": {"per_minute": 1}}, "faults": {"seed": 9}}
    )

    assert response.status_code == 200
    assert response.json()["limits"]["other"]["per_minute"] == 1
    assert response.json()["faults"]["seed"] == 9
    assert api.post("/contacts/search", json={}).status_code == 200
    assert api.post("/contacts/search", json={}).status_code == 429
    assert api.control("POST", "/config", json={"limits": {"nope": {}}}).status_code == 422
    assert api.control("POST", "/config", json={"faults": {"error_5xx": 2}}).status_code == 422


def test_world_summary(sb, api):
    world = api.control("GET", "/world").json()

    assert world["counts"]["people"] == 300
    assert world["user"]["email"] == "owner@sandbox.example.com"
    assert len(world["email_accounts"]) == 2
    assert world["sample_domains"][0] == sb.state.world.organizations[0]["primary_domain"]
    assert all(sb.state.world.job_postings[o["id"]] for o in world["sample_organizations_hiring"])
    # The titles a people search can match, the most common first.
    titles = [p["title"] for p in sb.state.world.people]
    assert world["titles"][0] == max(set(titles), key=titles.count)
    assert set(world["titles"]) <= set(titles) and len(world["titles"]) == len(set(world["titles"]))


def test_connection_helpers(sb):
    connection = json.loads(sb.connection_json)

    assert connection == {"conn_type": "apollo", "host": sb.base_url, "password": CANARY_KEY}
    assert sb.base_url.startswith("http://127.0.0.1:") and not sb.base_url.endswith("/api/v1")
    assert sb.env == {"AIRFLOW_CONN_APOLLO_DEFAULT": sb.connection_json}


def test_two_sandboxes_with_one_seed_answer_the_same(sb):
    with ApolloSandbox(seed=7, people=300) as twin:
        twin_people = [p["id"] for p in twin.state.world.people]
        twin_email = twin.state.world.people[10]["email"]

    assert twin_people == [p["id"] for p in sb.state.world.people]
    assert twin_email == sb.state.world.people[10]["email"]
