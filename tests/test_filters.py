"""Search filter validation (filters.py)."""

from __future__ import annotations

import pytest

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.filters import SEARCH_FILTERS, prepare_filters


@pytest.mark.parametrize("search", sorted(SEARCH_FILTERS))
def test_every_documented_key_is_accepted(search: str) -> None:
    filters = {key: ["x"] for key in SEARCH_FILTERS[search]}
    for key in (
        "revenue_range",
        "latest_funding_amount_range",
        "total_funding_range",
        "latest_funding_date_range",
        "organization_num_jobs_range",
        "organization_job_posted_at_range",
    ):
        if key in filters:
            filters[key] = {"min": 1}
    assert set(prepare_filters(search, filters)) == set(filters)


def test_unknown_keys_list_suggestions_and_valid_keys() -> None:
    with pytest.raises(ApolloConfigurationError) as caught:
        prepare_filters("people search", {"person_titels": [], "organisation_ids": [], "zzz": 1})
    message = str(caught.value)
    assert "Unknown people search filters:" in message
    assert "'person_titels' (did you mean 'person_titles'" in message
    assert "'organisation_ids' (did you mean 'organization_ids'" in message
    assert "'zzz'" in message
    assert "silently ignore them" in message
    assert "Valid filters: contact_email_status, currently_not_using_any_of_technology_uids" in message


def test_ranges_in_both_spellings() -> None:
    body = prepare_filters(
        "organization search", {"revenue_range[min]": 5, "total_funding_range": {"max": 9}}
    )
    assert body == {"revenue_range": {"min": 5}, "total_funding_range": {"max": 9}}
    with pytest.raises(
        ApolloConfigurationError, match="'revenue_range' must be a mapping with 'min' and/or 'max'"
    ):
        prepare_filters("people search", {"revenue_range": [1, 2]})
    with pytest.raises(ApolloConfigurationError, match="Unknown"):
        prepare_filters("contact search", {"revenue_range[min]": 1})  # not a contact search range


def test_none_and_non_mappings() -> None:
    assert prepare_filters("task search", None) == {}
    with pytest.raises(ApolloConfigurationError, match="must be a mapping"):
        prepare_filters("task search", [("contact_ids", [])])  # type: ignore[arg-type]
