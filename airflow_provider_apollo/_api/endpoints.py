"""Apollo endpoint paths (relative to ``/api/v1``) and their path templates.

Apollo counts rate limits per endpoint, so quota state is kept per *template*
(``contacts/{id}``), not per concrete path (``contacts/64f0...``).
"""

from __future__ import annotations

import re

from airflow_provider_apollo.exceptions import ApolloConfigurationError

_ID_SEGMENT = re.compile(r"^(?=.*\d)[A-Za-z0-9_-]{8,}$")
_LEGACY_PREFIXES = ("api/v1/", "v1/")


def normalize_path(path: object, *, argument: str = "path") -> str:
    """``/api/v1/contacts/`` -> ``contacts``: the path relative to the base URL.

    The one path check of the package: the hooks' requests and ``ApolloOperator``'s
    ``endpoint`` alike.

    :param path: an endpoint path, with or without a leading slash or API prefix.
    :param argument: the caller's name for it, in the error.
    :raises ApolloConfigurationError: not a string, a full URL (or ``//host``), a path carrying
        a query string (the host comes from the connection; parameters go in ``params``), or
        no path at all.
    """
    if not isinstance(path, str):
        raise ApolloConfigurationError(f"{argument} must be a path such as 'contacts/search'; got {path!r}.")
    if "://" in path or path.strip().startswith("//") or "?" in path or "#" in path:
        raise ApolloConfigurationError(
            f"{argument} {path!r} must be relative to the connection's base URL (e.g. 'contacts/search'), "
            "not a URL, and without a query string: the host comes from the Apollo connection; pass "
            "query parameters as params."
        )
    cleaned = path.strip().strip("/") + "/"  # so that a bare "/api/v1/" loses its prefix too
    for prefix in _LEGACY_PREFIXES:
        if cleaned.startswith(prefix):
            cleaned = cleaned[len(prefix) :]
            break
    cleaned = cleaned.rstrip("/")
    if not cleaned or ".." in cleaned.split("/"):
        raise ApolloConfigurationError(
            f"{argument} must name an Apollo path such as 'contacts/search'; got {path!r}."
        )
    return cleaned


def path_template(path: str) -> str:
    """``contacts/64f0c3e2a1b2c3d4e5f60718`` -> ``contacts/{id}`` (ids replaced).

    :param path: a normalised endpoint path.
    """
    return "/".join("{id}" if _ID_SEGMENT.match(part) else part for part in path.split("/"))
