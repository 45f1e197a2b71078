"""Which emails Apollo keeps on contact creation: contacts-api.md, "Invalid emails will be ignored."

Apollo does not say what it calls invalid; the sandbox takes the plain syntactic reading: one
``@``, a local part without spaces, and a domain of dot-separated labels ending in a
top-level domain of letters. Anything else is dropped, as if no email had been sent.
"""

from __future__ import annotations

import re
from typing import Any

_EMAIL = re.compile(r"^[^@\s]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$")


def is_valid_email(value: object) -> bool:
    """Whether Apollo would keep ``value`` as a contact's email.

    :param value: what the caller sent as ``email``.
    """
    return isinstance(value, str) and _EMAIL.match(value.strip()) is not None


def without_invalid_email(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` without ``email`` when the email is invalid (else ``fields`` unchanged).

    :param fields: a contact's create fields.
    """
    email = fields.get("email")
    if email is None or is_valid_email(email):
        return fields
    return {key: value for key, value in fields.items() if key != "email"}
