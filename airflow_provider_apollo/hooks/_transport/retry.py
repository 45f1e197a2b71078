"""The retry policy of every Apollo request (tenacity).

What is retried, at most ``max_retries`` times after the first attempt:

* **429** (``ApolloRateLimitError``): after ``Retry-After`` seconds when Apollo sends it
  (decimal seconds are read as such), else after the exponential backoff below. The
  quota pacer (both hooks) does that wait before the next attempt, so that one clock
  decides and the wait is never doubled.
  An hourly/daily window that will not reopen within ``max_quota_wait`` is not retried:
  ``ApolloQuotaExhaustedError`` fails fast.
* **5xx, timeouts, dropped or refused connections** (``ApolloTransientError``), and a 2xx
  answer that cannot be decoded (``ApolloResponseError``: a proxy's HTML page, a truncated
  body), with exponential backoff: 1 s, 2 s, 4 s ... capped at 60 s, plus up to 1 s of
  random jitter so that workers sharing a key do not retry in lockstep.

What is never retried: 400, 401, 403, 404, 422 (the same request would fail the same way).

Requests that create something Apollo never deduplicates (tasks: the hook sends them with
``retry_safe=False``) are retried only when the server cannot have acted on
them: a 429 (Apollo rejected it before doing anything) or a connection that failed while
*connecting* (refused, DNS, connect timeout). A read timeout, a connection dropped after
the request was sent, a 5xx or an unreadable 2xx may hide a created record: those raise
``ApolloAmbiguousWriteError`` and the operators look for what exists before creating again.
Contact/account creation with ``run_dedupe=True`` and sequence enrolment are idempotent on
Apollo's side and retried like reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from airflow_provider_apollo.exceptions import (
    ApolloAmbiguousWriteError,
    ApolloError,
    ApolloQuotaExhaustedError,
    ApolloRateLimitError,
    ApolloResponseError,
    ApolloTransientError,
)

T = TypeVar("T")


class WarningLogger(Protocol):
    """Any logger with ``warning`` (stdlib, structlog, Airflow's ``self.log``)."""

    def warning(self, event: Any, *args: Any, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed request is sent again.

    :param max_retries: retries after the first attempt (0 disables retrying).
    :param backoff_initial: first backoff in seconds (doubles at each retry).
    :param backoff_max: cap of one backoff in seconds.
    :param jitter: up to this many random seconds added to each backoff.

    A 429's ``Retry-After`` is not waited here: the quota pacer (``quota.py``) waits it out
    before the next attempt is admitted, in both hooks.
    """

    max_retries: int
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    jitter: float = 1.0


def is_retryable(exc: BaseException) -> bool:
    """Whether sending the same request again may succeed and cannot duplicate anything.

    :param exc: the error one attempt raised.
    """
    if isinstance(exc, (ApolloQuotaExhaustedError, ApolloAmbiguousWriteError)):
        return False
    return isinstance(exc, (ApolloRateLimitError, ApolloTransientError, ApolloResponseError))


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential_jitter(
        initial=policy.backoff_initial, max=policy.backoff_max, exp_base=2, jitter=policy.jitter
    )

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ApolloRateLimitError) and exc.retry_after is not None:
            return 0.0  # the pacer waits out Retry-After before admitting the next attempt
        return float(backoff(state))

    return wait


def retry_settings(policy: RetryPolicy, *, description: str, log: WarningLogger) -> dict[str, Any]:
    """tenacity's settings for one call, the same for ``Retrying`` and ``AsyncRetrying``.

    The caller adds only ``sleep`` (a blocking or an awaitable wait).

    :param policy: how many retries and which backoff.
    :param description: ``METHOD path`` for log lines.
    :param log: where each retry is announced (one WARNING per retry).
    """
    max_attempts = policy.max_retries + 1

    def announce(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        if delay > 0:
            when = f"in {delay:.1f} s"
        elif isinstance(exc, ApolloRateLimitError):
            when = "once the rate-limit window reopens"
        else:
            when = "now"
        log.warning(
            "%s failed (attempt %d/%d): %s Retrying %s.",
            description,
            state.attempt_number,
            max_attempts,
            exc,
            when,
        )

    return {
        "stop": stop_after_attempt(max_attempts),
        "wait": _wait(policy),
        "retry": retry_if_exception(is_retryable),
        "before_sleep": announce,
        "reraise": True,
    }


def note_gave_up(exc: BaseException, attempts: int) -> None:
    """Say in a retryable error's message that patience ran out, not just what the last attempt saw.

    :param exc: the error of the last attempt.
    :param attempts: how many attempts were made.
    """
    if is_retryable(exc) and attempts > 1 and exc.args:
        exc.args = (f"{exc.args[0]} Gave up after {attempts} attempts.", *exc.args[1:])


def call_with_retries(
    attempt: Callable[[], T],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    description: str,
    log: WarningLogger,
) -> T:
    """Run ``attempt`` until it succeeds, fails for good, or the retries run out.

    :param attempt: sends the request once; raises a provider error on failure.
    :param policy: how many retries and which backoff.
    :param sleep: the wait function (``time.sleep`` unless a test injects one).
    :param description: ``METHOD path`` for log lines and the final message.
    :param log: where each retry is announced (one WARNING per retry).
    """
    retrying = Retrying(
        sleep=lambda seconds: sleep(seconds) if seconds > 0 else None,
        **retry_settings(policy, description=description, log=log),
    )
    try:
        return retrying(attempt)
    except ApolloError as exc:
        note_gave_up(exc, int(retrying.statistics.get("attempt_number", 1)))
        raise


async def a_call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]],
    description: str,
    log: WarningLogger,
) -> T:
    """The async twin of :func:`call_with_retries`: the same settings, an awaitable wait.

    :param attempt: sends the request once; raises a provider error on failure.
    :param policy: how many retries and which backoff.
    :param sleep: the async wait function (``asyncio.sleep`` unless a test injects one).
    :param description: ``METHOD path`` for log lines and the final message.
    :param log: where each retry is announced (one WARNING per retry).
    """

    async def wait(seconds: float) -> None:
        if seconds > 0:
            await sleep(seconds)

    async def run_once() -> T:
        # A coroutine function, so tenacity awaits each attempt (a lambda would not be).
        return await attempt()

    retrying = AsyncRetrying(sleep=wait, **retry_settings(policy, description=description, log=log))
    try:
        return await retrying(run_once)
    except ApolloError as exc:
        note_gave_up(exc, int(retrying.statistics.get("attempt_number", 1)))
        raise
