"""The events the Apollo triggers fire, and how a sensor turns one back into a result.

One module owns both sides of the contract so the trigger and ``execute_complete`` cannot
drift apart. Every event is a JSON-able dict with a ``status``:

* ``{"status": "success", "data": <the sensor's result>, "credits_spent", "requests_sent", "polls"}``
* ``{"status": "error", "message": str, "error_type": "ApolloAuthenticationError"...}``
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_apollo import exceptions as apollo_exceptions
from airflow_provider_apollo.exceptions import ApolloError


def success_event(data: Any, *, credits_spent: float, requests_sent: int, polls: int) -> dict[str, Any]:
    """The payload of a trigger whose condition holds.

    :param data: what the sensor returns (pushed to XCom).
    :param credits_spent: credits the trigger spent over all its polls.
    :param requests_sent: HTTP requests the trigger sent.
    :param polls: how many times it looked.
    """
    return {
        "status": "success",
        "data": data,
        "credits_spent": credits_spent,
        "requests_sent": requests_sent,
        "polls": polls,
    }


def error_event(exc: BaseException) -> dict[str, Any]:
    """The payload of a trigger that failed; the provider's error class travels by name.

    :param exc: the error (its message never holds the API key: the client scrubs it).
    """
    return {"status": "error", "message": str(exc), "error_type": type(exc).__name__}


def _error_class(name: Any) -> type[AirflowException]:
    candidate = getattr(apollo_exceptions, str(name), None) if name else None
    if isinstance(candidate, type) and issubclass(candidate, ApolloError):
        return candidate
    return AirflowException


def result_from_event(event: Mapping[str, Any] | None, *, task_id: str) -> Any:
    """The sensor's result from a trigger event, or the error the event describes.

    :param event: what the trigger fired.
    :param task_id: named in messages.
    :raises ApolloError: the trigger failed with a provider error (same class as on a worker).
    :raises AirflowException: the event is missing or malformed.
    """
    if not isinstance(event, Mapping):
        raise AirflowException(f"Task {task_id} resumed without a trigger event; got {event!r}.")
    status = event.get("status")
    message = str(event.get("message") or "no message")
    if status == "success":
        return event.get("data")
    if status == "error":
        raise _error_class(event.get("error_type"))(f"Task {task_id} failed while deferred: {message}")
    raise AirflowException(f"Task {task_id} got a trigger event with an unknown status {status!r}.")
