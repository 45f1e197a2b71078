"""Checks of hook arguments, before anything is sent: each error names the argument."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.hooks._transport.api_call import require_id

__all__ = [
    "check_hook_params",
    "require_id",
    "require_ids",
    "require_page",
    "require_record",
    "require_records",
]


def require_ids(values: Any, name: str) -> list[str]:
    """A non-empty list of non-empty string ids, stripped.

    :param values: the ids as the caller gave them.
    :param name: the argument's name.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise ApolloConfigurationError(f"{name} must be a non-empty list of ids; got {values!r}.")
    return [require_id(value, f"{name}[{index}]") for index, value in enumerate(values)]


def require_records(values: Any, name: str, *, require_id: bool = False) -> list[dict[str, Any]]:
    """A list of mappings (copied), each with an ``id`` when ``require_id``.

    :param values: the records as the caller gave them.
    :param name: the argument's name.
    :param require_id: each record must carry the ``id`` of the record to change.
    """
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence):
        raise ApolloConfigurationError(f"{name} must be a list of mappings.")
    records = []
    for index, value in enumerate(values):
        if not isinstance(value, Mapping):
            raise ApolloConfigurationError(f"{name}[{index}] must be a mapping; got {type(value).__name__}.")
        if require_id and not (isinstance(value.get("id"), str) and value["id"].strip()):
            raise ApolloConfigurationError(f"{name}[{index}] needs the 'id' of the record to update.")
        records.append(dict(value))
    return records


def require_record(value: Any, name: str) -> dict[str, Any]:
    """One mapping (copied).

    :param value: the record as the caller gave it.
    :param name: the argument's name.
    """
    (record,) = require_records([value], name)
    return record


def require_page(page: int) -> int:
    """A 1-based page number.

    :param page: the page the caller asked for.
    """
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ApolloConfigurationError(f"page must be a whole number from 1; got {page!r}.")
    return page


#: What ``hook_params`` of an operator, sensor or trigger may set: the keyword arguments of
#: ``ApolloHook`` and ``ApolloAsyncHook`` after the connection id.
HOOK_PARAMS = ("timeout", "max_retries", "priority", "max_quota_wait")


def check_hook_params(value: Any) -> dict[str, Any]:
    """``hook_params`` as keyword arguments for ``ApolloHook(**...)``, or an error naming the key.

    :param value: ``None`` or a mapping such as ``{"timeout": 60, "max_retries": 2}``.
    :raises ApolloConfigurationError: not a mapping, an unknown key, or a value out of range.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ApolloConfigurationError(
            "hook_params must be a dict such as {'timeout': 60, 'max_retries': 2}; "
            f"got {type(value).__name__}."
        )
    unknown = sorted(str(key) for key in value if key not in HOOK_PARAMS)
    if unknown:
        raise ApolloConfigurationError(
            f"hook_params has unknown key(s) {', '.join(map(repr, unknown))}: the Apollo hook accepts "
            f"{', '.join(map(repr, HOOK_PARAMS))} (the other settings are extras of the connection)."
        )
    timeout, retries = value.get("timeout"), value.get("max_retries")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
    ):
        raise ApolloConfigurationError(f"hook_params['timeout'] must be seconds above 0; got {timeout!r}.")
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or retries < 0):
        raise ApolloConfigurationError(
            f"hook_params['max_retries'] must be a whole number from 0; got {retries!r}."
        )
    priority, quota_wait = value.get("priority"), value.get("max_quota_wait")
    if priority is not None and priority not in ("low", "normal"):
        raise ApolloConfigurationError(
            f"hook_params['priority'] must be 'low' (exports and backfills, which leave the "
            f"connection's quota_reserve to others) or 'normal'; got {priority!r}."
        )
    if quota_wait is not None and (
        isinstance(quota_wait, bool) or not isinstance(quota_wait, (int, float)) or quota_wait < 0
    ):
        raise ApolloConfigurationError(
            f"hook_params['max_quota_wait'] must be seconds from 0 (it can only lower the "
            f"connection's max_quota_wait); got {quota_wait!r}."
        )
    return {key: item for key, item in value.items() if item is not None}
