"""The errors quota pacing raises: a window that will not reopen soon enough, a priority floor.

Messages name the endpoint and the window, say when it should reopen, and what to do next.
"""

from __future__ import annotations

from airflow_provider_apollo.exceptions import ApolloQuotaExhaustedError, ApolloQuotaFloorReached

#: The longest an hour or day window can stay closed, when a 429 does not say.
LONGEST_WAIT = {"hour": 3600.0, "day": 86400.0}


def floor_reached_error(*, endpoint: str, window: str, left: int, floor: float) -> ApolloQuotaFloorReached:
    """The stop of low-priority work at a window's reserve (connection extra ``quota_reserve``).

    :param endpoint: the endpoint path template.
    :param window: ``hour`` or ``day``.
    :param left: requests the window has left, those in flight deducted.
    :param floor: requests the reserve keeps for normal-priority work.
    """
    # Apollo does not say when a window resets: at the latest, one window from now.
    within = LONGEST_WAIT.get(window, 60.0)
    return ApolloQuotaFloorReached(
        f"Low-priority work stops here: {endpoint} has {max(left, 0)} requests left in its {window} "
        f"window and the connection extra 'quota_reserve' keeps {floor:.0f} of them for normal-priority "
        f"tasks. The window reopens within {_human_seconds(within)}; run this task again then (an "
        "operator that can resume starts where it stopped), or lower quota_reserve.",
        endpoint=endpoint,
        retry_after=within,
        window=window,
        left=max(left, 0),
        floor=floor,
    )


def quota_exhausted_error(
    *, endpoint: str, window: str, reopens_in: float | None, max_quota_wait: float
) -> ApolloQuotaExhaustedError:
    """The fail-fast error for a window that will not reopen within ``max_quota_wait``.

    :param endpoint: the endpoint path template.
    :param window: ``minute``, ``hour`` or ``day``.
    :param reopens_in: seconds until it should reopen, when known.
    :param max_quota_wait: the configured patience, for the message.
    """
    if reopens_in is None:
        when = f"Apollo did not say when it reopens (at most one {window} away)"
    else:
        when = f"it should reopen in about {_human_seconds(reopens_in)}"
    return ApolloQuotaExhaustedError(
        f"Apollo's per-{window} quota for {endpoint} is used up and {when}. Waiting longer than "
        f"max_quota_wait={max_quota_wait:g} s would only block a worker: retry the task later, "
        "spread the load over the day, or raise the connection extra 'max_quota_wait'.",
        endpoint=endpoint,
        retry_after=reopens_in,
        window=window,
    )


def _human_seconds(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
