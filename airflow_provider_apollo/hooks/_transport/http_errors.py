"""Turn an unsuccessful Apollo answer into the provider's typed error.

Pure functions over status, headers and body text (no ``requests`` types), so the sync
hook and the async trigger client map errors identically. Messages name the endpoint,
quote Apollo's own reason (at most 300 characters) and say what to do next. They never
contain the API key (it is scrubbed from anything quoted) nor a whole response body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow_provider_apollo.exceptions import (
    ApolloAuthenticationError,
    ApolloError,
    ApolloNotFoundError,
    ApolloPermissionError,
    ApolloRateLimitError,
    ApolloTransientError,
    ApolloValidationError,
)
from airflow_provider_apollo.hooks._transport.rate_limit_headers import retry_after_seconds, window_named_in

MAX_QUOTED_CHARS = 300
REDACTED = "***"


def scrub(text: str, secret: str | None) -> str:
    """Return ``text`` with every occurrence of ``secret`` replaced by ``***``.

    :param text: any text about to go into a message or a log line.
    :param secret: the API key or token (nothing is replaced when empty).
    """
    if secret and secret in text:
        return text.replace(secret, REDACTED)
    return text


def shorten(text: str, limit: int = MAX_QUOTED_CHARS) -> str:
    """Collapse whitespace and cut ``text`` to ``limit`` characters (with an ellipsis).

    :param text: server text to quote.
    :param limit: the most characters kept.
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _json_body(body_text: str) -> Any:
    try:
        return json.loads(body_text)
    except ValueError:
        return None


def apollo_reason(body_text: str, *, secret: str | None = None) -> str:
    """Apollo's own explanation from an error body, short and without the key.

    Reads ``error``, ``message`` and (since 2026-09) ``error_details.message`` and
    ``error_details.suggestions`` from JSON bodies; plain-text bodies are quoted as they
    are; HTML pages (proxies, load balancers) are described, not quoted.

    :param body_text: the response body as text.
    :param secret: the API key, scrubbed from the result.
    """
    text = body_text.strip()
    if not text:
        return "empty response body"
    body = _json_body(text)
    if isinstance(body, Mapping):
        parts: list[str] = []
        for key in ("error", "message"):
            value = body.get(key)
            if isinstance(value, str) and value.strip() and value.strip() not in parts:
                parts.append(value.strip())
        details = body.get("error_details")
        if isinstance(details, Mapping):
            detail_message = details.get("message")
            if isinstance(detail_message, str) and detail_message.strip() not in parts:
                parts.append(detail_message.strip())
            suggestions = details.get("suggestions")
            if isinstance(suggestions, list) and suggestions:
                parts.append("Suggestions: " + "; ".join(str(s) for s in suggestions[:5]))
        reason = " ".join(parts) if parts else "no error message in the JSON body"
    elif text.startswith("<"):
        reason = "an HTML page instead of JSON (a proxy or gateway answered?)"
    else:
        reason = text
    return shorten(scrub(reason, secret))


def error_for_response(
    status_code: int,
    *,
    method: str,
    endpoint: str,
    body_text: str,
    headers: Mapping[str, str],
    conn_id: str,
    secret: str | None,
) -> ApolloError:
    """Build the typed error for a non-2xx answer (the caller raises or retries it).

    :param status_code: the HTTP status.
    :param method: HTTP method, for the message.
    :param endpoint: the path relative to ``/api/v1`` (e.g. ``people/bulk_match``).
    :param body_text: the response body as text (only a short reason is quoted).
    :param headers: response headers (``Retry-After`` for 429s), case-insensitive mapping.
    :param conn_id: the Airflow connection, named in authentication hints.
    :param secret: the API key, scrubbed from anything quoted.
    """
    where = f"{method.upper()} {endpoint}"
    reason = apollo_reason(body_text, secret=secret)
    kwargs: dict[str, Any] = {"endpoint": endpoint, "status_code": status_code}
    if status_code == 401:
        return ApolloAuthenticationError(
            f"Apollo refused the API key for {where} (401: {reason}). "
            f"Check the password of connection '{conn_id}' (the API key, from Apollo's Settings > "
            "Integrations > API) and its host; the task fails without retries, since the same key "
            "would be refused again.",
            **kwargs,
        )
    if status_code == 403:
        return ApolloPermissionError(
            f"Apollo denied access to {where} (403: {reason}). This endpoint may need a master API "
            "key, a higher plan or an OAuth scope: check the key's permissions in Apollo "
            f"(Settings > Integrations > API) or use a master key in connection '{conn_id}'. The task "
            "fails without retries, since the key's permissions do not change between tries.",
            **kwargs,
        )
    if status_code == 404:
        return ApolloNotFoundError(
            f"Apollo found nothing at {where} (404: {reason}). Check the id or path.", **kwargs
        )
    if status_code == 429:
        window = window_named_in(reason)
        retry_after = retry_after_seconds(headers)
        hint = f" Apollo asks to retry after {retry_after:g} s." if retry_after is not None else ""
        return ApolloRateLimitError(
            f"Apollo rate limit hit on {where} (429: {reason}).{hint}",
            endpoint=endpoint,
            retry_after=retry_after,
            window=window,
        )
    if 400 <= status_code < 500:
        return ApolloValidationError(
            f"Apollo rejected {where} ({status_code}: {reason}). Fix the request; it is not retried.",
            **kwargs,
        )
    return ApolloTransientError(f"Apollo failed on {where} ({status_code}: {reason}).", **kwargs)
