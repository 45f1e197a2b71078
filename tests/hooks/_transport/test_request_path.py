"""The shared request path: authentication, retries, error mapping, ambiguous writes, secrecy."""

from __future__ import annotations

import logging

import pytest
import requests
import requests_mock
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from airflow_provider_apollo.exceptions import (
    ApolloAmbiguousWriteError,
    ApolloAuthenticationError,
    ApolloConfigurationError,
    ApolloError,
    ApolloNotFoundError,
    ApolloPermissionError,
    ApolloRateLimitError,
    ApolloResponseError,
    ApolloTransientError,
    ApolloUnreadableWriteError,
    ApolloValidationError,
)
from airflow_provider_apollo.hooks.apollo import ApolloHook
from tests._support import BASE, CANARY_KEY, FakeClock, set_connection

RATE_LIMIT_MESSAGE = {
    "message": "The maximum number of api calls allowed for api/v1/people/bulk_match is 30 times per minute."
}


def refused() -> requests.exceptions.ConnectionError:
    """What requests raises when nothing listens: Apollo never saw the request."""
    cause = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/api/v1/tasks", cause))  # type: ignore[arg-type]


def dropped() -> requests.exceptions.ConnectionError:
    """What requests raises when the server closes the connection after receiving the request."""
    return requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError()))


def test_construction_reads_no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_APOLLO_DEFAULT", raising=False)
    hook = ApolloHook()  # no connection defined: still fine until the first request
    assert hook.apollo_conn_id == "apollo_default"
    assert "session" not in hook.__dict__


def test_session_headers_and_api_key_header(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.get(f"{BASE}/auth/health", json={"is_logged_in": True})
    hook.request("GET", "auth/health")
    sent = api.last_request
    assert sent.headers["X-Api-Key"] == CANARY_KEY
    assert "Authorization" not in sent.headers
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["Cache-Control"] == "no-cache"
    assert sent.headers["User-Agent"].startswith("airflow-provider-apollo/")
    assert "api_key" not in sent.url and CANARY_KEY not in sent.url
    assert sent.timeout == 30
    assert sent.verify is not False  # True or a CA bundle path: TLS verification on


def test_oauth_sends_bearer_token(monkeypatch: pytest.MonkeyPatch, api: requests_mock.Mocker) -> None:
    set_connection(monkeypatch, extra={"auth_type": "oauth"})
    api.get(f"{BASE}/auth/health", json={"is_logged_in": True})
    ApolloHook().request("GET", "auth/health")
    assert api.last_request.headers["Authorization"] == f"Bearer {CANARY_KEY}"
    assert "X-Api-Key" not in api.last_request.headers


def test_sandbox_host_over_http(monkeypatch: pytest.MonkeyPatch, api: requests_mock.Mocker) -> None:
    set_connection(monkeypatch, host="http://127.0.0.1:8899")
    api.get("http://127.0.0.1:8899/api/v1/auth/health", json={"is_logged_in": True})
    assert ApolloHook().test_connection() == (True, "Connected to Apollo at http://127.0.0.1:8899/api/v1")


def test_http_to_a_remote_host_is_refused_before_sending(
    monkeypatch: pytest.MonkeyPatch, api: requests_mock.Mocker
) -> None:
    set_connection(monkeypatch, host="http://apollo-proxy.internal:8080")
    with pytest.raises(ApolloConfigurationError, match="clear text"):
        ApolloHook().request("GET", "auth/health")
    assert api.call_count == 0


def test_api_key_in_params_or_body_is_refused(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    with pytest.raises(ApolloConfigurationError, match="api_key"):
        hook.request("POST", "contacts/search", json={"api_key": "x"})
    with pytest.raises(ApolloConfigurationError, match="api_key"):
        hook.request("GET", "labels", params={"api_key": "x"})
    assert api.call_count == 0


def test_timeout_override_wins_over_extra(monkeypatch: pytest.MonkeyPatch, api: requests_mock.Mocker) -> None:
    set_connection(monkeypatch, extra={"timeout": "12"})
    api.get(f"{BASE}/labels", json=[])
    ApolloHook().request("GET", "labels")
    assert api.last_request.timeout == 12.0
    ApolloHook(timeout=3).request("GET", "labels")
    assert api.last_request.timeout == 3.0


# ------------------------------------------------------------------------------ retries
def test_5xx_is_retried_with_exponential_backoff(
    hook: ApolloHook, api: requests_mock.Mocker, clock: FakeClock
) -> None:
    api.get(f"{BASE}/labels", [{"status_code": 502, "text": "bad gateway"}] * 2 + [{"json": [{"id": "l1"}]}])
    assert hook.list_labels() == [{"id": "l1"}]
    assert api.call_count == 3
    assert hook.requests_sent == 3
    assert len(clock.sleeps) == 2
    assert 1 <= clock.sleeps[0] <= 2  # 1 s + up to 1 s jitter
    assert 2 <= clock.sleeps[1] <= 3  # 2 s + up to 1 s jitter


def test_5xx_gives_up_after_max_retries(
    hook: ApolloHook, api: requests_mock.Mocker, clock: FakeClock
) -> None:
    api.get(f"{BASE}/labels", status_code=503, json={"error": "Service Unavailable"})
    with pytest.raises(ApolloTransientError, match=r"GET labels \(503: Service Unavailable\).*4 attempts"):
        hook.list_labels()
    assert api.call_count == 4  # max_retries=3 in the connection extra
    assert len(clock.sleeps) == 3


def test_429_honours_retry_after(hook: ApolloHook, api: requests_mock.Mocker, clock: FakeClock) -> None:
    api.post(
        f"{BASE}/people/bulk_match",
        [
            {"status_code": 429, "json": RATE_LIMIT_MESSAGE, "headers": {"Retry-After": "7"}},
            {"json": {"matches": [{"id": "p1", "email": "a@x.com"}]}},
        ],
    )
    assert hook.bulk_enrich_people([{"email": "a@x.com"}]) == [{"id": "p1", "email": "a@x.com"}]
    assert clock.sleeps == [pytest.approx(7.05)]  # the window's reopening plus a small margin


def test_429_waits_a_decimal_retry_after_as_given(
    hook: ApolloHook, api: requests_mock.Mocker, clock: FakeClock
) -> None:
    api.post(
        f"{BASE}/people/bulk_match",
        [
            {
                "status_code": 429,
                "json": RATE_LIMIT_MESSAGE,
                "headers": {"Retry-After": "2.25"},
            },
            {"json": {"matches": [None]}},
        ],
    )
    assert hook.bulk_enrich_people([{"email": "a@x.com"}]) == [None]
    assert clock.sleeps == [pytest.approx(2.30)]


def test_429_without_retry_after_backs_off_then_gives_up(
    hook: ApolloHook, api: requests_mock.Mocker, clock: FakeClock
) -> None:
    api.get(f"{BASE}/labels", status_code=429, json={"message": "Too many requests per minute."})
    with pytest.raises(ApolloRateLimitError, match="Gave up after 4 attempts") as caught:
        hook.list_labels()
    assert caught.value.status_code == 429
    assert len(clock.sleeps) == 3


def test_connection_errors_and_timeouts_are_retried(
    hook: ApolloHook, api: requests_mock.Mocker, clock: FakeClock
) -> None:
    api.get(
        f"{BASE}/labels",
        [{"exc": requests.exceptions.ReadTimeout}, {"exc": dropped()}, {"json": [{"id": "l1"}]}],
    )
    assert hook.list_labels() == [{"id": "l1"}]
    assert api.call_count == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(
    hook: ApolloHook, api: requests_mock.Mocker, clock: FakeClock, status: int
) -> None:
    api.post(f"{BASE}/contacts/search", status_code=status, json={"error": "nope"})
    with pytest.raises(ApolloError):
        hook.search_contacts({})
    assert api.call_count == 1
    assert clock.sleeps == []


# ------------------------------------------------------------------------ error mapping
def test_401_message(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.post(f"{BASE}/people/bulk_match", status_code=401, text="Invalid access credentials.")
    with pytest.raises(ApolloAuthenticationError) as caught:
        hook.bulk_enrich_people([{"email": "a@x.com"}])
    assert str(caught.value) == (
        "Apollo refused the API key for POST people/bulk_match (401: Invalid access credentials.). "
        "Check the password of connection 'apollo_default'."
    )


def test_403_mentions_master_key(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.get(
        f"{BASE}/users/search",
        status_code=403,
        json={
            "error": "api/v1/users/search is not accessible with this access token",
            "error_code": "API_INACCESSIBLE",
        },
    )
    with pytest.raises(ApolloPermissionError, match=r"master API key.*plan.*OAuth scope"):
        hook.list_users()


def test_422_keeps_apollo_message_and_suggestions(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.get(
        f"{BASE}/contacts/bad",
        status_code=422,
        json={
            "error": "Parameters misconfigured. bad is not a valid ID",
            "error_details": {"code": "invalid_id", "suggestions": ["Use an id from contacts/search"]},
        },
    )
    with pytest.raises(ApolloValidationError) as caught:
        hook.get_contact("bad")
    message = str(caught.value)
    assert "GET contacts/bad (422: Parameters misconfigured. bad is not a valid ID" in message
    assert "Suggestions: Use an id from contacts/search" in message


def test_404_is_not_found(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.get(f"{BASE}/opportunities/o1", status_code=404, text="Not Found")
    with pytest.raises(ApolloNotFoundError, match="GET opportunities/o1"):
        hook.get_opportunity("o1")


def test_long_server_text_is_truncated(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.get(f"{BASE}/labels", status_code=400, json={"error": "x" * 5000})
    with pytest.raises(ApolloValidationError) as caught:
        hook.list_labels()
    assert len(str(caught.value)) < 500


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ("<html><body>Gateway</body></html>", {"Content-Type": "text/html"}),
        ("", {}),
        ('{"contact": {', {"Content-Type": "application/json"}),
    ],
)
def test_unreadable_2xx_is_a_response_error(
    hook: ApolloHook, api: requests_mock.Mocker, body: str, headers: dict[str, str]
) -> None:
    api.get(f"{BASE}/contacts/c1", text=body, headers=headers)
    with pytest.raises(ApolloResponseError):
        hook.get_contact("c1")
    assert api.call_count == 4  # a garbled answer to a read is worth retrying


def test_wrong_shape_is_a_response_error(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.get(f"{BASE}/contacts/c1", json={"unexpected": True})
    with pytest.raises(ApolloResponseError, match="no 'contact' object"):
        hook.get_contact("c1")
    api.post(f"{BASE}/people/bulk_match", json={"matches": "nope"})
    with pytest.raises(ApolloResponseError, match="matches"):
        hook.bulk_enrich_people([{"email": "a@x.com"}])


def test_redirects_are_not_followed(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.get(f"{BASE}/labels", status_code=302, headers={"Location": "https://elsewhere.example/steal"})
    with pytest.raises(ApolloConfigurationError, match=r"redirect.*base URL"):
        hook.list_labels()
    assert [r.url for r in api.request_history] == [f"{BASE}/labels"]


# ----------------------------------------------------------------------- ambiguous writes
TASK = {
    "contact_id": "c1",
    "type": "call",
    "priority": "high",
    "due_at": "2026-01-01T09:00:00Z",
    "user_id": "u1",
}


@pytest.mark.parametrize(
    "failure",
    [
        {"status_code": 500, "json": {"error": "boom"}},
        {"status_code": 503, "text": "unavailable"},
        {"exc": requests.exceptions.ReadTimeout},
        {"exc": dropped()},
    ],
)
def test_task_create_is_not_resent_when_apollo_may_have_acted(
    hook: ApolloHook, api: requests_mock.Mocker, failure: dict[str, object]
) -> None:
    api.post(f"{BASE}/tasks", [failure, {"json": {"task": {"id": "t1"}}}])
    with pytest.raises(ApolloAmbiguousWriteError, match="look for what exists"):
        hook.create_task(TASK)
    assert api.call_count == 1


def test_task_create_is_retried_when_apollo_cannot_have_acted(
    hook: ApolloHook, api: requests_mock.Mocker, clock: FakeClock
) -> None:
    api.post(
        f"{BASE}/tasks",
        [
            {
                "status_code": 429,
                "json": {"message": "... 100 times per minute."},
                "headers": {"Retry-After": "1"},
            },
            {"exc": refused()},
            {"exc": requests.exceptions.ConnectTimeout},
            {"json": {"task": {"id": "t1"}}},
        ],
    )
    assert hook.create_task(TASK) == {"id": "t1"}
    assert api.call_count == 4


def test_bulk_tasks_unreadable_answer_is_ambiguous(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.post(f"{BASE}/tasks/bulk_create", text="<html>oops</html>")
    with pytest.raises(ApolloUnreadableWriteError):
        hook.bulk_create_tasks(
            ["c1"], type="call", priority="high", due_at="2026-01-01T09:00:00Z", user_id="u1"
        )
    assert api.call_count == 1


def test_deduplicated_contact_create_is_retried_on_5xx(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.post(f"{BASE}/contacts", [{"status_code": 500, "text": "boom"}, {"json": {"contact": {"id": "c1"}}}])
    assert hook.create_contact({"email": "a@x.com"}) == {"id": "c1"}
    assert api.call_count == 2
    assert api.last_request.json()["run_dedupe"] is True


def test_contact_create_without_dedupe_is_not_resent(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.post(f"{BASE}/contacts", [{"status_code": 500, "text": "boom"}, {"json": {"contact": {"id": "c1"}}}])
    with pytest.raises(ApolloAmbiguousWriteError):
        hook.create_contact({"email": "a@x.com"}, run_dedupe=False)
    assert api.call_count == 1


# ------------------------------------------------------------------------- secrecy
def test_canary_key_never_leaks(
    hook: ApolloHook, api: requests_mock.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.get(f"{BASE}/labels", status_code=401, text=f"Invalid API key {CANARY_KEY}")
    api.post(f"{BASE}/contacts/search", status_code=500, json={"error": f"echo {CANARY_KEY}"})
    api.get(f"{BASE}/contacts/c1", exc=requests.exceptions.ConnectionError(f"boom {CANARY_KEY}"))
    api.get(f"{BASE}/auth/health", json={"is_logged_in": True})
    messages = []
    for call in (hook.list_labels, lambda: hook.search_contacts({}), lambda: hook.get_contact("c1")):
        with pytest.raises(ApolloError) as caught:
            call()
        messages.append(str(caught.value))
    assert hook.test_connection()[0] is True
    assert messages and all(CANARY_KEY not in m for m in messages)
    assert all("***" in m for m in messages)
    assert "POST contacts/search failed (attempt 1/4)" in caplog.text  # the hook's own lines were captured
    assert CANARY_KEY not in caplog.text
    assert all(CANARY_KEY not in r.url for r in api.request_history)
    assert all(CANARY_KEY not in (r.text or "") for r in api.request_history)
    assert CANARY_KEY not in repr(hook.config)


# ------------------------------------------------------------------------ test_connection
def test_test_connection_reports_refused_key(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.get(f"{BASE}/auth/health", status_code=401, text="Invalid access credentials.")
    ok, message = hook.test_connection()
    assert ok is False
    assert "refused the API key" in message
    assert api.call_count == 1


def test_test_connection_never_raises(monkeypatch: pytest.MonkeyPatch, api: requests_mock.Mocker) -> None:
    set_connection(monkeypatch, password="")
    ok, message = ApolloHook().test_connection()
    assert ok is False
    assert "set the connection password" in message
    monkeypatch.delenv("AIRFLOW_CONN_APOLLO_DEFAULT")
    ok, message = ApolloHook().test_connection()
    assert ok is False and "apollo_default" in message
    assert api.call_count == 0


def test_test_connection_network_failure(hook: ApolloHook, api: requests_mock.Mocker) -> None:
    api.get(f"{BASE}/auth/health", exc=refused())
    ok, message = hook.test_connection()
    assert ok is False
    assert "connection failed" in message
