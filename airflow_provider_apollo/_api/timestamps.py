"""Instants given by users (``due_at``, ``posted_after``) and by Apollo, read one way.

A ``datetime`` (naive means UTC) or an ISO 8601 string; always returned in UTC, so two
spellings of one instant compare equal and a retry computes the same value.
"""

from __future__ import annotations

import datetime
from typing import Any

import pendulum

from airflow_provider_apollo.exceptions import ApolloConfigurationError

_EXAMPLE = "'2026-03-01T09:00:00Z' or '{{ data_interval_start }}'"


def parse_instant(argument: str, value: Any) -> pendulum.DateTime:
    """``value`` as an aware UTC instant.

    :param argument: the argument's name, for the error message.
    :param value: a ``datetime`` (naive ones are taken as UTC), or an ISO 8601 date or date-time.
    :raises ApolloConfigurationError: anything else, or a string that does not parse.
    """
    if isinstance(value, datetime.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=datetime.timezone.utc)
        return pendulum.instance(aware).in_timezone("UTC")
    if isinstance(value, str) and value.strip():
        try:
            # exact=True keeps "12:00" a Time (refused below) instead of "today at noon",
            # which would change from one retry to the next.
            parsed = pendulum.parse(value.strip(), tz="UTC", exact=True)
        except ValueError as error:  # pendulum's ParserError is a ValueError
            raise ApolloConfigurationError(
                f"{argument}={value!r} is not an ISO 8601 timestamp ({error}); use e.g. {_EXAMPLE}."
            ) from None
        if isinstance(parsed, pendulum.DateTime):
            return parsed.in_timezone("UTC")
        if isinstance(parsed, pendulum.Date):
            return pendulum.datetime(parsed.year, parsed.month, parsed.day, tz="UTC")
        raise ApolloConfigurationError(
            f"{argument}={value!r} is not an ISO 8601 date-time (a time or duration alone changes from "
            f"one run to the next); use e.g. {_EXAMPLE}."
        )
    raise ApolloConfigurationError(
        f"{argument} must be a datetime or an ISO 8601 string such as {_EXAMPLE}; got {type(value).__name__}."
    )


def iso_instant(moment: datetime.datetime) -> str:
    """``2026-03-02T09:00:00.000Z``: an instant as Apollo is sent it (UTC, milliseconds).

    :param moment: an aware instant (see :func:`parse_instant`).
    """
    return pendulum.instance(moment).in_timezone("UTC").format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z"
