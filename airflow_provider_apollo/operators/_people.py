"""How the operators read a person: the match details Apollo needs (who is who: ``_api/identity.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_apollo._api.identity import normalise_text
from airflow_provider_apollo.exceptions import ApolloConfigurationError

#: The ``people/match`` fields the enrich operator forwards from an input person.
MATCH_KEYS = (
    "id",
    "email",
    "hashed_email",
    "linkedin_url",
    "first_name",
    "last_name",
    "name",
    "organization_name",
    "domain",
)
#: Any one of these identifies a person on its own (``hashed_email``: an MD5 or SHA-256 hex
#: digest of the email, which Apollo's People Enrichment accepts in place of the email).
STRONG_KEYS = ("id", "email", "hashed_email", "linkedin_url")


def match_details(argument: str, person: Mapping[str, Any]) -> dict[str, str]:
    """The ``people/match`` details for one input person.

    Works for people as ApolloSearchPeopleOperator returns them (Apollo's person ``id``,
    a nested ``organization``) and for plain dicts (email, linkedin_url, names + company).
    """
    details = {key: str(person[key]).strip() for key in MATCH_KEYS if normalise_text(person.get(key))}
    organization = person.get("organization")
    if isinstance(organization, Mapping):
        if "organization_name" not in details and normalise_text(organization.get("name")):
            details["organization_name"] = str(organization["name"]).strip()
        if "domain" not in details and normalise_text(organization.get("primary_domain")):
            details["domain"] = str(organization["primary_domain"]).strip()
    if not is_identifiable(details):
        raise ApolloConfigurationError(
            f"{argument} cannot be matched by Apollo: give an id, email, hashed_email or linkedin_url, or "
            f"first_name + last_name (or name) + organization_name or domain. Its keys: "
            f"{sorted(str(key) for key in person)}."
        )
    return details


def is_identifiable(details: Mapping[str, str]) -> bool:
    """True when Apollo has enough to find one person."""
    if any(key in details for key in STRONG_KEYS):
        return True
    named = ("first_name" in details and "last_name" in details) or "name" in details
    return named and ("organization_name" in details or "domain" in details)
