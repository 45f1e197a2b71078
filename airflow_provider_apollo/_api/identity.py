"""Who a record is: the one place that decides when two people, contacts or accounts are the same.

Enrichment realigns Apollo's answers on their inputs (``batching.py``), bulk creates give
each input its record (``record_matching.py``), the enrich operator pays once for an input
given twice, and the existing-contact look-up finds a person among the team's contacts
(``hooks/_resources/contacts.py``). They all key a record here, with one normaliser, so
one e-mail written two ways (``" Ann@Acme.io"``, ``"ann@acme.io"``) is one key everywhere:
a key that differs between two of those places is how a swapped or duplicated record
would come about.

A key is ``"<kind>:<value>"``; kinds, strongest first, are :data:`PERSON_KINDS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

#: A record's keys, kind -> normalised value (at most one value per kind).
Identity = dict[str, str]

#: Kinds of a person's keys, strongest first. ``person``: Apollo's person id;
#: ``hashed_email``: an MD5/SHA-256 hex digest of the e-mail (People Enrichment accepts it).
PERSON_KINDS = ("person", "email", "hashed_email", "linkedin", "name+domain", "name+company")
#: The kinds a contact record can be recognised by (contact records carry no domain).
CONTACT_KINDS = ("person", "email", "linkedin", "name+company")


# ------------------------------------------------------------------------ normalisers
def normalise_text(value: Any) -> str:
    """Case-folded, stripped, inner whitespace collapsed (``" Ann  LEE "`` -> ``"ann lee"``).

    :param value: anything; a non-string is ``""``.
    """
    return " ".join(value.casefold().split()) if isinstance(value, str) else ""


def normalise_email(value: Any) -> str:
    """``" Ann@Acme.IO "`` -> ``"ann@acme.io"`` (``""`` for a non-string).

    :param value: an e-mail address.
    """
    return value.strip().lower() if isinstance(value, str) else ""


def normalize_domain(value: Any) -> str:
    """``https://www.Example.com/about`` -> ``example.com`` (empty string when unusable).

    :param value: a domain or website URL.
    """
    text = normalise_text(value)
    if not text:
        return ""
    host = urlsplit(text if "://" in text else f"//{text}").hostname or ""
    return host.removeprefix("www.").rstrip(".")


def normalize_linkedin(value: Any) -> str:
    """``http://www.linkedin.com/in/Tim-Zheng/`` -> ``linkedin.com/in/tim-zheng``.

    :param value: a LinkedIn profile URL.
    """
    text = normalise_text(value)
    if not text:
        return ""
    parts = urlsplit(text if "://" in text else f"//{text}")
    host = (parts.hostname or "").removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}"


# ---------------------------------------------------------------------- a person's parts
def person_name(record: Mapping[str, Any]) -> str:
    """``first_name last_name`` when both are given, else ``name``; normalised.

    :param record: a person, a contact or a match request.
    """
    first, last = normalise_text(record.get("first_name")), normalise_text(record.get("last_name"))
    return f"{first} {last}" if first and last else normalise_text(record.get("name"))


def _organization(record: Mapping[str, Any]) -> Mapping[str, Any]:
    organization = record.get("organization")
    return organization if isinstance(organization, Mapping) else {}


def person_domains(record: Mapping[str, Any]) -> list[str]:
    """The person's company domains, most explicit first (``domain``, then the organization's).

    :param record: a person, a contact or a match request.
    """
    organization = _organization(record)
    found = (
        normalize_domain(record.get("domain")),
        normalize_domain(organization.get("primary_domain")),
        normalize_domain(organization.get("website_url")),
    )
    return list(dict.fromkeys(domain for domain in found if domain))


def person_companies(record: Mapping[str, Any]) -> list[str]:
    """The person's company names, most explicit first (``organization_name``, then the organization's).

    :param record: a person, a contact or a match request.
    """
    found = (
        normalise_text(record.get("organization_name")),
        normalise_text(_organization(record).get("name")),
    )
    return list(dict.fromkeys(company for company in found if company))


# ------------------------------------------------------------------------------ keys
def person_identity(record: Mapping[str, Any], *, person_id: Any = None) -> Identity:
    """A person's or contact's keys, kind -> value, strongest first (see :data:`PERSON_KINDS`).

    :param record: contact fields as sent, a contact record (its ``person_id``), a person or
        a match request.
    :param person_id: the Apollo person id the record stands for, when the record does not
        say it as ``person_id`` (a person's own id is its ``id``; a contact's ``id`` is not a
        person id).
    """
    keys: Identity = {}
    person = normalise_text(person_id) or normalise_text(record.get("person_id"))
    if person:
        keys["person"] = person
    email = normalise_email(record.get("email"))
    if email:
        keys["email"] = email
    hashed = normalise_text(record.get("hashed_email"))
    if hashed:
        keys["hashed_email"] = hashed
    linkedin = normalize_linkedin(record.get("linkedin_url"))
    if linkedin:
        keys["linkedin"] = linkedin
    name = person_name(record)
    if name:
        domains, companies = person_domains(record), person_companies(record)
        if domains:
            keys["name+domain"] = f"{name}|{domains[0]}"
        if companies:
            keys["name+company"] = f"{name}|{companies[0]}"
    return keys


def keys_of(identity: Identity, kinds: tuple[str, ...] = PERSON_KINDS) -> list[str]:
    """``identity`` as ``"kind:value"`` keys of ``kinds``, in the order of ``kinds``.

    :param identity: from :func:`person_identity` or :func:`account_identity`.
    :param kinds: the kinds to keep, strongest first.
    """
    return [f"{kind}:{identity[kind]}" for kind in kinds if kind in identity]


def person_keys(record: Mapping[str, Any]) -> set[str]:
    """Every key of a person in a match request or Apollo's answer (its ``id`` is a person id).

    Unlike :func:`person_identity` it keeps every domain and company the record names, so a
    person Apollo answers with its organization's ``website_url`` still meets the request
    that gave its ``primary_domain``.

    :param record: a ``details`` entry or a person from Apollo.
    """
    keys = set(keys_of(person_identity(record, person_id=record.get("id"))))
    name = person_name(record)
    if name:
        keys.update(f"name+domain:{name}|{domain}" for domain in person_domains(record))
        keys.update(f"name+company:{name}|{company}" for company in person_companies(record))
    return keys


def same_person_key(record: Mapping[str, Any]) -> str:
    """The strongest key of a match request: two requests with the same key are one person.

    :param record: a match request (its ``id`` is a person id); ``""`` when it has no key.
    """
    keys = keys_of(person_identity(record, person_id=record.get("id")))
    return keys[0] if keys else ""


def contact_lookup_keys(record: Mapping[str, Any]) -> list[str]:
    """Keys to find a person among contacts, strongest first (person id, email, LinkedIn, name + company).

    People API search answers no email, LinkedIn URL or full last name, only the person's
    ``id``; a contact Apollo linked to that person carries it as ``person_id``.

    :param record: a person (search result, enrichment input or match) or a contact.
    """
    # A contact has a ``person_id`` member (null when Apollo linked no person); a person's id is ``id``.
    own_id = None if "person_id" in record else record.get("id")
    return keys_of(person_identity(record, person_id=own_id), CONTACT_KINDS)


def account_identity(record: Mapping[str, Any]) -> Identity:
    """The identity keys of an account input or record: its domain, then its name.

    :param record: account fields as sent, or an account record from Apollo.
    """
    keys: Identity = {}
    domain = normalize_domain(
        record.get("domain") or record.get("primary_domain") or record.get("website_url")
    )
    if domain:
        keys["domain"] = domain
    name = normalise_text(record.get("name"))
    if name:
        keys["name"] = name
    return keys
