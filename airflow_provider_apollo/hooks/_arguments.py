"""Checks of hook arguments, before anything is sent: each error names the argument."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_apollo.exceptions import ApolloConfigurationError


def require_ids(values: Any, name: str) -> list[str]:
    """A non-empty list of non-empty string ids, stripped.

    :param values: the ids as the caller gave them.
    :param name: the argument's name.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise ApolloConfigurationError(f"{name} must be a non-empty list of ids; got {values!r}.")
    for index, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise ApolloConfigurationError(f"{name}[{index}] must be a non-empty string id; got {value!r}.")
    return [v.strip() for v in values]


def require_id(value: Any, name: str) -> str:
    """A non-empty string id, stripped (for a body; ids in paths go through ``endpoint_path``).

    :param value: the id as the caller gave it.
    :param name: the argument's name.
    """
    if not isinstance(value, str) or not value.strip():
        raise ApolloConfigurationError(f"{name} must be a non-empty string; got {value!r}.")
    return value.strip()


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
