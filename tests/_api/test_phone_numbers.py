"""An enriched person's phone numbers mapped to the contact field of their type (phone_numbers.py)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_apollo._api.phone_numbers import FIELD_BY_TYPE, contact_phone_fields


def phone(number: str, phone_type: Any = None, **extra: Any) -> dict[str, Any]:
    """One ``phone_numbers`` entry as Apollo answers it."""
    return {"raw_number": f"+{number}", "sanitized_number": number, "type": phone_type, **extra}


@pytest.mark.parametrize(
    ("phone_type", "field"),
    [
        ("work_direct", "direct_phone"),
        ("mobile", "mobile_phone"),
        ("work_hq", "corporate_phone"),
        ("home", "home_phone"),
        ("other", "other_phone"),
        (" Work_Direct ", "direct_phone"),  # spacing and case as some answers carry them
        ("work_branch", "corporate_phone"),  # another company line is never a direct dial
        ("personal_mobile", "mobile_phone"),
        ("fax", "other_phone"),  # unknown: stored, not claimed to be a direct dial
        (None, "other_phone"),
        (7, "other_phone"),
    ],
)
def test_each_number_goes_to_the_field_of_its_type(phone_type: Any, field: str) -> None:
    assert contact_phone_fields({"phone_numbers": [phone("15550100", phone_type)]}) == {field: "15550100"}


def test_every_documented_type_has_its_own_field() -> None:
    assert sorted(FIELD_BY_TYPE.values()) == sorted(set(FIELD_BY_TYPE.values()))
    assert set(FIELD_BY_TYPE) == {"work_direct", "mobile", "work_hq", "home", "other"}


def test_a_switchboard_and_a_mobile_both_survive() -> None:
    person = {
        "phone_numbers": [
            phone("15550001", "work_hq"),
            phone("15550002", "mobile"),
            phone("15550003", "work_direct"),
        ]
    }

    assert contact_phone_fields(person) == {
        "corporate_phone": "15550001",
        "mobile_phone": "15550002",
        "direct_phone": "15550003",
    }


def test_the_first_number_of_a_type_by_position_wins() -> None:
    person = {
        "phone_numbers": [
            phone("15550002", "mobile", position=2),
            phone("15550001", "mobile", position=1),
            phone("15550009", "mobile"),  # no position: after the positioned ones
        ]
    }

    assert contact_phone_fields(person) == {"mobile_phone": "15550001"}


def test_type_cd_is_read_when_type_is_absent() -> None:
    entry = {"sanitized_number": "15550100", "type_cd": "work_direct"}

    assert contact_phone_fields({"phone_numbers": [entry]}) == {"direct_phone": "15550100"}


def test_the_raw_number_is_used_when_there_is_no_sanitized_one_and_blanks_are_skipped() -> None:
    person = {
        "phone_numbers": [
            {"raw_number": " +1 555 0100 ", "type": "home"},
            {"raw_number": "   ", "sanitized_number": "", "type": "mobile"},
            "not an entry",
        ]
    }

    assert contact_phone_fields(person) == {"home_phone": "+1 555 0100"}


def test_flat_fields_fill_in_what_the_list_lacks() -> None:
    person = {
        "phone_numbers": [phone("15550001", "work_hq")],
        "sanitized_mobile_phone": " 15550002 ",
        "sanitized_phone": "15550003",  # ignored: the typed list already says what each number is
    }

    assert contact_phone_fields(person) == {"corporate_phone": "15550001", "mobile_phone": "15550002"}


def test_a_listed_mobile_wins_over_the_flat_one() -> None:
    person = {"phone_numbers": [phone("15550001", "mobile")], "mobile_phone": "15550002"}

    assert contact_phone_fields(person) == {"mobile_phone": "15550001"}


def test_an_untyped_primary_number_alone_is_stored_as_other() -> None:
    assert contact_phone_fields({"sanitized_phone": "15550003"}) == {"other_phone": "15550003"}


def test_no_numbers_give_no_fields() -> None:
    assert contact_phone_fields({}) == {}
    assert contact_phone_fields({"phone_numbers": None, "mobile_phone": ""}) == {}
