"""Argument checks shared by the operators.

Templated and XCom arguments only have their real values inside ``execute()``, so the
operators call these there, before the first request. Every failure raises
``ApolloConfigurationError`` naming the argument and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.operators._output import is_output_reference, read_json_lines

T = TypeVar("T")

#: Keys of a result produced by ApolloEnrichPeopleOperator; used to recognise one.
ENRICHMENT_RESULT_KEYS = frozenset({"status", "input", "person"})


def describe(value: Any) -> str:
    """A short description of a value for error messages (never the whole value)."""
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def is_list_like(value: Any) -> bool:
    """True for sequences (lists, tuples, lazy XCom sequences) but not strings or mappings."""
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def as_list(argument: str, value: Any) -> list[Any]:
    """``value`` as a list of items.

    A single item is wrapped (``.expand()`` hands each mapped task one element). A list of
    lists, which is what a mapped upstream task's output looks like, is flattened one level.
    The ``{"path", "count", ...}`` an upstream operator returns after writing to its
    ``output_path`` is read back from that file, so large results need not go through XCom.
    """
    if value is None:
        raise ApolloConfigurationError(f"{argument} is required; got None.")
    if is_output_reference(value):
        return list(read_json_lines(argument, value))
    if not is_list_like(value):
        return [value]
    items: list[Any] = []
    for item in value:
        if is_list_like(item):
            items.extend(item)
        else:
            items.append(item)
    return items


def as_mapping_list(argument: str, value: Any) -> list[Mapping[str, Any]]:
    """``value`` as a list of mappings (one mapping is accepted and wrapped)."""
    items = as_list(argument, value)
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ApolloConfigurationError(
                f"{argument}[{index}] must be a mapping (a dict of fields); got {describe(item)}."
            )
    return items


def as_contact_ids(argument: str, value: Any) -> list[str]:
    """Contact ids from ids or contact records (their ``id``), deduplicated, order kept.

    An empty list is valid (an upstream step may find nobody today); callers then do nothing.

    Enrichment results are refused: a matched person's ``id`` is an Apollo *person* id, not
    a contact id, so they must go through ApolloCreateContactsOperator first.
    """
    for index, item in enumerate(as_list(argument, value)):
        if isinstance(item, Mapping) and item.keys() >= ENRICHMENT_RESULT_KEYS:
            raise ApolloConfigurationError(
                f"{argument}[{index}] is an enrichment result, not a contact. Pass the output of "
                "ApolloCreateContactsOperator (contact records) or contact ids."
            )
    return as_record_ids(argument, value, "contact")


def as_record_ids(argument: str, value: Any, kind: str) -> list[str]:
    """Ids from ids or Apollo records of ``kind`` (their ``id``), deduplicated, order kept.

    The one rule for every id argument: wherever ids are taken, the records an upstream task
    returned are taken too. An empty list is valid; callers then send nothing.

    :param argument: the argument, named in errors.
    :param value: the rendered argument: one id or record, or a list of them.
    :param kind: what the ids are ids of (``"contact"``, ``"task"``), for errors.
    """
    if isinstance(value, str) and value.strip().startswith("["):
        raise ApolloConfigurationError(
            f"{argument} rendered to the text {value[:60]!r}, not a list: a template renders to a "
            "string unless the DAG sets render_template_as_native_obj=True (or pass an XComArg)."
        )
    ids: list[str] = []
    for index, item in enumerate(as_list(argument, value)):
        if isinstance(item, Mapping):
            item = item.get("id")
        if not isinstance(item, str) or not item.strip():
            raise ApolloConfigurationError(
                f"{argument}[{index}] must be a {kind} id (a non-empty string) or a {kind} record "
                f"with an 'id'; got {describe(item)}."
            )
        ids.append(item.strip())
    return unique(ids)


def as_string_list(argument: str, value: Any) -> list[str]:
    """Non-empty strings, deduplicated, order kept (one string is accepted and wrapped)."""
    strings: list[str] = []
    for index, item in enumerate(as_list(argument, value)):
        if not isinstance(item, str) or not item.strip():
            raise ApolloConfigurationError(
                f"{argument}[{index}] must be a non-empty string; got {describe(item)}."
            )
        strings.append(item.strip())
    if not strings:
        raise ApolloConfigurationError(f"{argument} is empty; give at least one value.")
    return unique(strings)


def unique(items: Iterable[T]) -> list[T]:
    """Items without repeats, first occurrence order kept."""
    return list(dict.fromkeys(items))


def choice(argument: str, value: Any, allowed: Iterable[str]) -> str:
    """``value`` if it is one of ``allowed``."""
    options = tuple(allowed)
    if value not in options:
        raise ApolloConfigurationError(
            f"{argument} must be one of {', '.join(repr(o) for o in options)}; got {value!r}."
        )
    return str(value)


def optional_int(argument: str, value: Any, *, minimum: int) -> int | None:
    """``None`` or an integer >= ``minimum``; numeric strings (rendered templates) are accepted."""
    if value is None:
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    if number is None or number < minimum:
        raise ApolloConfigurationError(f"{argument} must be None or an integer >= {minimum}; got {value!r}.")
    return number


def required_int(argument: str, value: Any, *, minimum: int, maximum: int) -> int:
    """An integer in ``[minimum, maximum]``."""
    number = optional_int(argument, value, minimum=minimum)
    if number is None or number > maximum:
        raise ApolloConfigurationError(
            f"{argument} must be an integer from {minimum} to {maximum}; got {value!r}."
        )
    return number


def optional_mapping(argument: str, value: Any) -> Mapping[str, Any] | None:
    """``None`` or a mapping."""
    if value is not None and not isinstance(value, Mapping):
        raise ApolloConfigurationError(f"{argument} must be a mapping (dict) or None; got {describe(value)}.")
    return value


def required_mapping(argument: str, value: Any) -> Mapping[str, Any]:
    """A mapping (an empty one is allowed)."""
    mapping = optional_mapping(argument, value)
    if mapping is None:
        raise ApolloConfigurationError(f"{argument} is required: give a mapping (dict).")
    return mapping


def optional_string(argument: str, value: Any) -> str | None:
    """``None`` or a non-empty string (stripped)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApolloConfigurationError(
            f"{argument} must be a non-empty string or None; got {describe(value)}."
        )
    return value.strip()


def exactly_one(first: tuple[str, Any], second: tuple[str, Any]) -> None:
    """Exactly one of two alternative arguments is set."""
    (first_name, first_value), (second_name, second_value) = first, second
    if (first_value is None) == (second_value is None):
        state = "both" if first_value is not None else "neither"
        raise ApolloConfigurationError(f"Give exactly one of {first_name} or {second_name} ({state} given).")
