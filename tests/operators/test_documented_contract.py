"""The provider against Apollo's documented contract (issue 10's defects, issue 11's re-runs).

Each test here failed on the code before the fix (commit 76aaa7a) and pins one documented
rule: requests-mock tests assert what is sent and what comes back through the real hook;
the re-run test uses the sandbox, which already behaves as Apollo documents for tasks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests_mock as requests_mock_module

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators.contacts import ApolloCreateContactsOperator, contact_fields
from airflow_provider_apollo.operators.enrichment import ApolloEnrichPeopleOperator
from airflow_provider_apollo.operators.tasks import ApolloCreateTasksOperator

BASE = "https://api.apollo.io/api/v1"
KEY = "contract-test-key-51ab"
DUE = "2026-03-02T09:00:00Z"
DOCUMENTED_TASK_TYPES = (
    "call",
    "outreach_manual_email",
    "action_item",
    "linkedin_step_connect",
    "linkedin_step_message",
    "linkedin_step_view_profile",
    "linkedin_step_interact_post",
)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[requests_mock_module.Mocker]:
    monkeypatch.setenv(
        "AIRFLOW_CONN_APOLLO_DEFAULT",
        json.dumps({"conn_type": "apollo", "password": KEY, "extra": {"max_retries": 2}}),
    )
    with requests_mock_module.Mocker() as mocker:
        yield mocker


def _hook() -> ApolloHook:
    hook = ApolloHook()
    hook._sleep = lambda seconds: None
    return hook


def _run(operator: Any, context: dict[str, Any]) -> Any:
    operator.hook = _hook()
    return operator.execute(context)


def _sent(api: requests_mock_module.Mocker, path: str) -> list[Any]:
    return [r.json() if r.body else None for r in api.request_history if r.path == f"/api/v1/{path}"]


def _statuses(context: dict[str, Any]) -> list[dict[str, Any]]:
    (call,) = [c for c in context["ti"].xcom_push.call_args_list if c.kwargs.get("key") == "input_statuses"]
    return list(call.kwargs["value"])


# ------------------------------------------------------------ 1. contacts belong to their input
def test_a_contact_apollo_created_without_its_email_is_never_handed_to_another_input(api, context, capsys):
    # "Invalid emails will be ignored" (Contacts API): Apollo keeps Alice but drops her email,
    # which looks fine to us. Her record then matches no input key; Bob's matches by email.
    alice = {"first_name": "Alice", "last_name": "Ng", "email": "alice@disposable.example"}
    bob = {"first_name": "Bob", "last_name": "Ray", "email": "bob@acme.example"}
    api.post(
        f"{BASE}/contacts/bulk_create",
        json={
            "created_contacts": [
                {"id": "c-alice", "first_name": "Alice", "last_name": "Ng", "email": None},
                {"id": "c-bob", "first_name": "Bob", "last_name": "Ray", "email": "bob@acme.example"},
            ],
            "existing_contacts": [],
        },
    )

    records = _run(ApolloCreateContactsOperator(task_id="c", contacts=[alice, bob]), context)

    assert [r["id"] for r in records] == ["c-bob"]  # before the fix: ["c-bob", "c-alice"], swapped
    assert _statuses(context) == [
        {"index": 0, "status": "unmatched", "contact_id": None},
        {"index": 1, "status": "saved", "contact_id": "c-bob"},
    ]
    out = capsys.readouterr().out
    assert "contacts[0] were sent but no record of Apollo's answer matches them with certainty" in out
    assert "c-alice" in out  # the unclaimed record is named, so it can be checked in Apollo


def test_records_are_matched_by_identity_whatever_order_apollo_answers_in(api, context):
    people = [
        {"first_name": "Ann", "last_name": "Lee", "email": "ann@acme.example"},
        {
            "first_name": "Raj",
            "last_name": "Patel",
            "organization_name": "Globex",
            "email": "raj@globex.example",
        },
        {"first_name": "Kim", "last_name": "Ode", "linkedin_url": "https://www.linkedin.com/in/kimode/"},
    ]
    # Existing contacts first, created ones after; Raj's email was dropped, Kim's URL normalised.
    api.post(
        f"{BASE}/contacts/bulk_create",
        json={
            "created_contacts": [
                {
                    "id": "c-kim",
                    "first_name": "Kim",
                    "last_name": "Ode",
                    "linkedin_url": "http://linkedin.com/in/KimOde",
                },
                {"id": "c-raj", "first_name": "Raj", "last_name": "Patel", "organization_name": "Globex"},
            ],
            "existing_contacts": [{"id": "c-ann", "email": "ANN@acme.example"}],
        },
    )

    records = _run(ApolloCreateContactsOperator(task_id="c", contacts=people), context)

    assert [r["id"] for r in records] == ["c-ann", "c-raj", "c-kim"]
    assert [s["contact_id"] for s in _statuses(context)] == ["c-ann", "c-raj", "c-kim"]


def test_an_obviously_invalid_email_is_not_sent_and_the_input_says_why(api, context, capsys):
    api.post(
        f"{BASE}/contacts/bulk_create",
        json={"created_contacts": [{"id": "c-ok", "email": "ok@acme.example"}], "existing_contacts": []},
    )
    contacts = [
        {"first_name": "Typo", "last_name": "Person", "email": "typo@@acme.example"},
        {"first_name": "Ok", "last_name": "Person", "email": "ok@acme.example"},
        {"first_name": "Spaced", "last_name": "Out", "email": "spaced out@acme"},
    ]

    records = _run(ApolloCreateContactsOperator(task_id="c", contacts=contacts), context)

    (body,) = _sent(api, "contacts/bulk_create")
    assert [c["email"] for c in body["contacts"]] == ["ok@acme.example"]
    assert [r["id"] for r in records] == ["c-ok"]
    assert [s["status"] for s in _statuses(context)] == ["invalid_email", "saved", "invalid_email"]
    out = capsys.readouterr().out
    assert "contacts[0], contacts[2] have an email Apollo would ignore" in out
    assert "contacts[0].email: it does not have exactly one '@'" in out


def test_only_invalid_emails_means_no_request(api, context):
    records = _run(
        ApolloCreateContactsOperator(task_id="c", contacts=[{"first_name": "A", "email": "not-an-email"}]),
        context,
    )
    assert records == []
    assert api.request_history == []


# ---------------------------------------------------------------- 2. tasks always carry user_id
def _one_user(api: requests_mock_module.Mocker, *users: dict[str, Any]) -> None:
    api.get(
        f"{BASE}/users/search",
        json={
            "users": list(users),
            "pagination": {"page": 1, "per_page": 100, "total_entries": len(users), "total_pages": 1},
        },
    )


def test_tasks_without_user_id_are_given_the_teams_only_user_once_per_hook(api, capsys):
    _one_user(api, {"id": "u-owner", "name": "Olga Owner", "email": "olga@acme.example"})
    api.post(f"{BASE}/tasks/bulk_create", json={"success": True})
    api.post(f"{BASE}/tasks", json={"task": {"id": "t9"}})
    hook = _hook()

    hook.bulk_create_tasks(["c1"], type="call", priority="high", due_at=DUE)
    hook.bulk_create_tasks(["c2"], type="call", priority="high", due_at=DUE)
    hook.create_task({"contact_id": "c3", "type": "call", "priority": "low", "due_at": DUE})

    assert [b["user_id"] for b in _sent(api, "tasks/bulk_create")] == ["u-owner", "u-owner"]
    assert _sent(api, "tasks")[0]["user_id"] == "u-owner"
    assert len(_sent(api, "users/search")) == 1  # resolved once per hook
    assert "Tasks are assigned to user u-owner: user_id not given: the team's only active user" in (
        capsys.readouterr().out
    )


def test_a_given_user_id_is_sent_without_looking_up_users(api):
    api.post(f"{BASE}/tasks/bulk_create", json={"success": True})
    _hook().bulk_create_tasks(["c1"], type="call", priority="high", due_at=DUE, user_id="u-rep")
    assert _sent(api, "tasks/bulk_create")[0]["user_id"] == "u-rep"
    assert _sent(api, "users/search") == []


def test_no_certain_owner_fails_before_any_create_and_lists_the_users(api, context):
    _one_user(
        api,
        {"id": "u1", "name": "Ann Admin", "email": "ann@acme.example"},
        {"id": "u2", "name": "Rob Rep", "email": "rob@acme.example"},
        {"id": "u3", "name": "Gone", "deleted": True},
    )
    api.post(
        f"{BASE}/tasks/search",
        json={"tasks": [], "pagination": {"page": 1, "per_page": 100, "total_entries": 0, "total_pages": 1}},
    )
    api.post(f"{BASE}/tasks/bulk_create", json={"success": True})

    with pytest.raises(ApolloConfigurationError) as raised:
        _run(ApolloCreateTasksOperator(task_id="t", contact_ids=["c1"], due_at=DUE), context)

    message = str(raised.value)
    assert "user_id is required" in message and "Pass user_id=" in message
    assert "u1 (Ann Admin, ann@acme.example)" in message and "u2 (Rob Rep" in message
    assert "u3" not in message  # a deleted user is no candidate
    assert _sent(api, "tasks/bulk_create") == []


def test_a_key_that_cannot_list_users_fails_naming_user_id(api):
    api.get(
        f"{BASE}/users/search",
        status_code=403,
        json={"error": "not accessible", "error_code": "API_INACCESSIBLE"},
    )
    api.post(f"{BASE}/tasks/bulk_create", json={"success": True})

    with pytest.raises(ApolloConfigurationError, match=r"user_id is required .* Pass user_id="):
        _hook().bulk_create_tasks(["c1"], type="call", priority="high", due_at=DUE)
    assert _sent(api, "tasks/bulk_create") == []


# ------------------------------------------------------------------ 3. webhooks: public HTTPS only
@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://hooks.acme.example/phones", "its scheme is http"),
        ("https://localhost/phones", "local host name"),
        ("https://127.0.0.1:8443/phones", "not a public IP address"),
        ("https://10.1.2.3/phones", "not a public IP address"),
        ("https://192.168.0.10/phones", "not a public IP address"),
        ("https://[::1]/phones", "not a public IP address"),
        ("https://169.254.169.254/latest", "not a public IP address"),
        ("https://intranet/phones", "single-label host name"),
        ("https://hooks.corp.internal/phones", "local host name"),
        ("hooks.acme.example/phones", "not an absolute URL"),
    ],
)
def test_a_webhook_apollo_cannot_deliver_to_is_refused_before_any_request(api, context, url, problem):
    with pytest.raises(ApolloConfigurationError, match=f"webhook_url must be a public HTTPS URL.*{problem}"):
        _hook().enrich_person({"email": "a@acme.example"}, reveal_phone_number=True, webhook_url=url)
    with pytest.raises(ApolloConfigurationError, match="webhook_url must be a public HTTPS URL"):
        _hook().bulk_enrich_people([{"email": "a@acme.example"}], reveal_phone_number=True, webhook_url=url)
    operator = ApolloEnrichPeopleOperator(
        task_id="e", people=[{"email": "a@acme.example"}], reveal_phone_number=True, webhook_url=url
    )
    with pytest.raises(ApolloConfigurationError, match="webhook_url must be a public HTTPS URL"):
        _run(operator, context)
    assert api.request_history == []


def test_a_public_https_webhook_is_sent(api):
    api.post(f"{BASE}/people/match", json={"person": None})
    _hook().enrich_person(
        {"email": "a@acme.example"}, reveal_phone_number=True, webhook_url="https://hooks.acme.example/p?x=1"
    )
    assert _sent(api, "people/match")[0]["webhook_url"] == "https://hooks.acme.example/p?x=1"


# ------------------------------------------------------------------- 4. phone numbers by type
def test_phone_numbers_go_to_the_contact_field_of_their_type():
    person = {
        "first_name": "Ann",
        "phone_numbers": [
            {"sanitized_number": "+4930100", "type": "work_hq", "position": 0},
            {"sanitized_number": "+4930123", "type": "work_direct", "position": 1},
            {"sanitized_number": "+49170555", "type": "mobile", "position": 2},
            {"raw_number": "030 999", "type": "home", "position": 3},
            {"sanitized_number": "+4930777", "type": "work_hq", "position": 4},  # a second switchboard
        ],
    }
    fields = contact_fields(person)
    assert fields["direct_phone"] == "+4930123"
    assert fields["mobile_phone"] == "+49170555"
    assert fields["corporate_phone"] == "+4930100"
    assert fields["home_phone"] == "030 999"


def test_a_switchboard_alone_is_never_a_direct_dial():
    fields = contact_fields({"phone_numbers": [{"sanitized_number": "+1555000", "type_cd": "work_hq"}]})
    assert "direct_phone" not in fields
    assert fields["corporate_phone"] == "+1555000"


def test_a_number_of_unknown_type_is_not_claimed_as_a_direct_dial():
    assert contact_fields({"sanitized_phone": "+1555111"}) == {"other_phone": "+1555111"}
    assert contact_fields({"phone_numbers": [{"sanitized_number": "+1555", "type": "fax?"}]}) == {
        "other_phone": "+1555"
    }


# -------------------------------------------------------- 5. the hook returns only what was asked
def _tasks_page(api: requests_mock_module.Mocker, tasks: list[dict[str, Any]]) -> None:
    api.post(
        f"{BASE}/tasks/search",
        json={
            "tasks": tasks,
            "pagination": {"page": 1, "per_page": 100, "total_entries": len(tasks), "total_pages": 1},
        },
    )


TEAM_TASKS = [
    {
        "id": "t1",
        "contact_id": "c1",
        "type": "contact_call",
        "status": "scheduled",
        "user_id": "u1",
        "priority": "high",
    },
    {
        "id": "t2",
        "contact_id": "c2",
        "type": "contact_call",
        "status": "completed",
        "user_id": "u1",
        "priority": "low",
    },
    {
        "id": "t3",
        "contact_id": "c1",
        "type": "outreach_manual_email",
        "status": "scheduled",
        "user_id": "u2",
        "priority": "high",
    },
    {
        "id": "t4",
        "contact_id": "c9",
        "type": "action_item",
        "status": "scheduled",
        "user_id": "u1",
        "priority": "medium",
    },
]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"contact_ids": ["c1"]}, ["t1", "t3"]),
        ({"contact_ids": ["c1"], "task_types": ["call"]}, ["t1"]),
        ({"type": "outreach_manual_email"}, ["t3"]),
        ({"statuses": ["completed"]}, ["t2"]),
        ({"user_ids": ["u2"]}, ["t3"]),
        ({"priority": "medium"}, ["t4"]),
        ({"sort_by_field": "task_due_at"}, ["t1", "t2", "t3", "t4"]),
    ],
)
def test_iter_tasks_returns_only_the_tasks_asked_for(api, capsys, filters, expected):
    _tasks_page(api, TEAM_TASKS)

    tasks = list(_hook().iter_tasks(filters))

    assert [t["id"] for t in tasks] == expected
    (body,) = _sent(api, "tasks/search")
    # Only what Apollo documents is sent; the rest would be ignored silently.
    assert set(body) <= {"page", "per_page", "sort_by_field", "sort_ascending", "open_factor_names"}
    assert (
        f"tasks/search: read 4 task(s), {len(expected)} matched the filters checked here"
        in capsys.readouterr().out
    )


def test_search_tasks_page_is_narrowed_too(api):
    _tasks_page(api, TEAM_TASKS)
    page = _hook().search_tasks({"contact_ids": ["c2"]})
    assert [t["id"] for t in page["tasks"]] == ["t2"]


def test_max_records_counts_matching_tasks_and_an_empty_selection_sends_nothing(api):
    _tasks_page(api, TEAM_TASKS)
    assert [t["id"] for t in _hook().iter_tasks({"contact_ids": ["c1"]}, max_records=1)] == ["t1"]
    api.reset_mock()
    assert list(_hook().iter_tasks({"contact_ids": []})) == []
    assert api.request_history == []


# ------------------------------------------------ 6. inputs Apollo accepts are accepted here too
def test_hashed_email_is_a_match_key_for_people_enrichment(api, context):
    digest = "5d41402abc4b2a76b9719d911017c592"
    api.post(
        f"{BASE}/contacts/search",
        json={
            "contacts": [],
            "pagination": {"page": 1, "per_page": 100, "total_entries": 0, "total_pages": 1},
        },
    )
    api.post(
        f"{BASE}/people/bulk_match",
        json={
            "matches": [{"id": "p1", "first_name": "Hal", "email": "hal@acme.example"}],
            "credits_consumed": 1,
        },
    )

    results = _run(ApolloEnrichPeopleOperator(task_id="e", people=[{"hashed_email": digest}]), context)

    assert _sent(api, "people/bulk_match")[0]["details"] == [{"hashed_email": digest}]
    assert [r["status"] for r in results] == ["matched"]


@pytest.mark.parametrize("task_type", DOCUMENTED_TASK_TYPES)
def test_every_documented_task_type_can_be_created(api, context, task_type):
    _tasks_page(api, [])
    api.post(f"{BASE}/tasks/bulk_create", json={"success": True})

    _run(
        ApolloCreateTasksOperator(task_id="t", contact_ids=["c1"], due_at=DUE, type=task_type, user_id="u1"),
        context,
    )

    assert _sent(api, "tasks/bulk_create")[0]["type"] == task_type


def test_the_operator_and_the_hook_share_one_list_of_task_types():
    from airflow_provider_apollo.hooks import apollo as hook_module
    from airflow_provider_apollo.operators import tasks as tasks_module

    assert tasks_module.TASK_TYPES is hook_module.TASK_TYPES
    assert tuple(hook_module.TASK_TYPES) == DOCUMENTED_TASK_TYPES


# ------------------------------------------- 7. re-runs never duplicate, whatever reps have done


@pytest.fixture(scope="module")
def sandbox_options() -> dict[str, Any]:
    """The module's ``sandbox`` (tests/conftest.py) is the seed-7 world."""
    return {"seed": 7}


@pytest.fixture
def sb(clean_sandbox: Any) -> Any:
    return clean_sandbox


def test_rerun_after_reps_completed_the_tasks_creates_none(sb, context):
    plain = [
        {"first_name": f"Rerun{i}", "last_name": "Person", "email": f"rerun{i}@acme.example"}
        for i in range(4)
    ]
    contacts = _run(ApolloCreateContactsOperator(task_id="contacts", contacts=plain), context)

    def create() -> list[dict[str, Any]]:
        return _run(ApolloCreateTasksOperator(task_id="calls", contact_ids=contacts, due_at=DUE), context)

    first = create()
    sb.complete_tasks([task["id"] for task in first[:3]])  # reps called three of them
    again = create()

    assert sb.stats()["tasks"] == {"total": 4, "duplicates": 0}  # before the fix: 7 tasks, 3 duplicates
    assert {t["id"] for t in again} == {t["id"] for t in first}
    assert sorted(t["status"] for t in again) == ["completed", "completed", "completed", "scheduled"]
