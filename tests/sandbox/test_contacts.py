"""Contacts: create, dedupe semantics, view, update, search, bulk endpoints, stages, owners."""

from __future__ import annotations

import pytest

CREATE_ANSWER_KEYS = {"contact", "labels", "team"}
CONTACT_KEYS = {
    "id",
    "first_name",
    "last_name",
    "name",
    "linkedin_url",
    "title",
    "contact_stage_id",
    "owner_id",
    "person_id",
    "organization_name",
    "source",
    "original_source",
    "account_id",
    "label_ids",
    "email",
    "email_status",
    "contact_campaign_statuses",
    "emailer_campaign_ids",
    "phone_numbers",
    "typed_custom_fields",
    "created_at",
    "updated_at",
    "existence_level",
}


def test_create_answers_the_documented_shape_and_links_known_people(sb, api):
    person = next(p for p in sb.state.world.people if p["email_status"] == "verified")

    body = api.post(
        "/contacts",
        json={
            "first_name": person["first_name"],
            "last_name": person["last_name"],
            "email": person["email"],
            "label_names": ["Imported"],
            "direct_phone": "555-303-1569",
        },
    ).json()

    assert set(body) == CREATE_ANSWER_KEYS
    contact = body["contact"]
    assert set(contact) >= CONTACT_KEYS
    assert contact["name"] == person["name"]
    assert contact["person_id"] == person["id"]
    assert contact["email_status"] == "verified"
    assert contact["organization_id"] == person["organization_id"]
    assert contact["contact_stage_id"] == sb.state.world.contact_stages[0]["id"]  # Cold
    assert [label["name"] for label in body["labels"]] == ["Imported"]
    assert contact["phone_numbers"][0]["sanitized_number"] == "5553031569"
    assert sb.stats()["credits"]["total"] == 0


def test_an_email_apollo_does_not_know_stays_unverified(api):
    contact = api.new_contact(first_name="Made", last_name="Up", email="made.up@nowhere.example.org")

    assert contact["email_status"] == "unverified"


def test_without_run_dedupe_creating_twice_makes_a_duplicate(sb, api):
    first = api.new_contact(first_name="Jon", last_name="Snow", email="jon@westeros.example.com")
    second = api.new_contact(first_name="Jon", last_name="Snow", email="JON@westeros.example.com")

    assert first["id"] != second["id"]
    assert sb.stats()["contacts"] == {"total": 2, "duplicates_by_email": 1}


def test_run_dedupe_returns_the_existing_contact_by_email(sb, api):
    first = api.new_contact(first_name="Jon", last_name="Snow", email="jon@westeros.example.com")

    again = api.post(
        "/contacts", json={"first_name": "J", "email": "Jon@Westeros.example.com", "run_dedupe": True}
    ).json()

    assert again["contact"]["id"] == first["id"]
    assert again["dedupe_result"] == {
        "found_existing": True,
        "match_reason": "email_match",
        "existing_contact_id": first["id"],
    }
    assert sb.stats()["contacts"] == {"total": 1, "duplicates_by_email": 0}


def test_run_dedupe_without_email_matches_name_and_organization(sb, api):
    first = api.new_contact(first_name="Arya", last_name="Stark", organization_name="Winterfell")

    same = api.post(
        "/contacts",
        json={
            "first_name": "arya",
            "last_name": "STARK",
            "organization_name": "winterfell",
            "run_dedupe": True,
        },
    )
    other_org = api.post(
        "/contacts",
        json={"first_name": "Arya", "last_name": "Stark", "organization_name": "Braavos", "run_dedupe": True},
    )

    assert same.json()["contact"]["id"] == first["id"]
    assert other_org.json()["contact"]["id"] != first["id"]
    assert sb.stats()["contacts"]["total"] == 2


def test_get_patch_and_put(api):
    contact = api.new_contact(first_name="Ned", last_name="Stark", title="Lord")

    patched = api.patch(f"/contacts/{contact['id']}", json={"title": "Hand of the King"}).json()["contact"]
    put = api.put(f"/contacts/{contact['id']}", json={"last_name": "Stark-Tully"}).json()["contact"]
    fetched = api.get(f"/contacts/{contact['id']}").json()["contact"]

    assert patched["title"] == "Hand of the King"
    assert put["name"] == "Ned Stark-Tully"
    assert fetched["title"] == "Hand of the King" and fetched["last_name"] == "Stark-Tully"


def test_unknown_ids_are_422_parameters_misconfigured(api):
    for response in (
        api.get("/contacts/000000000000000000000000"),
        api.patch("/contacts/000000000000000000000000", json={"title": "x"}),
        api.post("/contacts", json={"first_name": "A", "contact_stage_id": "nope"}),
        api.post("/contacts", json={"first_name": "A", "owner_id": "nope"}),
    ):
        assert response.status_code == 422
        assert response.json()["error"].startswith("Parameters misconfigured.")


def test_search_by_keywords_stage_and_label_with_pagination(sb, api):
    replied = sb.state.world.contact_stages[2]["id"]
    for index in range(5):
        api.new_contact(
            first_name=f"Person{index}",
            last_name="Lannister",
            title="Knight",
            email=f"p{index}@rock.example.com",
        )
    target = api.new_contact(
        first_name="Tyrion",
        last_name="Lannister",
        title="Hand",
        email="tyrion@rock.example.com",
        contact_stage_id=replied,
        label_names=["VIP"],
    )

    by_keywords = api.post("/contacts/search", json={"q_keywords": "tyrion@rock.example.com"}).json()
    by_stage = api.post("/contacts/search", json={"contact_stage_ids": [replied]}).json()
    by_label = api.post("/contacts/search", json={"contact_label_ids": target["label_ids"]}).json()
    by_legacy_label = api.post("/contacts/search", json={"label_ids": target["label_ids"]}).json()
    page_two = api.post("/contacts/search", json={"q_keywords": "lannister", "per_page": 4, "page": 2}).json()

    assert [c["id"] for c in by_keywords["contacts"]] == [target["id"]]
    assert [c["id"] for c in by_stage["contacts"]] == [target["id"]]
    assert [c["id"] for c in by_label["contacts"]] == [target["id"]]
    assert [c["id"] for c in by_legacy_label["contacts"]] == [target["id"]]
    assert page_two["pagination"] == {"page": 2, "per_page": 4, "total_entries": 6, "total_pages": 2}
    assert len(page_two["contacts"]) == 2


def test_search_sorts_and_caps_per_page_at_200_as_documented_for_contacts(api):
    api.new_contact(first_name="B", last_name="Two")
    api.new_contact(first_name="A", last_name="One")

    ascending = api.post(
        "/contacts/search", json={"sort_by_field": "contact_created_at", "sort_ascending": True}
    ).json()
    descending = api.post(
        "/contacts/search",
        json={"sort_by_field": "contact_created_at", "sort_ascending": False, "per_page": 500},
    ).json()

    assert [c["first_name"] for c in ascending["contacts"]] in (
        ["B", "A"],
        ["A", "B"],
    )  # same millisecond is possible
    assert descending["pagination"]["per_page"] == 200  # contacts-api.md: "Max = 200"


def test_bulk_create_reports_created_and_existing(sb, api):
    existing = api.new_contact(first_name="Old", last_name="Friend", email="old@friend.example.com")

    body = api.post(
        "/contacts/bulk_create",
        json={
            "run_dedupe": True,
            "contacts": [
                {"first_name": "Old", "last_name": "Friend", "email": "old@friend.example.com"},
                {"first_name": "New", "last_name": "Friend", "email": "new@friend.example.com"},
            ],
        },
    ).json()

    assert set(body) == {"created_contacts", "existing_contacts"}
    assert [c["email"] for c in body["created_contacts"]] == ["new@friend.example.com"]
    assert [c["id"] for c in body["existing_contacts"]] == [existing["id"]]
    assert sb.stats()["contacts"]["total"] == 2
    too_many = api.post("/contacts/bulk_create", json={"contacts": [{"first_name": "x"}] * 101})
    assert too_many.status_code == 422


def test_bulk_update_both_spellings_and_it_is_all_or_nothing(sb, api):
    one = api.new_contact(first_name="One")
    two = api.new_contact(first_name="Two")

    same_fields = api.post(
        "/contacts/bulk_update", json={"contact_ids": [one["id"], two["id"]], "title": "CEO"}
    ).json()
    per_record = api.post(
        "/contacts/bulk_update", json={"contact_attributes": [{"id": one["id"], "title": "CTO"}]}
    ).json()
    with_unknown = api.post(
        "/contacts/bulk_update", json={"contact_ids": [two["id"], "bad-id"], "title": "Intern"}
    )

    assert [c["title"] for c in same_fields["contacts"]] == ["CEO", "CEO"]
    assert [c["title"] for c in per_record["contacts"]] == ["CTO"]
    assert with_unknown.status_code == 422
    assert sb.state.contacts[two["id"]]["title"] == "CEO"


def test_update_stages_and_owners(sb, api):
    contact = api.new_contact(first_name="Sansa")
    stage = sb.state.world.contact_stages[3]["id"]

    staged = api.post(
        "/contacts/update_stages", json={"contact_ids": [contact["id"]], "contact_stage_id": stage}
    )
    owned = api.post(
        "/contacts/update_owners",
        json={"contact_ids": [contact["id"]], "owner_id": sb.state.world.user["id"]},
    )
    bad_stage = api.post(
        "/contacts/update_stages", json={"contact_ids": [contact["id"]], "contact_stage_id": "nope"}
    )
    bad_owner = api.post("/contacts/update_owners", json={"contact_ids": [contact["id"]], "owner_id": "nope"})

    assert staged.json()["contacts"][0]["contact_stage_id"] == stage
    assert owned.json()["contacts"][0]["owner_id"] == sb.state.world.user["id"]
    assert bad_stage.status_code == bad_owner.status_code == 422


def test_contact_stages_are_apollo_defaults(api):
    stages = api.get("/contact_stages").json()["contact_stages"]

    assert [s["name"] for s in stages] == [
        "Cold",
        "Approaching",
        "Replied",
        "Interested",
        "Not Interested",
        "Unresponsive",
        "Do Not Contact",
        "Bad Data",
        "Changed Job",
    ]
    assert set(stages[0]) >= {"id", "team_id", "display_name", "name", "display_order", "category"}


def test_bulk_create_with_a_bad_entry_creates_nothing(sb, api):
    answer = api.post(
        "/contacts/bulk_create",
        json={"contacts": [{"first_name": "Ok", "email": "ok@example.org"}, "not an object"]},
    )

    assert answer.status_code == 422
    assert "each entry of contacts must be an object" in answer.text
    assert sb.stats()["contacts"]["total"] == 0


# contacts-api.md, Create a Contact: "email | Email. Invalid emails will be ignored."
@pytest.mark.parametrize(
    "email", ["not-an-email", "ann@", "@acme.com", "ann at acme.com", "ann@acme", "a@b@c.com"]
)
def test_an_invalid_email_is_ignored_and_the_contact_created_without_it(sb, api, email):
    answer = api.post("/contacts", json={"first_name": "Ann", "last_name": "Lee", "email": email})

    assert answer.status_code == 200
    contact = answer.json()["contact"]
    assert contact["email"] is None and contact["email_status"] is None
    assert contact["name"] == "Ann Lee"
    assert sb.stats()["contacts"]["total"] == 1


def test_bulk_create_ignores_each_invalid_email_and_keeps_the_valid_ones(sb, api):
    body = {
        "contacts": [
            {"first_name": "Ann", "email": "ann@acme.example.com"},
            {"first_name": "Bob", "email": "bob(at)acme"},
            {"first_name": "Cy", "email": " cy@acme.example.com "},
        ]
    }

    created = api.post("/contacts/bulk_create", json=body).json()["created_contacts"]

    assert [(c["first_name"], c["email"]) for c in created] == [
        ("Ann", "ann@acme.example.com"),
        ("Bob", None),
        ("Cy", "cy@acme.example.com"),
    ]


def test_an_ignored_email_is_not_used_to_dedupe(sb, api):
    api.new_contact(first_name="Old", email="old@acme.example.com")

    answer = api.post("/contacts", json={"first_name": "New", "email": "old@acme", "run_dedupe": True})

    assert "dedupe_result" not in answer.json()
    assert answer.json()["contact"]["first_name"] == "New"


def test_contacts_search_serves_200_per_page_and_other_searches_100(sb, api):
    for i in range(3):
        api.new_contact(first_name=f"P{i}")
        api.post("/accounts", json={"name": f"Acme {i}"})

    contacts = api.post("/contacts/search", json={"per_page": 200}).json()["pagination"]
    accounts = api.post("/accounts/search", json={"per_page": 200}).json()["pagination"]

    assert contacts["per_page"] == 200  # contacts-api.md: "per_page ... Max = 200"
    assert accounts["per_page"] == 100  # apollo-api-notes.md: "per_page is 1..100 for searches"
