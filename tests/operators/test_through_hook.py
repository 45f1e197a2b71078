"""The operators through the real ApolloHook, with Apollo's HTTP answers mocked (requests-mock)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests_mock as requests_mock_module

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators.enrichment import ApolloEnrichPeopleOperator
from airflow_provider_apollo.operators.generic import ApolloOperator
from airflow_provider_apollo.operators.search import ApolloSearchPeopleOperator
from airflow_provider_apollo.operators.sequences import ApolloAddToSequenceOperator
from airflow_provider_apollo.operators.tasks import ApolloCreateTasksOperator

BASE = "https://api.apollo.io/api/v1"
KEY = "operator-test-key-9c1d"


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[requests_mock_module.Mocker]:
    monkeypatch.setenv(
        "AIRFLOW_CONN_APOLLO_DEFAULT",
        json.dumps({"conn_type": "apollo", "password": KEY, "extra": {"max_retries": 2}}),
    )
    with requests_mock_module.Mocker() as mocker:
        yield mocker


def _real_hook(operator: Any) -> Any:
    """The real hook, with waits recorded instead of slept."""
    operator.hook = ApolloHook()
    operator.hook._sleep = lambda seconds: None
    return operator


def _pagination(total: int) -> dict[str, int]:
    return {"page": 1, "per_page": 100, "total_entries": total, "total_pages": 1}


def test_unknown_filter_key_sends_no_request(api, context, tmp_path):
    target = tmp_path / "people.jsonl"
    op = _real_hook(
        ApolloSearchPeopleOperator(task_id="s", filters={"person_title": ["CEO"]}, output_path=str(target))
    )

    with pytest.raises(ApolloConfigurationError, match="person_titles"):
        op.execute(context)

    assert api.call_count == 0
    assert not target.exists()


def test_search_pages_through_api_search(api, context):
    people = [{"id": f"p{i}", "first_name": "A"} for i in range(3)]
    api.post(f"{BASE}/mixed_people/api_search", json={"total_entries": 3, "people": people})

    result = _real_hook(ApolloSearchPeopleOperator(task_id="s", filters={"person_titles": ["CTO"]})).execute(
        context
    )

    assert result == people
    body = api.request_history[0].json()
    assert body["person_titles"] == ["CTO"]
    assert api.request_history[0].headers["X-Api-Key"] == KEY
    assert KEY not in api.request_history[0].url


def test_enrichment_spends_credits_only_on_people_who_are_not_contacts(api, context, capsys):
    contact = {"id": "c1", "email": "bob@acme.example", "first_name": "Bob", "last_name": "Lee"}
    api.post(f"{BASE}/contacts/search", json={"contacts": [contact], "pagination": _pagination(1)})
    api.post(
        f"{BASE}/people/bulk_match",
        json={
            "matches": [{"id": "p-ann", "email": "ann@acme.example", "first_name": "Ann"}, None],
            "missing_records": 1,
            "credits_consumed": 1,
        },
    )
    people = [{"email": "ann@acme.example"}, {"email": "bob@acme.example"}, {"email": "nobody@acme.example"}]

    result = _real_hook(ApolloEnrichPeopleOperator(task_id="e", people=people)).execute(context)

    assert [r["status"] for r in result] == ["matched", "existing_contact", "not_found"]
    assert result[1]["person"]["id"] == "c1"
    match_calls = [r for r in api.request_history if r.path.endswith("/people/bulk_match")]
    assert [d["email"] for d in match_calls[0].json()["details"]] == [
        "ann@acme.example",
        "nobody@acme.example",
    ]
    assert "1 credit spent" in capsys.readouterr().out


def test_task_create_dropped_after_commit_is_reconciled_not_repeated(api, context):
    created = {
        "id": "t1",
        "contact_id": "c1",
        "type": "call",
        "due_at": "2026-03-02T09:00:00.000+00:00",
        "status": "scheduled",
        "user_id": "u1",
    }
    # First look: nothing. The create answers 502 (it may have happened). Second look: it did.
    api.post(
        f"{BASE}/tasks/search",
        [
            {"json": {"tasks": [], "pagination": _pagination(0)}},
            {"json": {"tasks": [created], "pagination": _pagination(1)}},
        ],
    )
    api.post(f"{BASE}/tasks/bulk_create", status_code=502, text="Bad gateway")

    result = _real_hook(
        ApolloCreateTasksOperator(
            task_id="t", contact_ids=["c1"], due_at="2026-03-02T09:00:00Z", user_id="u1"
        )
    ).execute(context)

    assert result == [created]
    creates = [r for r in api.request_history if r.path.endswith("/tasks/bulk_create")]
    assert len(creates) == 1  # the hook did not resend it, and neither did the operator
    assert creates[0].json()["user_id"] == "u1"
    search = [r.json() for r in api.request_history if r.path.endswith("/tasks/search")]
    # Apollo documents no task filter: only paging is sent, the contact and type are checked here.
    assert search[0] == {"page": 1, "per_page": 100}


def test_add_to_sequence_resolves_names_and_reports_skips(api, context):
    api.post(
        f"{BASE}/emailer_campaigns/search",
        json={"emailer_campaigns": [{"id": "s1", "name": "Sandbox Outreach"}], "pagination": _pagination(1)},
    )
    api.get(f"{BASE}/email_accounts", json={"email_accounts": [{"id": "ea1", "email": "sdr@acme.example"}]})
    api.post(
        f"{BASE}/emailer_campaigns/s1/add_contact_ids",
        json={"contacts": [{"id": "c1"}], "skipped_contact_ids": {"c2": "contact_has_no_email"}},
    )

    result = _real_hook(
        ApolloAddToSequenceOperator(
            task_id="a",
            sequence_name="Sandbox Outreach",
            email_account="sdr@acme.example",
            contact_ids=["c1", "c2"],
        )
    ).execute(context)

    assert result == {"sequence_id": "s1", "added": ["c1"], "skipped": {"c2": "contact_has_no_email"}}
    body = api.request_history[-1].json()
    assert body["send_email_from_email_account_id"] == "ea1"
    assert body["contact_ids"] == ["c1", "c2"]


def test_generic_operator_request(api, context):
    api.get(f"{BASE}/opportunities/search?page=2", json={"opportunities": []})

    result = _real_hook(
        ApolloOperator(
            task_id="g", method="GET", endpoint="/api/v1/opportunities/search", query_params={"page": 2}
        )
    ).execute(context)

    assert result == {"opportunities": []}
    assert api.request_history[0].qs == {"page": ["2"]}
