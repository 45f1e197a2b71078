"""Reading the shape of Apollo's answers: an object, an object under a key, a list of records.

A wrong shape is an :class:`ApolloResponseError` naming the call, never read as "empty":
a gateway page or a changed API must not pass for "nothing found".
"""

from __future__ import annotations

from typing import Any

from airflow_provider_apollo.exceptions import ApolloResponseError
from airflow_provider_apollo.hooks._transport.pagination import page_records


def answer_object(body: Any, where: str) -> dict[str, Any]:
    """``body`` when it is a JSON object.

    :param body: the decoded answer.
    :param where: ``METHOD path``, for the message.
    """
    if not isinstance(body, dict):
        raise ApolloResponseError(
            f"Apollo answered {where} with {type(body).__name__} where a JSON object was expected."
        )
    return body


def answer_member(body: Any, key: str, where: str) -> dict[str, Any]:
    """The object under ``key`` (``{"contact": {...}}`` -> the contact).

    :param body: the decoded answer.
    :param key: the member holding the record.
    :param where: ``METHOD path``, for the message.
    """
    value = answer_object(body, where).get(key)
    if not isinstance(value, dict):
        raise ApolloResponseError(
            f"Apollo's answer to {where} has no {key!r} object (keys: {', '.join(sorted(body)[:10])})."
        )
    return value


def answer_list(body: Any, key: str, where: str) -> list[dict[str, Any]]:
    """The records of a listing: ``{key: [...]}``, or a bare list (``labels`` answers one).

    :param body: the decoded answer.
    :param key: the member holding the records.
    :param where: ``METHOD path``, for the message.
    """
    endpoint = where.split(" ", 1)[-1]
    wrapped = {key: body} if isinstance(body, list) else body
    return page_records(wrapped, [key], where=where, endpoint=endpoint)
