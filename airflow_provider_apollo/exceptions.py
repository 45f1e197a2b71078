"""The provider's error hierarchy.

Callers (and the hook's retry policy) tell failures apart by class, not by parsing text.
Every message names the endpoint and Apollo's reason and says what to do next; none ever
contains the API key or a whole response body (bodies can hold personal data).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException


class ApolloError(AirflowException):
    """Base class of every error raised by the Apollo provider.

    A bulk call that fails part-way carries what it already had: ``partial_results`` (one
    entry per input, ``None`` where nothing is known) and ``unresolved`` (indices of the
    inputs without a known result: never sent, or their answer was lost), so results already
    paid for are not lost with the error.
    """

    def __init__(self, message: str, *, endpoint: str | None = None, status_code: int | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        # Apollo's HTTP status (None before any answer); shadows AirflowException's API status.
        self.status_code = status_code  # type: ignore[assignment]
        self.partial_results: list[Any] | None = None
        self.unresolved: tuple[int, ...] = ()


class ApolloConfigurationError(ApolloError, AirflowFailException, ValueError):
    """The connection or an argument is wrong; raised before any request is sent.

    An ``AirflowFailException``: the task fails at once instead of being retried, since a
    wrong argument stays wrong, and a retry could spend credits again before failing again
    (e.g. a sensor resolving its domains).
    """


class ApolloAuthenticationError(ApolloError, AirflowFailException):
    """HTTP 401: the API key (or OAuth token) was refused.

    Not retried, by the hook or by Airflow (an ``AirflowFailException``): a task retry would
    send the same refused key again.
    """


class ApolloPermissionError(ApolloError, AirflowFailException):
    """HTTP 403 (``API_INACCESSIBLE``): plan, key scope or master key missing.

    Not retried, by the hook or by Airflow (an ``AirflowFailException``): the key's
    permissions do not change between two tries.
    """


class ApolloValidationError(ApolloError):
    """HTTP 400/404/422: Apollo rejected the request's content. Not retried."""


class ApolloNotFoundError(ApolloValidationError):
    """HTTP 404: the record or route does not exist."""


class ApolloRateLimitError(ApolloError):
    """HTTP 429 that outlived the retries."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        status_code: int | None = 429,
        retry_after: float | None = None,
        window: str | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, status_code=status_code)
        self.retry_after = retry_after
        self.window = window


class ApolloQuotaExhaustedError(ApolloRateLimitError):
    """An hourly or daily window is used up: waiting minutes would not help, so fail fast."""


class ApolloQuotaFloorReached(ApolloQuotaExhaustedError):
    """A low-priority task reached the share of a window kept for the others (``quota_reserve``).

    Not a failure of Apollo's: the rest of the window belongs to normal-priority work.
    Operators that can resume save their progress and stop; ``retry_after`` is the longest the
    window can take to reopen (Apollo does not say when its windows reset).

    :param left: requests the window had left, in flight ones deducted.
    :param floor: requests the reserve keeps.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        retry_after: float | None = None,
        window: str | None = None,
        left: int | None = None,
        floor: float | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, status_code=None, retry_after=retry_after, window=window)
        self.left = left
        self.floor = floor


class ApolloQuotaStoreUnavailableError(ApolloError):
    """The shared quota store (Redis) cannot be reached and per-process pacing was not asked for.

    Raised before the request is sent: nothing was spent. Airflow's retries may help once the
    store is back.
    """


class ApolloTransientError(ApolloError):
    """HTTP 5xx, a dropped connection or a timeout that outlived the retries.

    ``reached_apollo`` is False only when the connection failed while connecting, so Apollo
    cannot have acted on (nor charged for) the request.
    """

    reached_apollo: bool = True


class ApolloAmbiguousWriteError(ApolloTransientError):
    """A create request failed after it may have reached Apollo.

    Apollo may or may not have acted on it, so the hook does not blindly resend it. The
    operators reconcile (look for what exists) before creating again.
    """


class ApolloResponseError(ApolloError):
    """Apollo answered 2xx with a body the provider cannot use (HTML, empty, wrong shape)."""


class ApolloBudgetExceededError(ApolloError, AirflowFailException):
    """A task's ``max_credits`` budget would be exceeded.

    Fails the task without retries: a retry would meet the same budget after paying again
    for the lookups that precede enrichment.
    """


class ApolloUnreadableWriteError(ApolloAmbiguousWriteError, ApolloResponseError):
    """A non-idempotent create got a 2xx answer the provider cannot read.

    Apollo most likely acted on it, but the created record cannot be told from the answer:
    it is ambiguous (reconcile before creating again) and a bad response at the same time.
    """
