"""Whether an email address is obviously unusable, before it is sent to Apollo.

Apollo's contact creation documents "Invalid emails will be ignored": the contact is
created without its email. Such a contact cannot be deduplicated by email on the next run
and cannot be emailed by a sequence, so the operators catch the obvious cases first. The
check is deliberately loose (one ``@``, a local part, a dotted domain, no spaces): it
refuses typos, not unusual but valid addresses.
"""

from __future__ import annotations

import re
from typing import Any

_LOCAL = re.compile(r"^[^\s@]+$")
# Any letters (internationalised domains too), digits and inner hyphens; no spaces or symbols.
_DOMAIN_LABEL = re.compile(r"^[^\W_](?:[\w-]*[^\W_])?$")


def email_problem(value: Any) -> str | None:
    """Why ``value`` is not a usable email address, or ``None`` when it looks like one.

    :param value: the email as given.
    """
    if not isinstance(value, str):
        return f"it is a {type(value).__name__}, not a string"
    text = value.strip()
    if text.count("@") != 1:
        return "it does not have exactly one '@'"
    local, domain = text.split("@")
    if not local or not _LOCAL.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        return "the part before '@' is empty or malformed"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        return "the part after '@' is not a domain such as example.com"
    if labels[-1].isdigit() or len(labels[-1]) < 2:
        return "the domain has no top-level domain"
    return None
