"""The connection extras that say how a key's quota is shared and split (read by ``connection.py``).

* ``quota_store``: where every process using the key shares what it learns of the windows:
  an absolute directory (SQLite, one host; default ``$AIRFLOW_HOME/apollo-quota``),
  ``"redis:<redis connection id>"`` (every host), or ``"none"`` (each process alone).
* ``quota_store_fallback``: what to do when the store cannot be used: ``"process"`` paces from
  this process's own knowledge (with a warning), ``"fail"`` fails the task with what to check.
  Default: ``"process"`` for a directory (as before), ``"fail"`` for Redis: a deployment that
  chose Redis relies on it, and per-process pacing across many hosts brings 429 storms back.
* ``quota_reserve``: the share of each window that low-priority work leaves for the rest,
  e.g. ``{"hour": 0.3, "day": 0.3}``: tasks with ``priority="low"`` stop when 30 % of the
  hourly or daily window is left.
* ``quota_batch``: admissions a process takes from the shared store at once while plenty of the
  window is left (default 16; 1 asks the store for every request).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.hooks._transport import quota_store as stores

#: The ``quota_store`` extra that keeps quota knowledge per process.
NO_QUOTA_STORE = "none"
#: The ``quota_store`` prefix that names a Redis connection.
REDIS_PREFIX = "redis:"
FALLBACKS: tuple[str, ...] = ("process", "fail")
DEFAULT_QUOTA_BATCH = 16
#: Windows a reserve can be kept in: a minute window's count is only refreshed by requests
#: sent, so a task waiting for it to rise would wait for others' requests.
RESERVE_WINDOWS: tuple[str, ...] = ("hour", "day")


def quota_store_extra(extras: Mapping[str, Any], *, conn_id: str) -> Path | stores.RedisStoreRef | None:
    """The ``quota_store`` extra: a directory, a Redis connection, or ``None`` (per process).

    :param extras: the connection's extras.
    :param conn_id: named in error messages.
    """
    value = extras.get("quota_store")
    if value is None or (isinstance(value, str) and not value.strip()):
        return stores.default_store_directory()
    hint = (
        f'an absolute directory path (one host), "{REDIS_PREFIX}<redis connection id>" (several hosts), '
        f'or "{NO_QUOTA_STORE}" to keep quota knowledge per process'
    )
    if not isinstance(value, str):
        raise ApolloConfigurationError(f"Connection '{conn_id}': extra 'quota_store' must be {hint}.")
    text = value.strip()
    if text.lower() == NO_QUOTA_STORE:
        return None
    if text.lower().startswith(REDIS_PREFIX):
        redis_conn_id = text[len(REDIS_PREFIX) :].strip()
        if not redis_conn_id:
            raise ApolloConfigurationError(
                f"Connection '{conn_id}': extra 'quota_store' names no Redis connection; use e.g. "
                f'"{REDIS_PREFIX}redis_default".'
            )
        return stores.RedisStoreRef(redis_conn_id)
    directory = Path(text).expanduser()
    if not directory.is_absolute():
        # Workers start in different directories: a relative path would split the store.
        raise ApolloConfigurationError(
            f"Connection '{conn_id}': extra 'quota_store' must be {hint}; got the relative path {text!r}."
        )
    return directory


def quota_store_fallback_extra(
    extras: Mapping[str, Any], store: Path | stores.RedisStoreRef | None, *, conn_id: str
) -> bool:
    """Whether pacing may go on per process when the store cannot be used (see module docstring).

    :param extras: the connection's extras.
    :param store: what :func:`quota_store_extra` read, for the default.
    :param conn_id: named in error messages.
    """
    value = extras.get("quota_store_fallback")
    if value is None or value == "":
        return not isinstance(store, stores.RedisStoreRef)
    text = str(value).strip().lower()
    if text not in FALLBACKS:
        raise ApolloConfigurationError(
            f"Connection '{conn_id}': extra 'quota_store_fallback' must be \"process\" (pace per process "
            f'when the store is unreachable) or "fail" (fail the task), got {value!r}.'
        )
    return text == "process"


def quota_reserve_extra(extras: Mapping[str, Any], *, conn_id: str) -> dict[str, float]:
    """The ``quota_reserve`` extra: per window, the share low-priority work leaves (0 to <1).

    :param extras: the connection's extras.
    :param conn_id: named in error messages.
    """
    value = extras.get("quota_reserve")
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    example = '{"hour": 0.3, "day": 0.3}'
    if isinstance(value, str):  # the connection form's text field holds the object as JSON
        try:
            value = json.loads(value)
        except ValueError:
            raise ApolloConfigurationError(
                f"Connection '{conn_id}': extra 'quota_reserve' is not valid JSON; use e.g. {example}."
            ) from None
    if not isinstance(value, Mapping):
        raise ApolloConfigurationError(
            f"Connection '{conn_id}': extra 'quota_reserve' must be an object such as {example} "
            "(the share of each window that low-priority tasks leave to the others)."
        )
    reserve: dict[str, float] = {}
    for window, share in value.items():
        if window not in RESERVE_WINDOWS:
            raise ApolloConfigurationError(
                f"Connection '{conn_id}': extra 'quota_reserve' names the window {window!r}; the windows "
                f"with a reserve are {', '.join(RESERVE_WINDOWS)}, e.g. {example}."
            )
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share < 1:
            raise ApolloConfigurationError(
                f"Connection '{conn_id}': extra 'quota_reserve' for {window!r} must be a share from 0 to "
                f"below 1 (0.3 keeps 30 % of the window), got {share!r}."
            )
        reserve[window] = float(share)
    return reserve
