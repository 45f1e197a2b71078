"""Queries over Apollo's database (the world): people and organization search, matching.

Filters Apollo does not know are ignored, exactly like Apollo: the caller gets an
unfiltered page that looks like a real result (the quirk the hook protects users from).
A known filter with a value Apollo cannot read (an employee range that is not "min,max")
is answered 422 "Parameters misconfigured".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from airflow_provider_apollo.sandbox.errors import ApolloApiError, unprocessable
from airflow_provider_apollo.sandbox.world import Record, World, normalise_linkedin

_COUNTRY_ALIASES = {
    "us": "united states",
    "usa": "united states",
    "uk": "united kingdom",
    "gb": "united kingdom",
    "de": "germany",
    "fr": "france",
    "nl": "netherlands",
    "ie": "ireland",
    "au": "australia",
    "ca": "canada",
    "in": "india",
    "sg": "singapore",
}


def as_list(value: Any) -> list[Any]:
    """A filter value as a list: Apollo accepts a single value where it documents an array.

    :param value: the raw filter value.
    """
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _location_matches(wanted: str, city: str, state: str, country: str) -> bool:
    places = {city.lower(), state.lower(), country.lower()}
    for part in wanted.split(","):
        token = part.strip().lower()
        if token and token not in places and _COUNTRY_ALIASES.get(token) not in places:
            return False
    return True


def _any_location(wanted: list[Any], record: Record) -> bool:
    return any(_location_matches(str(w), record["city"], record["state"], record["country"]) for w in wanted)


_EMPLOYEE_RANGE = re.compile(r"^\s*([0-9]+)\s*,\s*([0-9]+)\s*$")


def employee_ranges(specs: list[Any]) -> list[tuple[int, int]]:
    """``organization_num_employees_ranges`` entries (``"min,max"``) as ``(min, max)`` pairs.

    :param specs: the filter's entries as sent.
    :raises ApolloApiError: 422 "Parameters misconfigured" for an entry that is not "min,max".
    """
    ranges = []
    for spec in specs:
        match = _EMPLOYEE_RANGE.match(spec) if isinstance(spec, str) else None
        if match is None:
            raise misconfigured("organization_num_employees_ranges", spec)
        ranges.append((int(match[1]), int(match[2])))
    return ranges


def misconfigured(name: str, value: Any) -> ApolloApiError:
    """Apollo's 422 for a filter value it cannot read.

    :param name: the filter.
    :param value: the value sent.
    """
    return unprocessable(f"Parameters misconfigured. {value!r} is not a valid value for {name}")


def _size_matches(ranges: list[tuple[int, int]], employees: int) -> bool:
    return any(low <= employees <= high for low, high in ranges)


def _domains(filters: dict[str, Any]) -> set[str]:
    domains = {str(d).strip().lower() for d in as_list(filters.get("q_organization_domains_list"))}
    legacy = filters.get("q_organization_domains")
    if isinstance(legacy, str):
        domains.update(d.strip().lower() for d in legacy.split("\n") if d.strip())
    elif legacy:
        domains.update(str(d).strip().lower() for d in legacy)
    return {d.removeprefix("www.") for d in domains}


def _organization_filter(filters: dict[str, Any]) -> Any:
    ids = set(as_list(filters.get("organization_ids")))
    ranges = employee_ranges(as_list(filters.get("organization_num_employees_ranges")))
    locations = as_list(filters.get("organization_locations"))
    not_locations = as_list(filters.get("organization_not_locations"))
    domains = _domains(filters)
    name = str(filters.get("q_organization_name") or "").lower()
    tags = [str(t).lower() for t in as_list(filters.get("q_organization_keyword_tags"))]

    def keep(org: Record) -> bool:
        if ids and org["id"] not in ids:
            return False
        if domains and org["primary_domain"] not in domains:
            return False
        if ranges and not _size_matches(ranges, org["estimated_num_employees"]):
            return False
        if locations and not _any_location(locations, org):
            return False
        if not_locations and _any_location(not_locations, org):
            return False
        if name and name not in org["name"].lower():
            return False
        return not tags or any(tag in keyword for tag in tags for keyword in org["keywords"])

    return keep


def search_people(world: World, filters: dict[str, Any]) -> list[Record]:
    """Every world person matching ``mixed_people/api_search`` filters, in a stable order.

    :param world: the world.
    :param filters: the request body; unknown keys are ignored.
    """
    titles = [str(t).lower() for t in as_list(filters.get("person_titles"))]
    seniorities = set(as_list(filters.get("person_seniorities")))
    locations = as_list(filters.get("person_locations"))
    statuses = {str(s).lower() for s in as_list(filters.get("contact_email_status"))}
    keywords = str(filters.get("q_keywords") or "").lower().split()
    org_filters: dict[str, Any] = {
        key: filters[key]
        for key in (
            "organization_ids",
            "organization_num_employees_ranges",
            "organization_locations",
            "q_organization_domains_list",
            "q_organization_domains",
        )
        if key in filters
    }
    allowed_orgs: set[str] | None = None
    if org_filters:
        keep_org = _organization_filter(org_filters)
        allowed_orgs = {org["id"] for org in world.organizations if keep_org(org)}
    orgs = world.organizations_by_id

    def keep(person: Record) -> bool:
        if allowed_orgs is not None and person["organization_id"] not in allowed_orgs:
            return False
        if seniorities and person["seniority"] not in seniorities:
            return False
        if titles and not any(t in person["title"].lower() for t in titles):
            return False
        if locations and not _any_location(locations, person):
            return False
        if statuses and (person["email_status"] or "unavailable") not in statuses:
            return False
        if keywords:
            haystack = f"{person['name']} {person['title']} {orgs[person['organization_id']]['name']}".lower()
            return all(word in haystack for word in keywords)
        return True

    return [person for person in world.people if keep(person)]


def search_organizations(world: World, filters: dict[str, Any]) -> list[Record]:
    """Every world organization matching ``mixed_companies/search`` filters.

    :param world: the world.
    :param filters: the request body; unknown keys are ignored.
    """
    keep = _organization_filter(filters)
    return [org for org in world.organizations if keep(org)]


def match_person(world: World, details: dict[str, Any]) -> Record | None:
    """The world person ``people/match`` finds for ``details``, or ``None``.

    Tries, in order: id, email, LinkedIn URL, then first + last name (or ``name``) with the
    organization's domain or name.

    :param world: the world.
    :param details: match details as the caller sent them.
    """
    if details.get("id"):
        return world.people_by_id.get(str(details["id"]))
    if details.get("email"):
        found = world.people_by_email.get(str(details["email"]).strip().lower())
        if found:
            return found
    if details.get("linkedin_url"):
        found = world.people_by_linkedin.get(normalise_linkedin(str(details["linkedin_url"])))
        if found:
            return found
    first, last = details.get("first_name"), details.get("last_name")
    if (not first or not last) and details.get("name"):
        first, _, last = str(details["name"]).strip().partition(" ")
    if not first or not last:
        return None
    org = _organization_of(world, details)
    if org is None:
        return None
    return world.people_by_name_and_org.get((str(first).lower(), str(last).strip().lower(), org["id"]))


def _organization_of(world: World, details: dict[str, Any]) -> Record | None:
    domain = str(details.get("domain") or "").strip().lower()
    if domain:
        return find_organization_by_domain(world, domain)
    name = str(details.get("organization_name") or "").strip().lower()
    return world.organizations_by_name.get(name) if name else None


def find_organization_by_domain(world: World, domain: str) -> Record | None:
    """The organization whose primary domain is ``domain`` (scheme, ``www.`` and path ignored).

    :param world: the world.
    :param domain: a domain or website URL.
    """
    cleaned = domain.strip().lower()
    for prefix in ("https://", "http://"):
        cleaned = cleaned.removeprefix(prefix)
    cleaned = cleaned.removeprefix("www.").split("/")[0]
    return world.organizations_by_domain.get(cleaned)


def page_of(items: Iterable[Record] | list[Record], page: int, per_page: int) -> list[Record]:
    """The ``page``-th slice of ``items`` (1-based).

    :param items: all matching records.
    :param page: 1-based page number.
    :param per_page: page size.
    """
    records = items if isinstance(items, list) else list(items)
    start = (page - 1) * per_page
    return records[start : start + per_page]
