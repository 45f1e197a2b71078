"""The error answers Apollo gives, raised by the sandbox's state and turned into responses."""

from __future__ import annotations

from typing import Any


class ApolloApiError(Exception):
    """An Apollo error answer: HTTP ``status`` with a JSON ``body``.

    :param status: HTTP status code.
    :param body: JSON body, e.g. ``{"error": "..."}``.
    """

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def invalid_id(value: object) -> ApolloApiError:
    """Apollo's 422 for an id it does not know.

    :param value: the offending id.
    """
    return ApolloApiError(422, {"error": f"Parameters misconfigured. {value} is not a valid ID"})


def unprocessable(message: str) -> ApolloApiError:
    """A 422 with Apollo's ``{"error": ...}`` body.

    :param message: what was wrong and what to send instead.
    """
    return ApolloApiError(422, {"error": message})
