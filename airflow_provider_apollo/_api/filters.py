"""The filter keys each Apollo search accepts, checked before any request is sent.

Apollo ignores unknown filter keys silently and answers an unfiltered page that looks like
a real result (a typo such as ``person_title`` would enrich the wrong people and spend
credits). So every search validates its filters against the documented keys below and
fails with the unknown keys, their closest valid spellings and the full valid list.

Apollo documents array filters with query-string spelling (``person_titles[]``) and ranges
as ``revenue_range[min]``. In a JSON body these become ``"person_titles": [...]`` and
``"revenue_range": {"min": ...}``; both spellings are accepted and sent as JSON.
``page`` and ``per_page`` are method parameters, not filters.

Employee-count ranges (``organization_num_employees_ranges``) are documented only as
``"min,max"`` strings (``["1,10", "101,200"]``): each entry is checked here, before a
request is sent, and sent in exactly that form (spaces removed, always a list).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from airflow_provider_apollo.exceptions import ApolloConfigurationError

_RANGE_KEY = re.compile(r"^(?P<base>[a-z_]+)\[(?P<bound>min|max)\]$")
_ARRAY_KEY = re.compile(r"^(?P<base>[a-z_]+)\[\]$")
_EMPLOYEE_RANGE = re.compile(r"^\s*(?P<min>[0-9]+)\s*,\s*(?P<max>[0-9]+)\s*$")
EMPLOYEE_RANGES_FILTER = "organization_num_employees_ranges"
#: The legacy reference's ``"apollo.io\ngoogle.com"``; People API Search documents only
#: ``q_organization_domains_list[]``. If Apollo ignored the old name there, the search would
#: come back unfiltered and the wrong people would be enriched: it is translated instead.
LEGACY_DOMAINS_FILTER = "q_organization_domains"
DOMAINS_FILTER = "q_organization_domains_list"

_JOB_FILTERS = frozenset(
    {
        "q_organization_job_titles",
        "organization_job_locations",
        "organization_num_jobs_range",
        "organization_job_posted_at_range",
    }
)

# From Apollo's People API Search reference (current) and the legacy reference.
PEOPLE_SEARCH_FILTERS = frozenset(
    {
        "person_titles",
        "include_similar_titles",
        "person_locations",
        "person_seniorities",
        "organization_locations",
        "q_organization_domains_list",
        LEGACY_DOMAINS_FILTER,  # legacy: newline-joined string, sent as q_organization_domains_list
        "contact_email_status",
        "organization_ids",
        "organization_num_employees_ranges",
        "revenue_range",
        "currently_using_all_of_technology_uids",
        "currently_using_any_of_technology_uids",
        "currently_not_using_any_of_technology_uids",
        "q_keywords",
        "prospected_by_current_team",
        *_JOB_FILTERS,
    }
)

ORGANIZATION_SEARCH_FILTERS = frozenset(
    {
        "organization_ids",
        "organization_num_employees_ranges",
        "organization_locations",
        "organization_not_locations",
        "revenue_range",
        "currently_using_any_of_technology_uids",
        "q_organization_keyword_tags",
        "q_organization_name",
        "q_organization_domains_list",
        "latest_funding_amount_range",
        "total_funding_range",
        "latest_funding_date_range",
        "prospected_by_current_team",
        *_JOB_FILTERS,
    }
)

CONTACT_SEARCH_FILTERS = frozenset(
    {
        "q_keywords",
        "contact_stage_ids",
        "contact_label_ids",
        "label_ids",
        "sort_by_field",
        "sort_ascending",
    }
)

ACCOUNT_SEARCH_FILTERS = frozenset(
    {
        "q_organization_name",
        "account_stage_ids",
        "account_label_ids",
        "sort_by_field",
        "sort_ascending",
    }
)

TASK_SEARCH_FILTERS = frozenset(
    {
        "contact_ids",
        "user_ids",
        "task_types",
        "type",
        "status",
        "statuses",
        "priority",
        "open_factor_names",
        "sort_by_field",
        "sort_ascending",
    }
)

SEARCH_FILTERS: dict[str, frozenset[str]] = {
    "people search": PEOPLE_SEARCH_FILTERS,
    "organization search": ORGANIZATION_SEARCH_FILTERS,
    "contact search": CONTACT_SEARCH_FILTERS,
    "account search": ACCOUNT_SEARCH_FILTERS,
    "task search": TASK_SEARCH_FILTERS,
}

RANGE_FILTERS = frozenset(
    {
        "revenue_range",
        "organization_num_jobs_range",
        "organization_job_posted_at_range",
        "latest_funding_amount_range",
        "total_funding_range",
        "latest_funding_date_range",
    }
)

_PARAMETERS = ("page", "per_page")


def prepare_filters(search: str, filters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate ``filters`` for ``search`` and return the JSON body fragment to send.

    :param search: one of :data:`SEARCH_FILTERS` (``"people search"``...).
    :param filters: the caller's filters.
    :raises ApolloConfigurationError: unknown keys (with suggestions and the valid list),
        ``page``/``per_page`` given as filters, or a malformed range.
    """
    valid = SEARCH_FILTERS[search]
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise ApolloConfigurationError(f"{search} filters must be a mapping; got {type(filters).__name__}.")
    misplaced = [key for key in _PARAMETERS if key in filters]
    if misplaced:
        names = " and ".join(repr(k) for k in misplaced)
        raise ApolloConfigurationError(
            f"{search}: {names} {'is' if len(misplaced) == 1 else 'are'} not a filter: give page= / "
            "per_page= as method arguments (the iter_* methods walk the pages themselves)."
        )
    body: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in filters.items():
        key_text = str(key)
        range_match = _RANGE_KEY.match(key_text)
        array_match = _ARRAY_KEY.match(key_text)
        if range_match and range_match["base"] in RANGE_FILTERS and range_match["base"] in valid:
            bounds = body.setdefault(range_match["base"], {})
            if not isinstance(bounds, dict):
                raise ApolloConfigurationError(
                    f"{search}: give {range_match['base']!r} either as a mapping or as [min]/[max] keys."
                )
            bounds[range_match["bound"]] = value
        elif array_match and array_match["base"] in valid:
            body[array_match["base"]] = _checked_value(search, array_match["base"], value)
        elif key_text in valid:
            if key_text in RANGE_FILTERS:
                _check_range(search, key_text, value)
                body.setdefault(key_text, {}).update(value)
            else:
                body[key_text] = _checked_value(search, key_text, value)
        else:
            unknown.append(key_text)
    if unknown:
        raise ApolloConfigurationError(_unknown_message(search, unknown, valid))
    if LEGACY_DOMAINS_FILTER in body:
        legacy = _legacy_domains(search, body.pop(LEGACY_DOMAINS_FILTER))
        current = body.get(DOMAINS_FILTER) or []
        current = [current] if isinstance(current, str) else list(current)
        body[DOMAINS_FILTER] = list(dict.fromkeys([*current, *legacy]))
    return body


def _legacy_domains(search: str, value: Any) -> list[str]:
    """The legacy ``q_organization_domains`` (newline-joined string or list) as a list of domains."""
    entries = value.split("\n") if isinstance(value, str) else value
    if not isinstance(entries, (list, tuple)) or not all(isinstance(entry, str) for entry in entries):
        raise ApolloConfigurationError(
            f"{search}: filter {LEGACY_DOMAINS_FILTER!r} must be domains joined by newlines or a list of "
            f"domains; got {type(value).__name__}. Prefer {DOMAINS_FILTER!r}: ['apollo.io', 'google.com']."
        )
    domains = [entry.strip() for entry in entries if entry.strip()]
    if not domains:
        raise ApolloConfigurationError(
            f"{search}: filter {LEGACY_DOMAINS_FILTER!r} names no domain; an empty filter would search "
            f"everyone. Give {DOMAINS_FILTER!r}: ['apollo.io', ...] or drop the filter."
        )
    return domains


def _checked_value(search: str, key: str, value: Any) -> Any:
    if key == EMPLOYEE_RANGES_FILTER:
        return employee_ranges(search, value)
    return value


def employee_ranges(search: str, value: Any) -> list[str]:
    """Check ``organization_num_employees_ranges`` and return it as ``["min,max", ...]``.

    A single string is one range (Apollo accepts a single value where it documents an array).

    :param search: the search's name, for the message.
    :param value: the filter value as the caller gave it.
    :raises ApolloConfigurationError: naming the filter and the first entry that is not two
        whole numbers ``"min,max"`` with ``min <= max``.
    """
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, (list, tuple)):
        raise ApolloConfigurationError(
            f"{search}: filter {EMPLOYEE_RANGES_FILTER!r} must be a list of 'min,max' strings such as "
            f'["1,10", "101,200"]; got {type(value).__name__}.'
        )
    ranges = []
    for index, entry in enumerate(entries):
        match = _EMPLOYEE_RANGE.match(entry) if isinstance(entry, str) else None
        if match is None or int(match["min"]) > int(match["max"]):
            problem = "its min is above its max" if match else "it is not two whole numbers 'min,max'"
            raise ApolloConfigurationError(
                f"{search}: {EMPLOYEE_RANGES_FILTER}[{index}] = {entry!r} is not an employee range "
                f'({problem}). Give each range as a "min,max" string, e.g. ["1,10", "101,200"].'
            )
        ranges.append(f"{int(match['min'])},{int(match['max'])}")
    return ranges


def _check_range(search: str, key: str, value: Any) -> None:
    if not isinstance(value, Mapping) or not value or set(value) - {"min", "max"}:
        raise ApolloConfigurationError(
            f"{search}: filter {key!r} must be a mapping with 'min' and/or 'max' "
            f"(or use '{key}[min]' / '{key}[max]'); got {value!r}."
        )


def _unknown_message(search: str, unknown: list[str], valid: frozenset[str]) -> str:
    spelled = sorted(
        valid | {f"{r}[min]" for r in RANGE_FILTERS & valid} | {f"{r}[max]" for r in RANGE_FILTERS & valid}
    )
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, spelled, n=3, cutoff=0.6)
        hints.append(f"{key!r} (did you mean {' or '.join(repr(c) for c in close)}?)" if close else repr(key))
    return (
        f"Unknown {search} filter{'s' if len(unknown) > 1 else ''}: {', '.join(hints)}. Apollo would "
        f"silently ignore {'them' if len(unknown) > 1 else 'it'} and return unfiltered results. "
        f"Valid filters: {', '.join(sorted(valid))}."
    )
