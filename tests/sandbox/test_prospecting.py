"""People/organization search, enrichment and job postings: shapes, quirks and credits."""

from __future__ import annotations

import pytest

from airflow_provider_apollo.sandbox.world import GDPR_COUNTRIES

# Keys of the sample answers in Apollo's reference (apollo-docs/api-reference-legacy.txt).
BULK_MATCH_KEYS = {
    "status",
    "error_code",
    "error_message",
    "total_requested_enrichments",
    "unique_enriched_records",
    "missing_records",
    "credits_consumed",
    "matches",
}
PERSON_KEYS = {
    "id",
    "first_name",
    "last_name",
    "name",
    "linkedin_url",
    "title",
    "email_status",
    "headline",
    "email",
    "organization_id",
    "employment_history",
    "state",
    "city",
    "country",
    "organization",
    "phone_numbers",
    "personal_emails",
    "departments",
    "seniority",
}
ORGANIZATION_KEYS = {
    "id",
    "name",
    "website_url",
    "linkedin_url",
    "primary_domain",
    "industry",
    "keywords",
    "estimated_num_employees",
    "city",
    "state",
    "country",
    "raw_address",
    "founded_year",
    "phone",
}
BULK_ENRICH_KEYS = {
    "status",
    "error_code",
    "error_message",
    "total_requested_domains",
    "unique_domains",
    "unique_enriched_records",
    "missing_records",
    "organizations",
}


def person_with(sb, **conditions):
    return next(
        p
        for p in sb.state.world.people
        if all(p[k] == v or (v is ... and p[k]) for k, v in conditions.items())
    )


# ----------------------------------------------------------------- people search
def test_api_search_filters_and_hides_emails_and_phones(sb, api):
    response = api.post(
        "/mixed_people/api_search",
        json={"person_seniorities": ["manager"], "person_titles": ["MANAGER"], "per_page": 5},
    )

    body = response.json()
    expected = [p for p in sb.state.world.people if p["seniority"] == "manager"]
    assert set(body) == {"total_entries", "people"}
    assert body["total_entries"] == len(expected)
    assert [p["id"] for p in body["people"]] == [p["id"] for p in expected[:5]]
    for person in body["people"]:
        assert "email" not in person and "phone_numbers" not in person and "personal_emails" not in person
    assert sb.stats()["credits"]["total"] == 0


def test_api_search_answers_in_the_documented_shape_with_obfuscated_last_names(sb, api):
    # people-api-search sample answer: id, first_name, last_name_obfuscated ("Hu***n"), title,
    # last_refreshed_at, has_* flags and an organization with has_* flags; nothing else.
    person = person_with(sb, mobile_phone=..., email=...)
    answer = api.post("/mixed_people/api_search", json={"q_keywords": person["name"], "per_page": 100})
    found = next(p for p in answer.json()["people"] if p["id"] == person["id"])
    org = sb.state.world.organizations_by_id[person["organization_id"]]

    assert set(found) == {
        "id",
        "first_name",
        "last_name_obfuscated",
        "title",
        "last_refreshed_at",
        "has_email",
        "has_city",
        "has_state",
        "has_country",
        "has_direct_phone",
        "organization",
    }
    last = person["last_name"]
    assert found["last_name_obfuscated"] == f"{last[:2]}***{last[-1]}" != last
    assert found["first_name"] == person["first_name"]
    assert found["has_direct_phone"] == "Yes"
    assert found["organization"]["name"] == org["name"]
    assert all(key == "name" or key.startswith("has_") for key in found["organization"])
    assert last not in found.values() and person["name"] not in found.values()
    assert person["mobile_phone"] not in str(found) and person["email"] not in str(found)


def test_a_person_found_by_search_is_enriched_by_id(sb, api):
    found = api.post("/mixed_people/api_search", json={"per_page": 1}).json()["people"][0]

    enriched = api.post("/people/match", json={"id": found["id"]}).json()["person"]

    assert enriched["id"] == found["id"]
    assert enriched["last_name"] == sb.state.world.people_by_id[found["id"]]["last_name"]


def test_api_search_by_location_size_and_domain(sb, api):
    org = sb.state.world.organizations[0]
    by_domain = api.post(
        "/mixed_people/api_search", json={"q_organization_domains_list": [org["primary_domain"]]}
    )
    in_country = api.post(
        "/mixed_people/api_search", json={"person_locations": [f"{org['city']}, {org['country']}"]}
    )
    sizes = api.post("/mixed_people/api_search", json={"organization_num_employees_ranges": ["1,10"]})

    # The answer carries ids, not the employer id or the city: look the people up by id.
    world = sb.state.world.people_by_id
    assert {world[p["id"]]["organization_id"] for p in by_domain.json()["people"]} == {org["id"]}
    assert in_country.json()["people"]
    assert all(world[p["id"]]["city"] == org["city"] for p in in_country.json()["people"])
    small = {o["id"] for o in sb.state.world.organizations if o["estimated_num_employees"] <= 10}
    assert {world[p["id"]]["organization_id"] for p in sizes.json()["people"]} <= small


@pytest.mark.parametrize("path", ["/mixed_people/api_search", "/mixed_companies/search"])
@pytest.mark.parametrize("ranges", [["a lot"], ["1,10", "10,"], [None], "many"])
def test_an_employee_range_that_is_not_min_max_is_a_422_not_a_crash(api, path, ranges):
    answer = api.post(path, json={"organization_num_employees_ranges": ranges})

    assert answer.status_code == 422
    assert answer.json()["error"].startswith("Parameters misconfigured.")
    assert "organization_num_employees_ranges" in answer.json()["error"]


def test_unknown_filter_keys_are_ignored_silently_like_apollo(sb, api):
    typo = api.post("/mixed_people/api_search", json={"person_title": ["nobody has this title"]})

    assert typo.status_code == 200
    assert typo.json()["total_entries"] == len(sb.state.world.people)


def test_per_page_out_of_range_is_422_and_pages_past_500_are_empty(api):
    assert api.post("/mixed_people/api_search", json={"per_page": 101}).status_code == 422
    assert api.post("/mixed_people/api_search", json={"per_page": 0}).status_code == 422
    beyond = api.post("/mixed_people/api_search", json={"page": 501, "per_page": 1})
    assert beyond.json()["people"] == []
    assert beyond.json()["total_entries"] > 0


def test_legacy_people_search_is_refused_for_api_callers(api):
    response = api.post("/mixed_people/search", json={})

    assert response.status_code == 422
    assert "mixed_people/api_search" in response.json()["error"]


# ------------------------------------------------------------------- enrichment
def test_match_by_email_returns_the_documented_person_and_costs_one_credit(sb, api):
    person = person_with(sb, email=..., email_status="verified")

    response = api.post("/people/match", json={"email": person["email"].upper()})

    matched = response.json()["person"]
    assert set(matched) >= PERSON_KEYS
    assert matched["id"] == person["id"]
    assert matched["email"] == person["email"]
    assert matched["organization"]["id"] == person["organization_id"]
    assert sb.stats()["credits"]["by_endpoint"] == {"POST /api/v1/people/match": 1.0}


@pytest.mark.parametrize("how", ["id", "linkedin_url", "name_and_domain", "name_and_organization_name"])
def test_match_by_each_identifier(sb, api, how):
    person = sb.state.world.people[3]
    org = sb.state.world.organizations_by_id[person["organization_id"]]
    details = {
        "id": {"id": person["id"]},
        "linkedin_url": {"linkedin_url": person["linkedin_url"].replace("http://www.", "https://") + "/"},
        "name_and_domain": {
            "first_name": person["first_name"],
            "last_name": person["last_name"],
            "domain": org["primary_domain"],
        },
        "name_and_organization_name": {"name": person["name"], "organization_name": org["name"]},
    }[how]

    assert api.post("/people/match", json=details).json()["person"]["id"] == person["id"]


def test_no_match_is_a_200_stub_without_id_and_costs_nothing(sb, api):
    response = api.post(
        "/people/match", json={"first_name": "Nobody", "last_name": "Atall", "domain": "none.example.org"}
    )

    assert response.status_code == 200
    assert response.json()["person"]["id"] is None
    assert response.json()["person"]["email"] is None
    assert sb.stats()["credits"]["total"] == 0


def test_mobile_is_revealed_only_with_a_webhook_and_costs_eight_more(sb, api):
    person = person_with(sb, mobile_phone=...)

    without_webhook = api.post("/people/match", json={"id": person["id"], "reveal_phone_number": True})
    plain = api.post("/people/match", json={"id": person["id"]})
    revealed = api.post(
        "/people/match",
        json={"id": person["id"], "reveal_phone_number": True, "webhook_url": "http://127.0.0.1:1/hook"},
    )

    assert without_webhook.status_code == 400
    assert "webhook_url" in without_webhook.json()["error"]
    assert "mobile" not in {p["type"] for p in plain.json()["person"]["phone_numbers"]}
    assert "mobile" in {p["type"] for p in revealed.json()["person"]["phone_numbers"]}
    assert sb.stats()["credits"]["total"] == 1 + 9


def test_personal_emails_only_on_request_and_never_in_gdpr_countries(sb, api):
    outside = next(
        p for p in sb.state.world.people if p["personal_email"] and p["country"] not in GDPR_COUNTRIES
    )
    inside = next(p for p in sb.state.world.people if p["personal_email"] and p["country"] in GDPR_COUNTRIES)

    def personal(person, reveal):
        body = {"id": person["id"], "reveal_personal_emails": reveal}
        return api.post("/people/match", json=body).json()["person"]["personal_emails"]

    assert personal(outside, False) == []
    assert personal(outside, True) == [outside["personal_email"]]
    assert personal(inside, True) == []


def test_bulk_match_answers_aligned_matches_with_nulls_and_the_documented_counters(sb, api):
    people = sb.state.world.people[:3]
    details = [{"id": people[0]["id"]}, {"email": "ghost@nowhere.example.org"}, {"id": people[2]["id"]}]

    body = api.post("/people/bulk_match", json={"details": details}).json()

    assert set(body) == BULK_MATCH_KEYS
    assert [m and m["id"] for m in body["matches"]] == [people[0]["id"], None, people[2]["id"]]
    assert body["missing_records"] == 1
    assert body["total_requested_enrichments"] == 3
    assert body["credits_consumed"] == 2.0
    assert sb.stats()["credits"]["by_endpoint"]["POST /api/v1/people/bulk_match"] == 2.0


def test_bulk_match_refuses_more_than_ten(api):
    response = api.post("/people/bulk_match", json={"details": [{"id": "x"}] * 11})

    assert response.status_code == 422
    assert "at most 10" in response.json()["error"]


def test_organization_enrich_found_and_not_found(sb, api):
    org = sb.state.world.organizations[5]

    found = api.get("/organizations/enrich", params={"domain": f"https://www.{org['primary_domain']}/about"})
    missing = api.get("/organizations/enrich", params={"domain": "unknown.example.org"})

    assert set(found.json()["organization"]) >= ORGANIZATION_KEYS
    assert found.json()["organization"]["id"] == org["id"]
    assert missing.status_code == 200 and missing.json() == {}
    assert sb.stats()["credits"]["total"] == 1.0


def test_bulk_organization_enrich(sb, api):
    orgs = sb.state.world.organizations[:2]
    domains = [orgs[0]["primary_domain"], "unknown.example.org", orgs[1]["primary_domain"]]

    body = api.post("/organizations/bulk_enrich", json={"domains": domains}).json()

    assert set(body) == BULK_ENRICH_KEYS
    assert [o["primary_domain"] for o in body["organizations"]] == [
        orgs[0]["primary_domain"],
        orgs[1]["primary_domain"],
    ]
    assert body["missing_records"] == 1
    assert api.post("/organizations/bulk_enrich", json={"domains": ["a.com"] * 11}).status_code == 422


# --------------------------------------------------------- organization search
def test_company_search_pages_cost_one_credit_each_and_saved_ones_come_back_as_accounts(sb, api):
    org = sb.state.world.organizations[0]
    api.post("/accounts", json={"name": org["name"], "domain": org["primary_domain"]})

    first = api.post("/mixed_companies/search", json={"per_page": 10, "page": 1}).json()
    api.post("/mixed_companies/search", json={"per_page": 10, "page": 2})

    assert first["pagination"] == {"page": 1, "per_page": 10, "total_entries": 30, "total_pages": 3}
    assert [a["organization_id"] for a in first["accounts"]] == [org["id"]]
    assert len(first["organizations"]) == 9
    assert sb.stats()["credits"]["by_endpoint"]["POST /api/v1/mixed_companies/search"] == 2.0


def test_company_search_filters_by_name(sb, api):
    org = sb.state.world.organizations[4]

    body = api.post("/mixed_companies/search", json={"q_organization_name": org["name"].lower()}).json()

    assert org["id"] in [o["id"] for o in body["organizations"]]
    assert all(org["name"].lower() in o["name"].lower() for o in body["organizations"])


# ---------------------------------------------------------------- job postings
def test_job_postings_paginate_newest_first_and_cost_a_credit_per_page(sb, api):
    org_id = next(oid for oid, items in sb.state.world.job_postings.items() if len(items) >= 3)
    total = len(sb.state.world.job_postings[org_id])

    first = api.get(f"/organizations/{org_id}/job_postings", params={"per_page": 2}).json()
    dates = [p["posted_at"] for p in first["organization_job_postings"]]

    assert len(dates) == 2 and dates == sorted(dates, reverse=True)
    assert first["pagination"]["total_entries"] == total
    assert set(first["organization_job_postings"][0]) >= {
        "id",
        "title",
        "url",
        "city",
        "state",
        "country",
        "last_seen_at",
        "posted_at",
    }
    assert sb.stats()["credits"]["total"] == 1.0


def test_job_postings_of_an_unknown_organization_is_422(sb, api):
    response = api.get("/organizations/ffffffffffffffffffffffff/job_postings")

    assert response.status_code == 422
    assert response.json() == {
        "error": "Parameters misconfigured. ffffffffffffffffffffffff is not a valid ID"
    }
    assert (
        api.get(
            f"/organizations/{sb.state.world.organizations[0]['id']}/job_postings", params={"per_page": 10001}
        ).status_code
        == 422
    )
