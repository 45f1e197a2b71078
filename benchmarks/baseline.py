"""The hand-rolled baseline: what users write today without this provider.

``HttpHook`` from ``apache-airflow-providers-http`` with the API key as a header in the
connection's extra, one ``people/match`` call per person, and a tenacity retry with
exponential backoff on 429 and 5xx (``HttpHook.run_with_advanced_retry``). No rate-limit
header reading, no batching, no lookup of existing contacts.

The sandbox compresses Apollo's minute to a few seconds; the backoff is compressed by the
same factor (``time_scale``), so the baseline waits as long, in windows, as it would on the
real API: 1 s doubling up to 60 s, at most 10 attempts per call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
import tenacity
from airflow.exceptions import AirflowException

from benchmarks.environment import BASELINE_CONN_ID

#: Attempts per call before the task fails (tenacity ``stop_after_attempt``).
MAX_ATTEMPTS = 10
API_PREFIX = "api/v1"


def is_retryable(error: BaseException) -> bool:
    """429, 5xx and connection errors: what users typically retry.

    ``HttpHook.check_response`` raises ``AirflowException("<status>:<reason>")``.

    :param error: what the call raised.
    """
    if isinstance(error, (requests.ConnectionError, requests.Timeout)):
        return True
    if isinstance(error, AirflowException):
        status = str(error).split(":", 1)[0].strip()
        return status == "429" or (len(status) == 3 and status.startswith("5"))
    return False


class HandRolledApollo:
    """Apollo calls the way a user writes them with ``HttpHook`` and tenacity.

    :param http_conn_id: the ``http`` connection (host, port, ``X-Api-Key`` in the extra).
    :param time_scale: seconds of sandbox time per second of Apollo time (``minute_seconds / 60``):
        shrinks the backoff as the sandbox shrinks the minute.
    """

    def __init__(self, http_conn_id: str = BASELINE_CONN_ID, *, time_scale: float = 1.0) -> None:
        from airflow.providers.http.hooks.http import HttpHook

        self._post_hook = HttpHook(method="POST", http_conn_id=http_conn_id)
        self._get_hook = HttpHook(method="GET", http_conn_id=http_conn_id)
        self._retry_args: dict[str, Any] = {
            "wait": tenacity.wait_exponential(multiplier=time_scale, min=time_scale, max=60 * time_scale),
            "stop": tenacity.stop_after_attempt(MAX_ATTEMPTS),
            "retry": tenacity.retry_if_exception(is_retryable),
            "reraise": True,
        }

    def post(self, endpoint: str, body: Mapping[str, Any]) -> Any:
        """``POST /api/v1/<endpoint>`` with retries; the decoded JSON answer.

        :param endpoint: path below ``/api/v1``.
        :param body: JSON body.
        """
        response = self._post_hook.run_with_advanced_retry(
            self._retry_args, endpoint=f"{API_PREFIX}/{endpoint}", json=dict(body)
        )
        return response.json()

    def get(self, endpoint: str, params: Mapping[str, Any] | None = None) -> Any:
        """``GET /api/v1/<endpoint>`` with retries; the decoded JSON answer.

        :param endpoint: path below ``/api/v1``.
        :param params: query parameters.
        """
        response = self._get_hook.run_with_advanced_retry(
            self._retry_args, endpoint=f"{API_PREFIX}/{endpoint}", data=dict(params or {})
        )
        return response.json()

    def enrich_person(self, details: Mapping[str, Any]) -> dict[str, Any] | None:
        """``people/match`` for one person; ``None`` when Apollo matched no one.

        :param details: match details (``id``, ``email``, name and domain...).
        """
        person = self.post("people/match", details).get("person") or {}
        return person if person.get("id") else None

    def iter_people(self, filters: Mapping[str, Any], *, max_records: int | None) -> list[dict[str, Any]]:
        """People search page after page into one list (what ends up in XCom).

        :param filters: search filters.
        :param max_records: stop after this many; ``None`` for all (up to 500 pages).
        """
        people: list[dict[str, Any]] = []
        for page in range(1, 501):
            answer = self.post("mixed_people/api_search", {**filters, "page": page, "per_page": 100})
            batch = answer.get("people") or []
            people.extend(batch)
            if not batch or len(batch) < 100 or (max_records is not None and len(people) >= max_records):
                break
        return people if max_records is None else people[:max_records]
