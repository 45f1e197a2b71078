"""An enriched person's phone numbers as Apollo's contact phone fields, by type.

Apollo returns ``phone_numbers`` as ``{"raw_number", "sanitized_number", "type", "position"}``
entries (``type`` is ``work_direct``, ``mobile``, ``work_hq``, ``home`` or ``other``; some
answers spell the key ``type_cd``). Contacts take one number per field: ``direct_phone``,
``mobile_phone``, ``corporate_phone``, ``home_phone`` and ``other_phone`` (Contacts API).

Each number goes to the field of its type, so a company switchboard (``work_hq``) never
becomes a direct dial and a revealed mobile (8 credits) is never dropped. A number of
unknown type is stored as ``other_phone``: guessing it is a direct dial is what put
switchboards in reps' call lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Apollo phone ``type`` -> the contact field that holds it.
FIELD_BY_TYPE: dict[str, str] = {
    "work_direct": "direct_phone",
    "mobile": "mobile_phone",
    "work_hq": "corporate_phone",
    "home": "home_phone",
    "other": "other_phone",
}
#: Other company lines (any ``work_*`` but a direct dial) are corporate numbers.
_COMPANY_LINE_PREFIX = "work_"


def _field_for(phone_type: Any) -> str:
    text = phone_type.strip().casefold() if isinstance(phone_type, str) else ""
    if text in FIELD_BY_TYPE:
        return FIELD_BY_TYPE[text]
    if text.startswith(_COMPANY_LINE_PREFIX):
        return "corporate_phone"
    if "mobile" in text:
        return "mobile_phone"
    return "other_phone"


def _number(entry: Mapping[str, Any]) -> str | None:
    value = entry.get("sanitized_number") or entry.get("raw_number")
    return str(value).strip() if value and str(value).strip() else None


def _position(indexed: tuple[int, Mapping[str, Any]]) -> tuple[float, int]:
    index, entry = indexed
    position = entry.get("position")
    if isinstance(position, (int, float)) and not isinstance(position, bool):
        return (float(position), index)
    return (float("inf"), index)


def contact_phone_fields(person: Mapping[str, Any]) -> dict[str, str]:
    """The contact phone fields for ``person``: the first number of each type (by ``position``).

    :param person: an enriched person (or any record with ``phone_numbers``).
    :return: e.g. ``{"direct_phone": ..., "mobile_phone": ..., "corporate_phone": ...}``;
        only the fields that have a number.
    """
    fields: dict[str, str] = {}
    entries = [
        (index, entry)
        for index, entry in enumerate(person.get("phone_numbers") or ())
        if isinstance(entry, Mapping)
    ]
    for _, entry in sorted(entries, key=_position):
        number = _number(entry)
        if number is not None:
            fields.setdefault(_field_for(entry.get("type") or entry.get("type_cd")), number)
    # Flat fields some answers carry besides (or instead of) ``phone_numbers``.
    mobile = person.get("sanitized_mobile_phone") or person.get("mobile_phone")
    if isinstance(mobile, str) and mobile.strip():
        fields.setdefault("mobile_phone", mobile.strip())
    primary = person.get("sanitized_phone")
    if not entries and isinstance(primary, str) and primary.strip():
        # An untyped number: stored, but not claimed to be a direct dial.
        fields.setdefault("other_phone", primary.strip())
    return fields
