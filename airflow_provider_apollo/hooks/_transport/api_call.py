"""One Apollo call, whichever transport sends it: how it is built and how its answer is read.

The sync hook (``requests``) and the async hook the triggers use (``httpx``) only move
bytes. Everything that is true of a call is decided here, once:

* the path: relative to ``/api/v1``, ids validated and quoted (:func:`endpoint_path`);
* the key travels only in a header; an ``api_key`` in params or body is refused;
* the headers every request carries (JSON, no cache, User-Agent, authentication);
* what a failure to get an answer means (:func:`network_error`): transient, or an
  ambiguous write when a create Apollo never deduplicates may have landed;
* how an answer is read (:func:`read_answer`): rate-limit headers go to the quota, a
  redirect is a configuration error (never followed: it would carry the key elsewhere),
  an error status becomes the typed error, an empty 204 is ``{}``, anything else must be
  JSON.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from airflow_provider_apollo import __version__
from airflow_provider_apollo._api.endpoints import normalize_path, path_template
from airflow_provider_apollo.exceptions import (
    ApolloAmbiguousWriteError,
    ApolloConfigurationError,
    ApolloError,
    ApolloRateLimitError,
    ApolloResponseError,
    ApolloTransientError,
    ApolloUnreadableWriteError,
)
from airflow_provider_apollo.hooks._transport.connection import ApolloConnectionConfig
from airflow_provider_apollo.hooks._transport.http_errors import error_for_response, scrub, shorten
from airflow_provider_apollo.hooks._transport.quota import QuotaTracker

USER_AGENT = f"airflow-provider-apollo/{__version__}"


def require_id(value: Any, name: str) -> str:
    """A non-empty string id, stripped: the one id check, for paths and bodies alike.

    :param value: the id as the caller gave it.
    :param name: the argument's name, for the error message.
    :raises ApolloConfigurationError: for anything but a non-empty string.
    """
    if not isinstance(value, str) or not value.strip():
        raise ApolloConfigurationError(f"{name} must be a non-empty string; got {value!r}.")
    return value.strip()


def endpoint_id(value: Any, name: str) -> str:
    """An id that goes into a path: :func:`require_id`, quoted so it stays one path segment.

    :param value: the id as the caller gave it.
    :param name: the argument's name, for the error message.
    """
    return quote(require_id(value, name), safe="")


def endpoint_path(template: str, **ids: Any) -> str:
    """``endpoint_path("contacts/{contact_id}", contact_id=x)``: the template with checked ids.

    :param template: the path with ``{name}`` placeholders.
    :param ids: one value per placeholder, named as the caller's argument.
    """
    return template.format(**{name: endpoint_id(value, name) for name, value in ids.items()})


@dataclass(frozen=True)
class ApiCall:
    """A request ready to send.

    :param method: upper-case HTTP method.
    :param path: the path relative to ``/api/v1``.
    :param template: the path with ids replaced (quota is kept per template).
    :param params: query parameters.
    :param json: JSON body.
    :param unsafe_write: it creates something Apollo never deduplicates (tasks, deals):
        never resent when Apollo may have acted on it.
    """

    method: str
    path: str
    template: str
    params: dict[str, Any] | None
    json: dict[str, Any] | None
    unsafe_write: bool

    @property
    def where(self) -> str:
        """``METHOD path``, for messages."""
        return f"{self.method} {self.path}"


def prepare_call(
    method: str,
    path: str,
    params: Mapping[str, Any] | None,
    json: Mapping[str, Any] | None,
    *,
    unsafe_write: bool,
) -> ApiCall:
    """Check and normalise one call before anything is sent.

    :param method: HTTP method.
    :param path: endpoint path relative to ``/api/v1``.
    :param params: query parameters (never the API key).
    :param json: JSON body (never the API key).
    :param unsafe_write: it creates something Apollo never deduplicates.
    :raises ApolloConfigurationError: for an absolute URL, a query string in the path or an ``api_key``.
    """
    relative = normalize_path(path)
    for name, payload in (("params", params), ("json", json)):
        if payload is not None and "api_key" in payload:
            raise ApolloConfigurationError(
                f"{name} must not carry 'api_key': the key travels only in the authentication "
                "header (it would leak into URLs and logs). Remove it; the connection supplies it."
            )
    return ApiCall(
        method=method.upper(),
        path=relative,
        template=path_template(relative),
        params=dict(params) if params is not None else None,
        json=dict(json) if json is not None else None,
        unsafe_write=unsafe_write,
    )


def request_headers(config: ApolloConnectionConfig) -> dict[str, str]:
    """The headers of every request: JSON both ways, no caching, who we are, the key."""
    return {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Cache-Control": "no-cache",
        "User-Agent": USER_AGENT,
        **config.auth_headers(),
    }


@dataclass(frozen=True)
class NetworkFailure:
    """Why no answer arrived, in transport-neutral terms.

    :param timed_out: no answer within the timeout.
    :param before_sending: the connection failed while connecting (refused, DNS, connect
        timeout), so Apollo cannot have seen the request.
    :param detail: ``ExceptionClass: message`` of the transport's error.
    """

    timed_out: bool
    before_sending: bool
    detail: str


def network_error(
    call: ApiCall, failure: NetworkFailure, config: ApolloConnectionConfig
) -> ApolloTransientError:
    """The typed error for a call that got no answer.

    :param call: the call that was being sent.
    :param failure: what the transport saw.
    :param config: the connection (timeout for the message, key to scrub).
    """
    what = f"no answer within {config.timeout:g} s" if failure.timed_out else "the connection failed"
    detail = shorten(scrub(failure.detail, config.api_key), 200)
    message = (
        f"Could not get an answer from Apollo for {call.where}: {what} ({detail}). Check the network "
        f"and the host of connection '{config.conn_id}'."
    )
    if call.unsafe_write and not failure.before_sending:
        return ApolloAmbiguousWriteError(
            f"{message} The request may have reached Apollo and created the record, so it is not "
            "resent: look for what exists before creating again.",
            endpoint=call.path,
        )
    error = ApolloTransientError(message, endpoint=call.path)
    error.reached_apollo = not failure.before_sending
    return error


def may_have_acted(error: ApolloError) -> bool:
    """Whether Apollo may have done the work of a failed call (and charged for it).

    A 429 and the other 4xx are refusals before any work; so is a connection that failed
    while connecting. A 5xx, a lost or unreadable answer may hide work done.

    :param error: the error one attempt raised.
    """
    if isinstance(error, ApolloRateLimitError):
        return False
    if isinstance(error, ApolloTransientError):
        return error.reached_apollo
    return isinstance(error, ApolloResponseError)


class HttpAnswer(Protocol):
    """What ``requests.Response`` and ``httpx.Response`` both offer."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def text(self) -> str: ...


def read_answer(
    call: ApiCall, answer: HttpAnswer, *, config: ApolloConnectionConfig, quota: QuotaTracker
) -> Any:
    """The decoded body of a successful answer, or the typed error of an unsuccessful one.

    :param call: the call answered.
    :param answer: the HTTP answer (status, headers with the rate-limit windows, body text).
    :param config: the connection (named in errors; its key is scrubbed from them).
    :param quota: learns the endpoint's windows from the headers, and from a 429.
    :raises ApolloError: the subclass for the failure.
    """
    status, headers, text = answer.status_code, answer.headers, answer.text
    quota.observe(call.template, headers)
    if 300 <= status < 400:
        # Not retried: a redirect means the base URL points at the wrong place.
        raise ApolloConfigurationError(
            f"Apollo answered {call.where} with a redirect ({status}); redirects are not followed so the "
            "API key never reaches another host. Check the connection's base URL.",
            endpoint=call.path,
            status_code=status,
        )
    if status >= 400:
        error = error_for_response(
            status,
            method=call.method,
            endpoint=call.path,
            body_text=text,
            headers=headers,
            conn_id=config.conn_id,
            secret=config.api_key,
        )
        if isinstance(error, ApolloRateLimitError):
            # Raises ApolloQuotaExhaustedError when waiting cannot help (hour/day window).
            quota.observe_rate_limited(call.template, window=error.window, retry_after=error.retry_after)
        elif call.unsafe_write and isinstance(error, ApolloTransientError):
            raise ApolloAmbiguousWriteError(
                f"{error} Apollo may have created the record before failing, so the request is not "
                "resent: look for what exists before creating again.",
                endpoint=call.path,
                status_code=status,
            )
        raise error
    return _decode(call, status, headers, text)


def _decode(call: ApiCall, status: int, headers: Mapping[str, str], text: str) -> Any:
    # An unreadable answer to a create may hide a created record: the caller must look first.
    error_class = ApolloUnreadableWriteError if call.unsafe_write else ApolloResponseError
    if not text.strip():
        if status == 204:
            return {}
        raise error_class(
            f"Apollo answered {call.where} with an empty body (HTTP {status}).",
            endpoint=call.path,
            status_code=status,
        )
    try:
        return jsonlib.loads(text)
    except ValueError:
        lowered = {str(key).lower(): value for key, value in headers.items()}
        content_type = lowered.get("content-type", "unknown")
        looks = "an HTML page" if text.lstrip().startswith("<") else "text that is not JSON"
        raise error_class(
            f"Apollo answered {call.where} with {looks} (HTTP {status}, Content-Type "
            f"{shorten(content_type, 80)}). A proxy or gateway may be in the way; check the base URL.",
            endpoint=call.path,
            status_code=status,
        ) from None
