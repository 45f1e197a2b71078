"""identity.py: one person written differently is one key wherever people are matched."""

from __future__ import annotations

import pytest

from airflow_provider_apollo._api import batching, record_matching
from airflow_provider_apollo._api.identity import (
    contact_lookup_keys,
    keys_of,
    normalise_text,
    person_keys,
    same_person_key,
)
from airflow_provider_apollo.hooks._resources import contacts as contacts_resource

EMAILS = ["ann@acme.io", " Ann@Acme.IO ", "ANN@ACME.IO\t"]
NAMES = [
    {"first_name": "Ann", "last_name": "Lee"},
    {"first_name": "  ann ", "last_name": "LEE"},
    {"name": "Ann   Lee"},
]
DOMAINS = ["acme.io", "https://www.Acme.io/about", "ACME.IO."]


def _every_place(record: dict) -> list[set[str]]:
    """The keys each place that matches people gives ``record``."""
    return [
        person_keys(record),  # enrichment alignment (batching.realign_people)
        set(keys_of(record_matching.CONTACTS.identity(record))),  # bulk create answers
        {same_person_key(record)},  # the enrich operator's "same input twice"
        set(contact_lookup_keys(record)),  # the existing-contact look-up
    ]


@pytest.mark.parametrize("email", EMAILS)
def test_an_email_written_differently_is_one_key_everywhere(email: str) -> None:
    for keys in _every_place({"email": email}):
        assert keys == {"email:ann@acme.io"}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_a_name_and_domain_written_differently_are_one_key_everywhere_a_domain_is_used(
    name: dict, domain: str
) -> None:
    record = {**name, "domain": domain, "organization_name": " ACME  Inc "}
    alignment, created, same_input, lookup = _every_place(record)
    assert "name+domain:ann lee|acme.io" in alignment
    assert "name+company:ann lee|acme inc" in alignment
    assert "name+company:ann lee|acme inc" in created
    assert same_input == {"name+domain:ann lee|acme.io"}
    assert lookup == {"name+company:ann lee|acme inc"}


def test_the_places_use_the_identity_module_not_copies() -> None:
    # The existing-contact look-up is the identity module's, not a copy kept in the hook.
    assert contacts_resource.contact_lookup_keys is contact_lookup_keys
    assert not hasattr(batching, "_text") and not hasattr(record_matching, "_text")


def test_enrichment_answers_are_realigned_whatever_the_spelling() -> None:
    details = [{"email": " Bo@X.io"}, {"email": "ANN@acme.io"}]
    answers = [
        {"id": "p-ann", "email": "ann@acme.io"},
        {"id": "p-bo", "email": "bo@x.io"},
    ]
    placed, unplaced = batching.realign_people(details, answers)
    assert [p and p["id"] for p in placed] == ["p-bo", "p-ann"] and unplaced == 0


def test_a_contact_record_is_found_for_a_person_written_differently() -> None:
    contact = {"id": "c-1", "person_id": None, "email": "ann@acme.io", "first_name": "Ann"}
    person = {"id": "p-1", "email": " ANN@Acme.io "}
    assert set(contact_lookup_keys(contact)) & set(contact_lookup_keys(person)) == {"email:ann@acme.io"}
    # A contact's own id is not a person id; a person's is.
    assert "person:c-1" not in contact_lookup_keys(contact)
    assert "person:p-1" in contact_lookup_keys(person)


def test_normalise_text_folds_case_and_space() -> None:
    assert normalise_text("  Straße   Müller ") == "strasse müller"
    assert normalise_text(None) == ""
