"""Bulk enrichment helpers: input validation, chunks of 10, and realignment of answers.

Apollo's bulk endpoints take at most 10 inputs per call. ``people/bulk_match`` answers
``matches`` aligned with ``details`` (``null`` for a miss) and ``organizations/bulk_enrich``
answers only the organizations it found. Neither is trusted blindly: answers are placed
back on their input by identity (``identity.py``: id, email, LinkedIn URL, name + domain/company), so the
caller always gets one entry per input, in input order, ``None`` meaning "not found".
A 200 stub person (no id, or ``match_confidence`` none/null) is "not found" too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from airflow_provider_apollo._api.identity import normalise_text, normalize_domain, person_keys, person_name
from airflow_provider_apollo.exceptions import ApolloConfigurationError

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items (the last may be shorter).

    :param items: what to split.
    :param size: the largest slice, at least 1.
    """
    if size < 1:
        raise ValueError("size must be at least 1")
    for start in range(0, len(items), size):
        yield items[start : start + size]


def validate_person_details(details: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check every match request identifies someone, before any request is sent.

    A detail must carry an ``id``, ``email``, ``hashed_email`` or ``linkedin_url``, or a name
    (``first_name`` + ``last_name``, or ``name``) with ``domain`` or ``organization_name``.

    :param details: the people to enrich.
    :raises ApolloConfigurationError: naming the index of the first unusable detail.
    """
    if isinstance(details, (str, bytes, Mapping)):
        raise ApolloConfigurationError("details must be a list of mappings, one per person.")
    checked: list[dict[str, Any]] = []
    for index, detail in enumerate(details):
        if not isinstance(detail, Mapping):
            raise ApolloConfigurationError(
                f"details[{index}] must be a mapping such as {{'email': ...}}; got {type(detail).__name__}."
            )
        strong = any(
            normalise_text(detail.get(key)) for key in ("id", "email", "hashed_email", "linkedin_url")
        )
        named = bool(person_name(detail)) and any(
            normalise_text(detail.get(key)) for key in ("domain", "organization_name")
        )
        if not (strong or named):
            raise ApolloConfigurationError(
                f"details[{index}] does not identify a person: give id, email, hashed_email or "
                "linkedin_url, or first_name + last_name (or name) with domain or organization_name."
            )
        checked.append(dict(detail))
    return checked


def require_domain(argument: str, value: Any) -> str:
    """``value`` normalised (``https://www.x.com/about`` -> ``x.com``), or an error naming ``argument``.

    :param argument: the argument's name, e.g. ``domains[3]``.
    :param value: a domain or website URL.
    """
    domain = normalize_domain(value)
    if "." not in domain or any(not label for label in domain.split(".")):
        raise ApolloConfigurationError(
            f"{argument} is not a domain: {value!r}. Give a domain such as 'apollo.io' or a website URL."
        )
    return domain


def validate_domains(domains: Sequence[str]) -> list[str]:
    """Normalise domains (``https://www.x.com/`` -> ``x.com``) or name the bad index.

    :param domains: company domains or website URLs.
    """
    if isinstance(domains, (str, bytes)):
        raise ApolloConfigurationError("domains must be a list of domains, not a single string.")
    return [require_domain(f"domains[{index}]", domain) for index, domain in enumerate(domains)]


def is_matched_person(person: Any) -> bool:
    """Whether Apollo's person is a real match rather than the 200 "not found" stub.

    :param person: an entry of ``matches`` or the ``person`` of ``people/match``.
    """
    if not isinstance(person, Mapping) or not normalise_text(person.get("id")):
        return False
    if "match_confidence" in person:
        return normalise_text(person.get("match_confidence")) not in ("", "none", "null")
    return True


def realign_people(
    details: Sequence[Mapping[str, Any]], matches: Sequence[Any]
) -> tuple[list[dict[str, Any] | None], int]:
    """Place each matched person on the detail it answers.

    Same length: Apollo's positional alignment is kept unless an answer clearly belongs to
    another input (it shares no identity key with its own input but does with another).
    Different length or a clear mismatch: answers are placed by identity keys.

    :param details: the inputs of one bulk call.
    :param matches: Apollo's ``matches``.
    :return: one entry per detail (``None``: not found) and the count of answers that could
        not be placed on any input.
    """
    wanted = [person_keys(d) for d in details]
    found = [m if is_matched_person(m) else None for m in matches]
    if len(found) == len(details) and not any(
        _belongs_elsewhere(i, person_keys(m), wanted) for i, m in enumerate(found) if m is not None
    ):
        return [dict(m) if m is not None else None for m in found], 0
    return _place_by_keys(wanted, [m for m in found if m is not None], person_keys)


def _belongs_elsewhere(index: int, keys: set[str], wanted: Sequence[set[str]]) -> bool:
    if keys & wanted[index]:
        return False
    return any(keys & other for j, other in enumerate(wanted) if j != index)


def _place_by_keys(
    wanted: Sequence[set[str]],
    answers: Sequence[Mapping[str, Any]],
    keys_of: Any,
) -> tuple[list[dict[str, Any] | None], int]:
    answer_keys = [keys_of(a) for a in answers]
    used = [False] * len(answers)
    placed: list[dict[str, Any] | None] = []
    for keys in wanted:
        candidates = [j for j, k in enumerate(answer_keys) if keys & k]
        # An input repeated twice may be answered once: reuse a used answer only when needed.
        choice = next((j for j in candidates if not used[j]), candidates[0] if candidates else None)
        if choice is None:
            placed.append(None)
            continue
        used[choice] = True
        placed.append(dict(answers[choice]))
    return placed, used.count(False)


def organization_domain_keys(organization: Mapping[str, Any]) -> set[str]:
    """Domains an organization answer can be recognised by.

    :param organization: an organization from Apollo.
    """
    return {
        d
        for d in (
            normalize_domain(organization.get("primary_domain")),
            normalize_domain(organization.get("domain")),
            normalize_domain(organization.get("website_url")),
        )
        if d
    }


def realign_organizations(
    domains: Sequence[str], organizations: Sequence[Any]
) -> tuple[list[dict[str, Any] | None], int]:
    """Place each organization on the requested domain it answers.

    :param domains: normalised requested domains of one call.
    :param organizations: Apollo's ``organizations`` (found ones only, any order).
    :return: one entry per domain (``None``: not found) and the count of unplaced answers.
    """
    found = [o for o in organizations if isinstance(o, Mapping) and o]
    return _place_by_keys([{d} for d in domains], found, organization_domain_keys)


def mobile_phone_returned(person: Mapping[str, Any]) -> bool:
    """Whether Apollo returned a mobile number for ``person`` (8 extra credits).

    :param person: a matched person.
    """
    if normalise_text(person.get("mobile_phone")) or normalise_text(person.get("sanitized_mobile_phone")):
        return True
    phones = person.get("phone_numbers")
    if isinstance(phones, list):
        for phone in phones:
            if isinstance(phone, Mapping) and "mobile" in normalise_text(
                phone.get("type") or phone.get("type_cd")
            ):
                return True
    return False
