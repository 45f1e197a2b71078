"""Apollo endpoint paths (relative to ``/api/v1``) and their path templates.

Apollo counts rate limits per endpoint, so quota state is kept per *template*
(``contacts/{id}``), not per concrete path (``contacts/64f0...``).
"""

from __future__ import annotations

import re

from airflow_provider_apollo.exceptions import ApolloConfigurationError

#: The largest page of every paged search (people, organizations, contacts, accounts, tasks...).
MAX_PER_PAGE = 100
#: Apollo displays at most 500 pages of a search (50,000 records at 100 per page).
SEARCH_PAGE_CAP = 500

_ID_SEGMENT = re.compile(r"^(?=.*\d)[A-Za-z0-9_-]{8,}$")
_LEGACY_PREFIXES = ("api/v1/", "v1/")


def normalize_path(path: str) -> str:
    """``/api/v1/contacts/`` -> ``contacts``: the path relative to the base URL.

    :param path: an endpoint path, with or without a leading slash or API prefix.
    :raises ApolloConfigurationError: for a full URL or a path carrying a query string
        (the host comes from the connection; parameters go in ``params``).
    """
    if "://" in path or "?" in path or "#" in path:
        raise ApolloConfigurationError(
            f"path {path!r} must be relative to the connection's base URL (e.g. 'contacts/search'), "
            "without a query string: pass query parameters as params."
        )
    cleaned = path.strip().strip("/")
    for prefix in _LEGACY_PREFIXES:
        if cleaned.startswith(prefix):
            cleaned = cleaned[len(prefix) :]
            break
    if not cleaned or ".." in cleaned.split("/"):
        raise ApolloConfigurationError(f"path {path!r} is not an Apollo endpoint path.")
    return cleaned


def path_template(path: str) -> str:
    """``contacts/64f0c3e2a1b2c3d4e5f60718`` -> ``contacts/{id}`` (ids replaced).

    :param path: a normalised endpoint path.
    """
    return "/".join("{id}" if _ID_SEGMENT.match(part) else part for part in path.split("/"))
