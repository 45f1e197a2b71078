"""Read and validate an ``apollo`` Airflow connection into the settings the transport needs.

Works on any object with ``conn_id``, ``host``, ``port``, ``password`` and ``extra_dejson``
(the Task SDK ``Connection``, fetched sync or async), so the sync hook and the async
trigger client read connections the same way.

Rules (documented in docs/hook.md):

* password = the API key (or the OAuth token with ``auth_type=oauth``); required.
* host = optional base URL (default ``https://api.apollo.io``). A host without a scheme
  gets ``https://``; ``/api/v1`` is appended unless already there. Plain ``http`` is only
  accepted for loopback hosts (the local sandbox): anywhere else the key would travel in
  clear text.
* extras: a JSON object with ``timeout`` (seconds, default 30), ``max_retries`` (default 5),
  ``auth_type`` (``api_key`` | ``oauth``), ``max_quota_wait`` (seconds, default 900),
  ``max_concurrency`` (requests of one task in flight at once, default 8), and the quota
  extras read by ``quota_extras.py``: ``quota_store`` (an absolute directory where the
  processes of one host share what they learn of the key's rate-limit windows, default
  ``$AIRFLOW_HOME/apollo-quota``; ``"redis:<redis conn id>"`` for every host; ``"none"`` keeps
  it per process), ``quota_store_fallback``, ``quota_reserve``, ``quota_batch``.
  Extras that are not a JSON object are refused rather than silently replaced by the defaults.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.hooks._transport import quota_extras
from airflow_provider_apollo.hooks._transport import quota_store as stores

DEFAULT_BASE_URL = "https://api.apollo.io"
API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_MAX_QUOTA_WAIT = 900.0
#: Requests of one task in flight at once: enough to keep a paid plan's per-minute quota busy
#: at a few seconds of latency per bulk call; the quota tracker still admits each one.
DEFAULT_MAX_CONCURRENCY = 8
AUTH_TYPES: tuple[str, ...] = ("api_key", "oauth")
NO_QUOTA_STORE = quota_extras.NO_QUOTA_STORE

AuthType = Literal["api_key", "oauth"]


class ConnectionLike(Protocol):
    """The attributes of an Airflow ``Connection`` this module reads."""

    conn_id: str
    host: str | None
    port: int | None
    password: str | None

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


_EXTRAS_HINT = 'a JSON object such as {"timeout": 30, "max_retries": 5}'
_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


@dataclass(frozen=True)
class ApolloConnectionConfig:
    """Everything the transport needs from one ``apollo`` connection.

    :param conn_id: the Airflow connection id (named in error messages).
    :param api_key: the API key or OAuth token; never log it.
    :param base_url: scheme, host, optional port and ``/api/v1``, no trailing slash.
    :param auth_type: ``api_key`` sends ``X-Api-Key``; ``oauth`` sends ``Authorization: Bearer``.
    :param timeout: seconds per request.
    :param max_retries: retries after the first attempt for retryable failures.
    :param max_quota_wait: the longest wait (seconds) for a rate-limit window to reopen.
    :param max_concurrency: requests of one task in flight at once (1: one at a time).
    :param quota_store: directory of the store the host's processes share for this key's
        windows, or the Redis connection every host shares (``None``: each process paces alone).
    :param quota_store_fallback: pace per process when the store cannot be used (else fail).
    :param quota_reserve: per window, the share that low-priority tasks leave to the others.
    :param quota_batch: admissions taken from a shared store at once while plenty is left.
    """

    conn_id: str
    api_key: str
    base_url: str
    auth_type: AuthType = "api_key"
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    max_quota_wait: float = DEFAULT_MAX_QUOTA_WAIT
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    quota_store: Path | stores.RedisStoreRef | None = field(
        default_factory=lambda: stores.default_store_directory()
    )
    quota_store_fallback: bool = True
    quota_reserve: Mapping[str, float] = field(default_factory=dict)
    quota_batch: int = quota_extras.DEFAULT_QUOTA_BATCH

    def __repr__(self) -> str:
        # The dataclass repr would print the key; tracebacks and debuggers show reprs.
        return (
            f"ApolloConnectionConfig(conn_id={self.conn_id!r}, base_url={self.base_url!r}, "
            f"auth_type={self.auth_type!r}, timeout={self.timeout!r}, "
            f"max_retries={self.max_retries!r}, max_quota_wait={self.max_quota_wait!r}, "
            f"max_concurrency={self.max_concurrency!r}, quota_store={self.quota_store!r}, "
            f"quota_store_fallback={self.quota_store_fallback!r}, quota_reserve={self.quota_reserve!r}, "
            f"quota_batch={self.quota_batch!r})"
        )

    def auth_headers(self) -> dict[str, str]:
        """The one header that authenticates a request (never a query or body parameter)."""
        if self.auth_type == "oauth":
            return {"Authorization": f"Bearer {self.api_key}"}
        return {"X-Api-Key": self.api_key}


def is_loopback_host(hostname: str) -> bool:
    """Whether ``hostname`` is ``localhost`` or a loopback address (127.0.0.0/8, ::1).

    :param hostname: a host name or IP literal, without port or brackets.
    """
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def build_base_url(host: str | None, port: int | None = None, *, conn_id: str = "apollo_default") -> str:
    """Turn the connection's host (and port) into ``scheme://host[:port]/api/v1``.

    :param host: the connection host: empty, ``api.apollo.io``, ``https://proxy:8443/apollo``,
        ``http://127.0.0.1:8899``...
    :param port: the connection port, used when the host does not carry one.
    :param conn_id: named in error messages.
    """
    raw = (host or "").strip() or DEFAULT_BASE_URL
    if "://" not in raw:
        raw = f"https://{raw}"
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApolloConfigurationError(
            f"Connection '{conn_id}': host {host!r} is not a usable base URL. "
            f"Use e.g. {DEFAULT_BASE_URL} or http://127.0.0.1:8899 for the local sandbox."
        )
    if parts.query or parts.fragment:
        raise ApolloConfigurationError(
            f"Connection '{conn_id}': the host must not carry a query string or fragment; "
            "put options in the connection extras."
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ApolloConfigurationError(
            f"Connection '{conn_id}': refusing plain http to {parts.hostname}: the API key would "
            "travel in clear text. Use https (plain http is only allowed for 127.0.0.1/localhost)."
        )
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    if not path.endswith(API_PREFIX):
        path = f"{path}{API_PREFIX}"
    return f"{parts.scheme}://{netloc}{path}"


def _number_extra(extras: Mapping[str, Any], name: str, default: float, *, conn_id: str) -> float:
    value = extras.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ApolloConfigurationError(
            f"Connection '{conn_id}': extra {name!r} must be a number of seconds, got {value!r}."
        ) from None
    if number < 0 or number != number:  # NaN fails every comparison
        raise ApolloConfigurationError(
            f"Connection '{conn_id}': extra {name!r} must be zero or more, got {value!r}."
        )
    return number


def _int_extra(extras: Mapping[str, Any], name: str, default: int, *, conn_id: str) -> int:
    value = extras.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ApolloConfigurationError(f"Connection '{conn_id}': extra {name!r} must be an integer.")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ApolloConfigurationError(
            f"Connection '{conn_id}': extra {name!r} must be a whole number, got {value!r}."
        ) from None
    if number < 0:
        raise ApolloConfigurationError(
            f"Connection '{conn_id}': extra {name!r} must be zero or more, got {value!r}."
        )
    return number


def read_extras(conn: ConnectionLike, *, conn_id: str) -> Mapping[str, Any]:
    """The connection's extras as a mapping, refusing extras that are not a JSON object.

    Airflow's ``extra_dejson`` turns extras that are not JSON into ``{}`` (it only logs an
    error), which would run the hook with default settings the admin did not choose; so the
    raw ``extra`` text is checked first. The extras are never quoted: they may hold secrets.

    :param conn: an Airflow connection (its raw ``extra`` text is read when it has one).
    :param conn_id: named in error messages.
    :raises ApolloConfigurationError: the extras are not JSON, or JSON but not an object.
    """
    raw = getattr(conn, "extra", None)
    if isinstance(raw, str) and raw.strip():
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise ApolloConfigurationError(
                f"Connection '{conn_id}': the extra field is not valid JSON; it must be {_EXTRAS_HINT}."
            ) from None
        if parsed is not None:  # "null" says "no extras", as an empty field does
            _require_object(parsed, conn_id=conn_id)
    extras = conn.extra_dejson
    if extras is None:
        return {}
    _require_object(extras, conn_id=conn_id)
    return extras


def _require_object(extras: Any, *, conn_id: str) -> None:
    if not isinstance(extras, Mapping):
        kind = _JSON_KINDS.get(type(extras), type(extras).__name__)
        raise ApolloConfigurationError(
            f"Connection '{conn_id}': the extra field must be {_EXTRAS_HINT}; got a JSON {kind}."
        )


def read_connection(
    conn: ConnectionLike,
    *,
    timeout: float | None = None,
    max_retries: int | None = None,
) -> ApolloConnectionConfig:
    """Validate ``conn`` and return its settings; overrides win over the extras.

    :param conn: an Airflow connection of type ``apollo``.
    :param timeout: seconds per request, overriding the ``timeout`` extra.
    :param max_retries: retry budget, overriding the ``max_retries`` extra.
    :raises ApolloConfigurationError: naming the field or extra that is wrong.
    """
    conn_id = conn.conn_id or "apollo_default"
    extras = read_extras(conn, conn_id=conn_id)
    auth_type = str(extras.get("auth_type") or "api_key").strip().lower()
    if auth_type not in AUTH_TYPES:
        raise ApolloConfigurationError(
            f"Connection '{conn_id}': extra 'auth_type' must be one of {', '.join(AUTH_TYPES)}; "
            f"got {extras.get('auth_type')!r}."
        )
    api_key = (conn.password or "").strip()
    if not api_key:
        what = "OAuth access token" if auth_type == "oauth" else "Apollo API key"
        raise ApolloConfigurationError(
            f"Connection '{conn_id}' has no {what}: set the connection password "
            "(shown as 'API Key' in the Airflow UI)."
        )
    resolved_timeout = (
        float(timeout)
        if timeout is not None
        else _number_extra(extras, "timeout", DEFAULT_TIMEOUT, conn_id=conn_id)
    )
    if resolved_timeout <= 0:
        raise ApolloConfigurationError(
            f"Connection '{conn_id}': timeout must be more than 0 seconds, got {resolved_timeout!r}."
        )
    resolved_retries = (
        int(max_retries)
        if max_retries is not None
        else _int_extra(extras, "max_retries", DEFAULT_MAX_RETRIES, conn_id=conn_id)
    )
    if resolved_retries < 0:
        raise ApolloConfigurationError(
            f"Connection '{conn_id}': max_retries must be zero or more, got {resolved_retries!r}."
        )
    max_concurrency = _int_extra(extras, "max_concurrency", DEFAULT_MAX_CONCURRENCY, conn_id=conn_id)
    if max_concurrency < 1:
        raise ApolloConfigurationError(
            f"Connection '{conn_id}': max_concurrency must be 1 or more (1 sends one request at a "
            f"time), got {max_concurrency!r}."
        )
    quota_store = quota_extras.quota_store_extra(extras, conn_id=conn_id)
    quota_batch = _int_extra(extras, "quota_batch", quota_extras.DEFAULT_QUOTA_BATCH, conn_id=conn_id)
    if quota_batch < 1:
        raise ApolloConfigurationError(
            f"Connection '{conn_id}': quota_batch must be 1 or more (1 asks the shared store for every "
            f"request), got {quota_batch!r}."
        )
    return ApolloConnectionConfig(
        conn_id=conn_id,
        api_key=api_key,
        base_url=build_base_url(conn.host, conn.port, conn_id=conn_id),
        auth_type="oauth" if auth_type == "oauth" else "api_key",
        timeout=resolved_timeout,
        max_retries=resolved_retries,
        max_quota_wait=_number_extra(extras, "max_quota_wait", DEFAULT_MAX_QUOTA_WAIT, conn_id=conn_id),
        max_concurrency=max_concurrency,
        quota_store=quota_store,
        quota_store_fallback=quota_extras.quota_store_fallback_extra(extras, quota_store, conn_id=conn_id),
        quota_reserve=quota_extras.quota_reserve_extra(extras, conn_id=conn_id),
        quota_batch=quota_batch,
    )
