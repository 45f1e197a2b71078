from __future__ import annotations

import pytest

from airflow_provider_apollo._airflow.arguments import as_contact_ids, as_list
from airflow_provider_apollo._api.batching import require_domain
from airflow_provider_apollo._api.identity import same_person_key as identity
from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.operators._people import match_details


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("acme.com", "acme.com"),
        ("https://www.Acme.com/about?x=1", "acme.com"),
        ("http://shop.acme.co.uk:8080/", "shop.acme.co.uk"),
        ("WWW.acme.com.", "acme.com"),
        ("  acme.com/path ", "acme.com"),
    ],
)
def test_domains_are_normalised(given, expected):
    assert require_domain("domains[0]", given) == expected


def test_lists_of_lists_from_mapped_upstreams_are_flattened_and_single_items_wrapped():
    assert as_list("people", [[{"a": 1}], [{"b": 2}, {"c": 3}]]) == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert as_list("people", {"a": 1}) == [{"a": 1}]
    assert as_list("contact_ids", ("c1", "c2")) == ["c1", "c2"]


def test_contact_ids_from_records_are_deduplicated_in_order():
    assert as_contact_ids("contact_ids", [{"id": "c2"}, "c1", " c2 ", [{"id": "c3"}]]) == ["c2", "c1", "c3"]


def test_contact_ids_refuse_none():
    with pytest.raises(ApolloConfigurationError, match="contact_ids is required"):
        as_contact_ids("contact_ids", None)


def test_identity_treats_email_case_and_linkedin_spelling_as_one_person():
    assert identity({"email": "Ann@Acme.example"}) == identity({"email": "ann@acme.example"})
    assert identity({"linkedin_url": "https://www.linkedin.com/in/ann/"}) == identity(
        {"linkedin_url": "http://linkedin.com/in/ann"}
    )
    assert identity({"id": "p1", "email": "a@b.c"}) == "person:p1"


def test_match_details_keep_only_matching_fields():
    person = {
        "id": "p1",
        "title": "CTO",
        "email": " ",
        "organization": {"name": "Acme"},
        "seniority": "c_suite",
    }
    assert match_details("people[0]", person) == {"id": "p1", "organization_name": "Acme"}
