"""Mapping of unsuccessful answers to typed errors (http_errors.py) and the retry policy (retry.py)."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_apollo.exceptions import (
    ApolloAmbiguousWriteError,
    ApolloAuthenticationError,
    ApolloNotFoundError,
    ApolloPermissionError,
    ApolloQuotaExhaustedError,
    ApolloRateLimitError,
    ApolloResponseError,
    ApolloTransientError,
    ApolloValidationError,
)
from airflow_provider_apollo.hooks._transport.http_errors import apollo_reason, error_for_response
from airflow_provider_apollo.hooks._transport.retry import RetryPolicy, call_with_retries, is_retryable


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ApolloValidationError),
        (401, ApolloAuthenticationError),
        (403, ApolloPermissionError),
        (404, ApolloNotFoundError),
        (422, ApolloValidationError),
        (429, ApolloRateLimitError),
        (500, ApolloTransientError),
        (504, ApolloTransientError),
    ],
)
def test_status_to_class(status: int, cls: type) -> None:
    error = error_for_response(
        status, method="post", endpoint="contacts", body_text="{}", headers={}, conn_id="c", secret="s3cr3t"
    )
    assert type(error) is cls
    assert error.status_code == status
    assert error.endpoint == "contacts"
    assert "POST contacts" in str(error)


def test_429_carries_window_and_retry_after() -> None:
    error = error_for_response(
        429,
        method="GET",
        endpoint="labels",
        body_text='{"message": "... is 600 times per hour. ..."}',
        headers={"Retry-After": "120"},
        conn_id="c",
        secret=None,
    )
    assert isinstance(error, ApolloRateLimitError)
    assert (error.window, error.retry_after) == ("hour", 120.0)


def test_reason_is_short_scrubbed_and_never_a_whole_html_page() -> None:
    assert (
        apollo_reason("<html>" + "x" * 1000) == "an HTML page instead of JSON (a proxy or gateway answered?)"
    )
    assert apollo_reason('{"error": "bad key s3cr3t"}', secret="s3cr3t") == "bad key ***"
    assert len(apollo_reason("y" * 2000)) == 300
    assert apollo_reason("") == "empty response body"


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (ApolloRateLimitError("x"), True),
        (ApolloQuotaExhaustedError("x"), False),
        (ApolloTransientError("x"), True),
        (ApolloAmbiguousWriteError("x"), False),
        (ApolloResponseError("x"), True),
        (ApolloValidationError("x"), False),
        (ApolloAuthenticationError("x"), False),
        (ValueError("x"), False),
    ],
)
def test_what_is_retried(error: BaseException, retryable: bool) -> None:
    assert is_retryable(error) is retryable


def test_retry_after_is_used_as_the_wait_unless_a_pacer_waits() -> None:
    for pacer, expected in ((False, [4.0]), (True, [])):
        sleeps: list[float] = []
        errors = [ApolloRateLimitError("slow down", retry_after=4.0)]

        def attempt(errors: list[ApolloRateLimitError] = errors) -> str:
            if errors:
                raise errors.pop()
            return "ok"

        policy = RetryPolicy(max_retries=2, pacer_waits_retry_after=pacer)
        result = call_with_retries(
            attempt, policy=policy, sleep=sleeps.append, description="GET x", log=logging.getLogger()
        )
        assert result == "ok"
        assert sleeps == expected


def test_zero_retries_means_one_attempt() -> None:
    calls = []

    def attempt() -> None:
        calls.append(1)
        raise ApolloTransientError("down")

    with pytest.raises(ApolloTransientError, match=r"^down$"):
        call_with_retries(
            attempt,
            policy=RetryPolicy(max_retries=0),
            sleep=lambda s: None,
            description="GET x",
            log=logging.getLogger(),
        )
    assert calls == [1]
