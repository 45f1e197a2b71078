"""ApolloOperator: one call to any Apollo endpoint the dedicated operators do not cover."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_apollo._airflow.arguments import choice, optional_mapping
from airflow_provider_apollo._api.endpoints import normalize_path
from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators._base import ApolloBaseOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: Creates that Apollo never deduplicates: resending one after an unclear failure duplicates it.
_NEVER_DEDUPLICATED = re.compile(r"^tasks(/bulk_create)?$")


class ApolloOperator(ApolloBaseOperator):
    """Send one request to any Apollo endpoint (accounts, opportunities, users, ...).

    Authentication, retries, rate-limit pacing and error handling are the hook's, as for
    every other operator. Prefer a dedicated operator where one exists: they batch, page,
    save credits and are safe on retry.

    :param method: ``GET``, ``POST``, ``PUT``, ``PATCH`` or ``DELETE`` (any case).
    :param endpoint: the path under ``/api/v1``, e.g. ``"opportunities"`` or
        ``"accounts/{{ params.account_id }}"``; a leading ``/api/v1`` is dropped. (templated)
    :param data: the JSON body. (templated)
    :param query_params: the query string parameters. (Not ``params``: every Airflow operator
        already has ``params``, the DAG's parameters that templates read as ``{{ params.x }}``.)
        (templated)
    :param retry_safe: whether the request may be resent after a failure that leaves it
        unknown whether Apollo acted. ``None`` (default) means yes, except for creating tasks
        (``POST tasks``, ``POST tasks/bulk_create``), which Apollo never deduplicates.
    :param apollo_conn_id: Airflow connection of type ``apollo``. (templated)
    :return: Apollo's JSON answer.
    """

    template_fields: Sequence[str] = ("endpoint", "data", "query_params", "apollo_conn_id")
    template_fields_renderers = {"data": "json", "query_params": "json"}

    def __init__(
        self,
        *,
        method: str,
        endpoint: str,
        data: Mapping[str, Any] | None = None,
        query_params: Mapping[str, Any] | None = None,
        retry_safe: bool | None = None,
        apollo_conn_id: str = ApolloHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(apollo_conn_id=apollo_conn_id, **kwargs)
        self.method = method
        self.endpoint = endpoint
        self.data = data
        self.query_params = query_params
        self.retry_safe = retry_safe

    def _execute(self, context: Context) -> Any:
        method = choice("method", str(self.method).upper(), HTTP_METHODS)
        endpoint = normalize_path(self.endpoint, argument="endpoint")
        data = optional_mapping("data", self.data)
        params = optional_mapping("query_params", self.query_params)
        if data is not None and method == "GET":
            raise ApolloConfigurationError(
                f"data is a request body, which GET {endpoint} does not send; use query_params for a GET."
            )
        retry_safe = self.retry_safe
        if retry_safe is None:
            retry_safe = not (method == "POST" and _NEVER_DEDUPLICATED.match(endpoint))

        answer = self.hook.request(method, endpoint, params=params, json=data, retry_safe=retry_safe)
        self.log_summary(f"{method} {endpoint} answered")
        return answer
