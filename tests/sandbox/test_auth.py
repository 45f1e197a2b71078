"""Authentication and key permissions, as Apollo answers them."""

from __future__ import annotations

import pytest
import requests

from airflow_provider_apollo.sandbox import ApolloSandbox
from airflow_provider_apollo.sandbox.catalogue import ENDPOINTS
from tests._support import CANARY_KEY


def test_health_answers_logged_in_with_the_right_key(api):
    response = api.get("/auth/health")

    assert response.status_code == 200
    assert response.json() == {"is_logged_in": True}


def test_wrong_or_missing_key_gets_apollo_plain_text_401_and_is_counted(sb, api):
    wrong = requests.get(api.url("/auth/health"), headers={"X-Api-Key": "nope"}, timeout=5)
    missing = requests.post(api.url("/contacts"), json={"first_name": "A"}, timeout=5)

    assert wrong.status_code == missing.status_code == 401
    assert wrong.text == "Invalid access credentials."
    assert wrong.headers["content-type"].startswith("text/plain")
    assert sb.stats()["unauthorized"] == 2
    assert sb.stats()["contacts"]["total"] == 0


def test_api_key_in_query_or_body_is_ignored_for_auth_and_counted(sb, api):
    in_query = requests.get(api.url("/auth/health"), params={"api_key": CANARY_KEY}, timeout=5)
    in_body = requests.post(api.url("/contacts"), json={"api_key": CANARY_KEY, "first_name": "A"}, timeout=5)
    with_header_too = api.post("/contacts", json={"api_key": CANARY_KEY, "first_name": "A"})

    assert in_query.status_code == in_body.status_code == 401
    assert with_header_too.status_code == 200
    assert "api_key" not in with_header_too.json()["contact"]
    assert sb.stats()["api_key_in_request"] == 2  # the query one and the authenticated body one


def test_api_key_sent_as_bearer_is_refused(api):
    response = requests.get(
        api.url("/auth/health"), headers={"Authorization": f"Bearer {CANARY_KEY}"}, timeout=5
    )

    assert response.status_code == 401


def test_oauth_token_is_accepted_as_bearer():
    with ApolloSandbox(people=20, oauth_tokens=["oauth-token-1"]) as sandbox:
        url = f"{sandbox.base_url}/api/v1/auth/health"
        good = requests.get(url, headers={"Authorization": "Bearer oauth-token-1"}, timeout=5)
        bad = requests.get(url, headers={"Authorization": "Bearer other"}, timeout=5)

    assert good.status_code == 200
    assert bad.status_code == 401


def test_non_master_key_gets_403_api_inaccessible_on_master_only_endpoints():
    with ApolloSandbox(people=20, master_key=False) as sandbox:
        session = requests.Session()
        session.headers["X-Api-Key"] = sandbox.api_key
        base = f"{sandbox.base_url}/api/v1"
        users = session.get(f"{base}/users/search", timeout=5)
        usage = session.post(f"{base}/usage_stats/api_usage_stats", timeout=5)
        people = session.post(f"{base}/mixed_people/api_search", json={}, timeout=5)
        contacts = session.post(f"{base}/contacts/search", json={}, timeout=5)
        forbidden = sandbox.stats()["forbidden"]

    for response in (users, usage, people):
        assert response.status_code == 403
        assert response.json()["error_code"] == "API_INACCESSIBLE"
        assert "not accessible with this access token" in response.json()["error"]
    assert contacts.status_code == 200
    assert forbidden == 3


MASTER_ONLY = [endpoint for endpoint in ENDPOINTS if endpoint.master_only]


def test_the_master_only_list_holds_every_endpoint_the_reference_names():
    # Apollo's reference: "This endpoint requires a master API key" on each of these pages.
    assert {e.key for e in MASTER_ONLY} == {
        "POST /mixed_people/api_search",
        "POST /emailer_campaigns/search",
        "POST /emailer_campaigns/{id}/add_contact_ids",
        "POST /emailer_campaigns/remove_or_stop_contact_ids",
        "POST /tasks",
        "POST /tasks/bulk_create",
        "POST /opportunities",
        "GET /opportunities/search",
        "POST /opportunities/search",  # the same page; the official CLI sends POST
        "GET /opportunities/{id}",
        "PATCH /opportunities/{id}",
        "GET /opportunity_stages",
        "GET /users/search",
        "GET /email_accounts",
        "POST /usage_stats/api_usage_stats",
    }


@pytest.mark.parametrize("endpoint", MASTER_ONLY, ids=lambda e: e.key)
def test_the_non_master_key_gets_apollos_403_and_changes_nothing(sb, api, endpoint):
    limited = requests.Session()
    limited.headers["X-Api-Key"] = sb.non_master_key
    contact = api.new_contact(first_name="Arya")
    url = api.url(endpoint.path.replace("{id}", "some-id"))
    body = {"contact_ids": [contact["id"]], "contact_id": contact["id"], "type": "call", "name": "Deal"}

    refused = limited.request(endpoint.method, url, json=body, timeout=5)
    as_master = api.session.request(endpoint.method, url, json=body, timeout=5)

    assert refused.status_code == 403
    assert refused.json() == {
        "error": f"api/v1{endpoint.path} is not accessible with this access token. "
        "Use a master API key (Settings > Integrations > API keys) for this endpoint.",
        "error_code": "API_INACCESSIBLE",
    }
    assert as_master.status_code != 403
    assert sb.stats()["forbidden"] == 1
    assert sb.stats()["tasks"]["total"] == 0 and sb.stats()["sequence_enrolments"]["total"] == 0


def test_the_non_master_key_reaches_every_other_endpoint(sb, api):
    limited = requests.Session()
    limited.headers["X-Api-Key"] = sb.non_master_key

    assert limited.post(api.url("/contacts/search"), json={}, timeout=5).status_code == 200
    assert limited.post(api.url("/contacts"), json={"first_name": "Sansa"}, timeout=5).status_code == 200
    assert limited.get(api.url("/labels"), timeout=5).status_code == 200
    assert sb.stats()["forbidden"] == 0


def test_master_key_reaches_master_only_endpoints(api):
    assert api.get("/users/search").status_code == 200
    assert api.post("/usage_stats/api_usage_stats").status_code == 200


def test_legacy_v1_prefix_serves_the_same_endpoints_and_counts_under_api_v1(sb, api):
    response = api.session.get(f"{sb.base_url}/v1/auth/health", timeout=5)

    assert response.json() == {"is_logged_in": True}
    assert sb.stats()["requests"]["by_endpoint"] == {"GET /api/v1/auth/health": 1}


def test_unknown_route_is_404(api):
    assert api.get("/no_such_endpoint").status_code == 404
