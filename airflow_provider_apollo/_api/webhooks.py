"""The check of a ``webhook_url`` Apollo posts revealed phone numbers to.

Apollo delivers phone numbers (``reveal_phone_number``, waterfall enrichment) later, to the
caller's webhook, and requires it to be a public HTTPS URL. Credits are spent when the
request is accepted, so a URL Apollo cannot deliver to (``http://``, ``localhost``, a
private address) spends credits for numbers that never arrive. It is refused before any
request. The host is only parsed, never resolved: DNS would make the check depend on the
worker's network and leak the host name to a resolver.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_apollo.exceptions import ApolloConfigurationError

#: Host names and suffixes that never reach the public internet.
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_LOCAL_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".lan", ".home.arpa", ".intranet")


def _host_problem(host: str) -> str | None:
    """Why ``host`` is not a public host, or ``None``."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        return None if address.is_global else f"{host} is not a public IP address"
    name = host.rstrip(".")
    if name in _LOCAL_NAMES or name.endswith(_LOCAL_SUFFIXES):
        return f"{host} is a local host name"
    if "." not in name:
        return f"{host} is a single-label host name, not reachable from the internet"
    return None


def public_https_url(argument: str, value: Any) -> str:
    """``value`` if it is an https URL on a public host, else a clear error.

    :param argument: the argument named in the error (``webhook_url``).
    :param value: the URL as given.
    :raises ApolloConfigurationError: not a string, not ``https``, no host, or a host that is
        loopback, private, link-local or a local name.
    """
    text = value.strip() if isinstance(value, str) else ""
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        parts, host = None, ""
    if parts is None or not host:
        problem = "it is not an absolute URL with a host"
    elif parts.scheme.lower() != "https":
        problem = f"its scheme is {parts.scheme or 'missing'!s}, and Apollo only delivers to https"
    else:
        problem = _host_problem(host) or ""
    if not problem:
        return text
    shown = value if isinstance(value, str) and len(value) <= 120 else f"{type(value).__name__} value"
    raise ApolloConfigurationError(
        f"{argument} must be a public HTTPS URL Apollo can post phone numbers to; got {shown!r}: "
        f"{problem}. Credits are spent as soon as Apollo accepts the request, so numbers sent to an "
        "unreachable webhook are paid for and lost. Expose an https endpoint on a public host."
    )
