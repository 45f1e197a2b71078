"""The upsert's mapping and diff rules (``_api/crm_upsert.py``): what is sent, what is invalid."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from airflow_provider_apollo._api.crm_upsert import (
    FieldMapping,
    InvalidCell,
    Vocabulary,
    changes,
    check_mapping,
    desired_fields,
    match_value,
    normal_domain,
    record_match_values,
    upsert_object,
)

CONTACTS = upsert_object("contacts")
ACCOUNTS = upsert_object("accounts")
VOCABULARY = Vocabulary(
    stages={"cold": "st_cold", "interested": "st_int"},
    owners={"rep@team.io": "u_rep"},
    labels={"vip": "lb_vip", "newsletter": "lb_news"},
    custom={
        "icp score": ("f_score", "number"),
        "renewal": ("f_renew", "date"),
        "crm id": ("f_ext", "string"),
    },
)
MAP: dict[str, str] = {
    "mail": "email",
    "title": "title",
    "stage": "stage",
    "owner": "owner",
    "tags": "labels",
    "score": "custom:ICP Score",
    "ext": "custom:CRM Id",
}


def mapping(match_on: str = "email") -> FieldMapping:
    return check_mapping(CONTACTS, MAP, match_on)


def test_a_row_becomes_apollo_values() -> None:
    row = {
        "mail": " Ada@Example.COM ",
        "title": " CTO ",
        "stage": "Cold",
        "owner": "REP@team.io",
        "tags": "VIP; newsletter",
        "score": "42.0",
        "ext": 1007,
    }
    assert desired_fields(mapping(), VOCABULARY, row) == {
        "email": "ada@example.com",
        "title": "CTO",
        "contact_stage_id": "st_cold",
        "owner_id": "u_rep",
        "label_ids": ["lb_news", "lb_vip"],
        "typed_custom_fields": {"f_score": 42, "f_ext": "1007"},
    }


def test_blank_cells_are_left_out_but_a_blank_key_is_invalid() -> None:
    assert desired_fields(mapping(), VOCABULARY, {"mail": "a@b.co", "title": "  ", "score": None}) == {
        "email": "a@b.co"
    }
    with pytest.raises(InvalidCell) as caught:
        desired_fields(mapping(), VOCABULARY, {"mail": None, "title": "CTO"})
    assert (caught.value.column, caught.value.reason) == ("mail", "the match key (email) is empty")


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ({"mail": "nope"}, "mail", "'nope' is not an email address: it does not have exactly one '@'"),
        (
            {"mail": "a@b"},
            "mail",
            "'a@b' is not an email address: the part after '@' is not a domain such as example.com",
        ),
        ({"mail": "a@b.co", "stage": "Hot"}, "stage", "Apollo has no contact stage named 'Hot'"),
        ({"mail": "a@b.co", "owner": "x@y.z"}, "owner", "no user of the team has the email 'x@y.z'"),
        ({"mail": "a@b.co", "tags": "VIP,Gold"}, "tags", "Apollo has no contacts label named 'Gold'"),
        ({"mail": "a@b.co", "score": "high"}, "score", "'high' is not a valid number (not a number)"),
        ({"mail": "a@b.co", "score": True}, "score", "True is not a valid number (a boolean)"),
    ],
)
def test_bad_cells_name_their_column(row: dict[str, Any], column: str, reason: str) -> None:
    with pytest.raises(InvalidCell) as caught:
        desired_fields(mapping(), VOCABULARY, row)
    assert (caught.value.column, caught.value.reason) == (column, reason)


def test_only_the_differences_are_sent() -> None:
    wanted = desired_fields(
        mapping(), VOCABULARY, {"mail": "a@b.co", "title": "CTO", "tags": "VIP", "score": 42, "ext": "7"}
    )
    record = {
        "id": "c1",
        "email": "A@B.co",
        "title": "CTO",
        "label_ids": ["lb_other", "lb_vip"],
        "typed_custom_fields": {"f_score": 42.0, "f_ext": "7", "f_unmapped": "kept"},
    }
    assert changes(CONTACTS, wanted, record) == {}
    record["title"] = "VP"
    record["label_ids"] = ["lb_other"]
    record["typed_custom_fields"] = {"f_score": 41, "f_ext": "7"}
    # Labels are added (the rep's own label stays); only the changed custom field is sent.
    assert changes(CONTACTS, wanted, record) == {
        "title": "CTO",
        "label_ids": ["lb_other", "lb_vip"],
        "typed_custom_fields": {"f_score": 42},
    }


def test_domains_and_dates_compare_as_apollo_stores_them() -> None:
    accounts = check_mapping(ACCOUNTS, {"site": "domain", "renews": "custom:Renewal"}, "domain")
    wanted = desired_fields(
        accounts, VOCABULARY, {"site": "https://www.Acme.io/about", "renews": date(2027, 1, 5)}
    )
    assert wanted == {"domain": "acme.io", "typed_custom_fields": {"f_renew": "2027-01-05"}}
    record = {"id": "a1", "domain": "www.acme.io", "typed_custom_fields": {"f_renew": "2027-01-05"}}
    assert changes(ACCOUNTS, wanted, record) == {}
    assert normal_domain("HTTP://Sub.Example.com:8080/x?y") == "sub.example.com"


def test_a_custom_field_match_reads_the_record_the_same_way() -> None:
    by_ext = mapping("custom_field:CRM Id")
    wanted = desired_fields(by_ext, VOCABULARY, {"mail": "a@b.co", "ext": 1007.0})
    record = {"id": "c1", "typed_custom_fields": {"f_ext": "1007"}}
    assert (
        match_value(by_ext, wanted, VOCABULARY) == record_match_values(by_ext, record, VOCABULARY) == "1007"
    )


@pytest.mark.parametrize(
    ("field_map", "match_on", "message"),
    [
        ({}, "email", "field_map must be a non-empty mapping"),
        ({"a": "email", "b": "email"}, "email", "maps two columns to 'email'"),
        ({"a": "domain"}, "email", "'domain' is not a contact field"),
        ({"a": "email"}, "custom_field:CRM Id", "needs a column mapped to 'custom:CRM Id'"),
        ({"a": "email", "b": "id"}, "email", "'id' only with match_on='id'"),
        ({"a": "email"}, "phone", "match_on for contacts must be"),
    ],
)
def test_bad_mappings_are_refused(field_map: dict[str, str], match_on: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_mapping(CONTACTS, field_map, match_on)
