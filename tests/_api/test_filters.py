"""Search filter validation (filters.py)."""

from __future__ import annotations

import pytest

from airflow_provider_apollo._api.filters import SEARCH_FILTERS, prepare_filters
from airflow_provider_apollo.exceptions import ApolloConfigurationError


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
    if "organization_num_employees_ranges" in filters:
        filters["organization_num_employees_ranges"] = ["1,10"]
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


@pytest.mark.parametrize("search", ["people search", "organization search"])
@pytest.mark.parametrize("key", ["organization_num_employees_ranges", "organization_num_employees_ranges[]"])
def test_employee_ranges_are_sent_as_documented_min_max_strings(search: str, key: str) -> None:
    body = prepare_filters(search, {key: ["1,10", " 101 , 200 ", "5001,5001"]})
    assert body == {"organization_num_employees_ranges": ["1,10", "101,200", "5001,5001"]}
    assert prepare_filters(search, {key: "51,200"}) == {"organization_num_employees_ranges": ["51,200"]}


@pytest.mark.parametrize(
    ("ranges", "bad", "why"),
    [
        (["a lot"], "[0] = 'a lot'", "not two whole numbers"),
        (["1,10", "200,100"], "[1] = '200,100'", "min is above its max"),
        (["1,"], "[0] = '1,'", "not two whole numbers"),
        ([",10"], "[0] = ',10'", "not two whole numbers"),
        (["-5,10"], "[0] = '-5,10'", "not two whole numbers"),
        (["1,10,100"], "[0] = '1,10,100'", "not two whole numbers"),
        (["1.5,10"], "[0] = '1.5,10'", "not two whole numbers"),
        ([[1, 10]], "[0] = [1, 10]", "not two whole numbers"),
        ([51], "[0] = 51", "not two whole numbers"),
    ],
)
def test_an_employee_range_that_is_not_min_max_is_refused_by_name(
    ranges: list[object], bad: str, why: str
) -> None:
    with pytest.raises(ApolloConfigurationError) as caught:
        prepare_filters("people search", {"organization_num_employees_ranges": ranges})
    message = str(caught.value)
    assert f"organization_num_employees_ranges{bad}" in message
    assert why in message and '"min,max"' in message


def test_employee_ranges_that_are_not_a_list_are_refused() -> None:
    with pytest.raises(ApolloConfigurationError, match="'organization_num_employees_ranges' must be a list"):
        prepare_filters("organization search", {"organization_num_employees_ranges": {"min": 1}})
