"""Look before creating again: the one attempts policy of the hook's bulk creates.

A create whose answer is lost (timeout, dropped connection, 5xx, unreadable body) may
have landed. Sending it again blindly duplicates what Apollo never deduplicates (tasks)
or pays twice for nothing, so contacts and tasks alike look up which of the records
exist first and send only the ones still missing. The number of creates is bounded:
``max_retries + 1`` of the connection (or of ``hook_params``) unless the caller says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from airflow_provider_apollo.exceptions import ApolloAmbiguousWriteError, ApolloConfigurationError

T = TypeVar("T")


class _Log(Protocol):
    def warning(self, event: Any, *args: Any, **kw: Any) -> Any: ...


def create_attempts(max_attempts: int | None, max_retries: int) -> int:
    """How many creates a converging bulk create may send: ``max_attempts``, else ``max_retries + 1``.

    :param max_attempts: the caller's bound, if any (at least 1).
    :param max_retries: the connection's retries.
    """
    if max_attempts is None:
        return max_retries + 1
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise ApolloConfigurationError(f"max_attempts must be a whole number from 1; got {max_attempts!r}.")
    return max_attempts


def create_converging(
    pending: Sequence[T],
    *,
    create: Callable[[list[T]], None],
    still_missing: Callable[[list[T]], list[T]],
    attempts: int,
    what: str,
    log: _Log,
) -> None:
    """Create ``pending`` so that each is created once, whatever answers are lost.

    :param pending: what to create.
    :param create: sends the creates of a list (and keeps what Apollo answered); raises
        ``ApolloAmbiguousWriteError`` when it is unknown whether some of them landed.
    :param still_missing: looks up which of a list do not exist yet (and keeps the ones found).
    :param attempts: the most creates to send.
    :param what: e.g. ``"3 tasks (tasks/bulk_create)"``, for the log and the error.
    :param log: where the look-ups are announced.
    :raises ApolloAmbiguousWriteError: some are still unconfirmed after ``attempts`` creates (the
        class of the last failure, e.g. ``ApolloUnreadableWriteError``).
    """
    missing = list(pending)
    for attempt in range(1, attempts + 1):
        try:
            create(missing)
            return
        except ApolloAmbiguousWriteError as error:
            log.warning(
                "%s: %s Looking again before creating the ones still missing (attempt %d of %d).",
                what,
                error,
                attempt,
                attempts,
            )
            missing = still_missing(missing)
            if not missing:
                return
            if attempt == attempts:
                # The same class as the last failure (an unreadable answer stays one), with
                # what was tried and what to do.
                raise type(error)(
                    f"{error} Still unconfirmed after {attempts} create attempt"
                    f"{'s' if attempts != 1 else ''}: {len(missing)} of {what}. Apollo kept failing in a "
                    "way that leaves it unknown whether they were created. Clear this task to run it "
                    "again: it looks before it creates, so it will only add the ones still missing.",
                    endpoint=error.endpoint,
                    status_code=error.status_code,
                ) from error
