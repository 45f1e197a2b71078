"""Custom field values on contacts and accounts: ``typed_custom_fields: {<field id>: value}``.

apollo-crm-export-notes.md, Writes: "Custom fields travel as ``typed_custom_fields: {<field id>:
value}``; ids come from ``GET /typed_custom_fields`` (newer ``GET /fields``)". What Apollo answers
for an unknown id or a value of the wrong type is not documented; the sandbox answers 422 naming
the field (documented in docs/sandbox.md), so a mapping bug is caught instead of dropped.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from airflow_provider_apollo.sandbox.errors import unprocessable
from airflow_provider_apollo.sandbox.world import Record


def _typed(field: Record, value: Any) -> Any:
    kind = field["type"]
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError("a number")
        if isinstance(value, int | float):
            return value
        number = float(str(value))
        return int(number) if number.is_integer() else number
    if kind == "date":
        return date.fromisoformat(str(value)[:10]).isoformat()
    return str(value)


def apply_custom_fields(
    current: dict[str, Any], incoming: Any, fields: list[Record], modality: str
) -> dict[str, Any]:
    """``current`` with ``incoming`` merged in: given ids are set, a ``null`` value clears one.

    Fields not named keep their value (an update sends only what changed).

    :param current: the record's ``typed_custom_fields``.
    :param incoming: the request's ``typed_custom_fields`` (``None``: no change).
    :param fields: the team's custom fields (``GET /typed_custom_fields``).
    :param modality: ``contact`` or ``account``.
    """
    if incoming is None:
        return current
    if not isinstance(incoming, dict):
        raise unprocessable("typed_custom_fields must be an object of {custom field id: value}")
    known = {field["id"]: field for field in fields if field["modality"] == modality}
    merged = dict(current)
    for field_id, value in incoming.items():
        field = known.get(field_id)
        if field is None:
            raise unprocessable(
                f"typed_custom_fields: {field_id} is not a custom field of {modality}s; "
                "GET /typed_custom_fields lists the ids"
            )
        if value is None:
            merged.pop(field_id, None)
            continue
        try:
            merged[field_id] = _typed(field, value)
        except ValueError:
            raise unprocessable(
                f"typed_custom_fields: {field['name']!r} ({field_id}) is a {field['type']} field; "
                f"got {value!r}"
            ) from None
    return merged
