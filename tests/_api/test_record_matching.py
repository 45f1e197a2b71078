"""record_matching: answers are tied to inputs by identity, and only when certain."""

from __future__ import annotations

from airflow_provider_apollo._api.record_matching import (
    ACCOUNTS,
    CONTACTS,
    contact_identity,
    match_records,
    order_like_inputs,
)


def _ids(records: list) -> list:
    return [None if r is None else r["id"] for r in records]


def test_same_name_and_company_twice_is_not_guessed():
    # Two inputs, same name + company, both emails dropped by Apollo: which is which is unknown.
    inputs = [
        contact_identity(
            {"first_name": "Jo", "last_name": "Kim", "organization_name": "Acme", "email": "a@x.io"}
        ),
        contact_identity(
            {"first_name": "Jo", "last_name": "Kim", "organization_name": "Acme", "email": "b@x.io"}
        ),
    ]
    answered = [
        {"id": "c1", "first_name": "Jo", "last_name": "Kim", "organization_name": "Acme"},
        {"id": "c2", "first_name": "Jo", "last_name": "Kim", "organization_name": "Acme"},
    ]
    mine, unclaimed = match_records(inputs, answered, CONTACTS)
    assert _ids(mine) == [None, None]
    assert _ids(unclaimed) == ["c1", "c2"]


def test_a_stronger_key_wins_and_frees_the_weaker_match():
    inputs = [
        contact_identity(
            {"first_name": "Jo", "last_name": "Kim", "organization_name": "Acme", "email": "a@x.io"}
        ),
        contact_identity({"first_name": "Jo", "last_name": "Kim", "organization_name": "Acme"}),
    ]
    answered = [
        {"id": "c2", "first_name": "Jo", "last_name": "Kim", "organization_name": "Acme"},
        {"id": "c1", "first_name": "Jo", "last_name": "Kim", "organization_name": "Acme", "email": "A@x.io"},
    ]
    mine, unclaimed = match_records(inputs, answered, CONTACTS)
    assert _ids(mine) == ["c1", "c2"] and unclaimed == []


def test_person_id_ties_an_enriched_input_to_its_contact():
    inputs = [
        contact_identity({"first_name": "Ann"}, person_id="p-9"),
        contact_identity({"first_name": "Bo"}, person_id="p-8"),
    ]
    answered = [{"id": "c-bo", "person_id": "p-8"}, {"id": "c-ann", "person_id": "p-9"}]
    assert _ids(match_records(inputs, answered, CONTACTS)[0]) == ["c-ann", "c-bo"]


def test_different_linkedin_profiles_are_different_people_even_with_one_name():
    inputs = [
        contact_identity(
            {
                "first_name": "Jo",
                "last_name": "Kim",
                "organization_name": "Acme",
                "linkedin_url": "linkedin.com/in/jo-1",
            }
        )
    ]
    answered = [
        {
            "id": "c1",
            "first_name": "Jo",
            "last_name": "Kim",
            "organization_name": "Acme",
            "linkedin_url": "linkedin.com/in/jo-2",
        }
    ]
    assert _ids(match_records(inputs, answered, CONTACTS)[0]) == [None]


def test_the_same_email_twice_shares_one_record():
    inputs = [contact_identity({"email": "a@x.io"}), contact_identity({"email": "A@x.io", "first_name": "A"})]
    assert _ids(match_records(inputs, [{"id": "c1", "email": "a@x.io"}], CONTACTS)[0]) == ["c1", "c1"]


def test_order_like_inputs_keeps_every_record_and_puts_the_unclaimed_last():
    inputs = [{"domain": "b.io"}, {"name": "Alpha"}]
    answered = [{"id": "x", "name": "Other"}, {"id": "a", "name": "alpha"}, {"id": "b", "domain": "www.b.io"}]
    ordered, unplaced = order_like_inputs(inputs, answered, ACCOUNTS)
    assert [r["id"] for r in ordered] == ["b", "a", "x"] and unplaced == 1
