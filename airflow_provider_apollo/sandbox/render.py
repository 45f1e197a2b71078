"""World records rendered in Apollo's response shapes (the samples in ``apollo-docs``)."""

from __future__ import annotations

from typing import Any

from airflow_provider_apollo.sandbox.world import GDPR_COUNTRIES, Record


def organization(org: Record) -> Record:
    """An organization as ``organizations/enrich`` and ``bulk_enrich`` answer it.

    :param org: world organization record.
    """
    return {
        "id": org["id"],
        "name": org["name"],
        "website_url": org["website_url"],
        "blog_url": None,
        "angellist_url": None,
        "linkedin_url": org["linkedin_url"],
        "twitter_url": None,
        "facebook_url": None,
        "primary_phone": {"number": org["phone"], "source": "Sandbox"},
        "languages": [],
        "alexa_ranking": None,
        "phone": org["phone"],
        "linkedin_uid": None,
        "founded_year": org["founded_year"],
        "publicly_traded_symbol": None,
        "publicly_traded_exchange": None,
        "logo_url": None,
        "crunchbase_url": None,
        "primary_domain": org["primary_domain"],
        "industry": org["industry"],
        "keywords": list(org["keywords"]),
        "estimated_num_employees": org["estimated_num_employees"],
        "industries": list(org["industries"]),
        "secondary_industries": [],
        "snippets_loaded": True,
        "retail_location_count": 0,
        "raw_address": org["raw_address"],
        "street_address": "",
        "city": org["city"],
        "state": org["state"],
        "postal_code": None,
        "country": org["country"],
    }


# people-api-search, sample 200 answer: each person is
#   {"id", "first_name", "last_name_obfuscated": "Hu***n", "title", "last_refreshed_at",
#    "has_email": true, "has_city", "has_state", "has_country", "has_direct_phone": "Yes",
#    "organization": {"name", "has_industry", "has_phone", "has_city", "has_state",
#                     "has_country", "has_zip_code", "has_revenue", "has_employee_count"}}
# "This endpoint does not return email addresses or phone numbers." The id is kept, so a
# person found here can be enriched with people/match {"id": ...}.
NO_DIRECT_PHONE_YET = "Maybe: please request direct dial via people/bulk_match"


def obfuscate_last_name(last_name: str | None) -> str | None:
    """A last name as people search shows it: ``Huberman`` becomes ``Hu***n``.

    :param last_name: the real last name.
    """
    if not last_name:
        return None
    if len(last_name) <= 2:
        return f"{last_name[0]}***"
    return f"{last_name[:2]}***{last_name[-1]}"


def person_for_search(person: Record, org: Record, refreshed_at: str) -> Record:
    """A person as ``mixed_people/api_search`` answers it: no email, no phone, no last name.

    :param person: world person record.
    :param org: the person's organization.
    :param refreshed_at: ``last_refreshed_at`` (ISO 8601).
    """
    return {
        "id": person["id"],
        "first_name": person["first_name"],
        "last_name_obfuscated": obfuscate_last_name(person["last_name"]),
        "title": person["title"],
        "last_refreshed_at": refreshed_at,
        "has_email": person["email"] is not None,
        "has_city": bool(person["city"]),
        "has_state": bool(person["state"]),
        "has_country": bool(person["country"]),
        "has_direct_phone": "Yes" if person["mobile_phone"] else NO_DIRECT_PHONE_YET,
        "organization": {
            "name": org["name"],
            "has_industry": bool(org["industry"]),
            "has_phone": bool(org["phone"]),
            "has_city": bool(org["city"]),
            "has_state": bool(org["state"]),
            "has_country": bool(org["country"]),
            "has_zip_code": False,
            "has_revenue": False,
            "has_employee_count": org["estimated_num_employees"] is not None,
        },
    }


def _person_identity(person: Record, org: Record) -> Record:
    """The public profile part of an enriched person (names, title, place, employer)."""
    return {
        "id": person["id"],
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "name": person["name"],
        "linkedin_url": person["linkedin_url"],
        "title": person["title"],
        "headline": person["headline"],
        "seniority": person["seniority"],
        "departments": list(person["departments"]),
        "city": person["city"],
        "state": person["state"],
        "country": person["country"],
        "organization_id": org["id"],
    }


def person_enriched(
    person: Record,
    org: Record,
    *,
    reveal_personal_emails: bool,
    reveal_mobile: bool,
) -> Record:
    """A matched person as ``people/match`` and ``bulk_match`` answer it.

    :param person: world person record.
    :param org: the person's organization.
    :param reveal_personal_emails: the caller asked for personal emails (never for GDPR countries).
    :param reveal_mobile: the mobile phone is revealed (``reveal_phone_number`` + ``webhook_url``).
    """
    phones: list[Record] = [
        {
            "raw_number": org["phone"],
            "sanitized_number": org["phone"].replace(" ", "").replace("-", ""),
            "type": "work_hq",
            "position": 0,
            "status": "no_status",
            "dnc_status": None,
            "dnc_other_info": None,
        }
    ]
    if reveal_mobile and person["mobile_phone"]:
        phones.append(
            {
                "raw_number": person["mobile_phone"],
                "sanitized_number": person["mobile_phone"].replace(" ", "").replace("-", ""),
                "type": "mobile",
                "position": 1,
                "status": "valid_number",
                "dnc_status": None,
                "dnc_other_info": None,
            }
        )
    personal: list[str] = []
    if reveal_personal_emails and person["personal_email"] and person["country"] not in GDPR_COUNTRIES:
        personal.append(person["personal_email"])
    answer = _person_identity(person, org)
    answer.update(
        {
            "email_status": person["email_status"],
            "photo_url": None,
            "twitter_url": None,
            "github_url": None,
            "facebook_url": None,
            "extrapolated_email_confidence": None,
            "email": person["email"],
            "employment_history": [
                {
                    "current": True,
                    "organization_id": org["id"],
                    "organization_name": org["name"],
                    "title": person["title"],
                    "start_date": None,
                    "end_date": None,
                }
            ],
            "organization": organization(org),
            "phone_numbers": phones,
            "intent_strength": None,
            "show_intent": False,
            "revealed_for_current_team": True,
            "personal_emails": personal,
            "subdepartments": [],
            "functions": [],
        }
    )
    return answer


def person_stub(details: dict[str, Any]) -> Record:
    """What ``people/match`` answers when nobody matched: HTTP 200 and a person with no id.

    :param details: the caller's match details (names are echoed back, nothing else).
    """
    first = details.get("first_name")
    last = details.get("last_name")
    return {
        "id": None,
        "first_name": first,
        "last_name": last,
        "name": details.get("name") or (" ".join(part for part in (first, last) if part) or None),
        "email": None,
        "email_status": None,
        "organization_id": None,
        "organization": None,
        "phone_numbers": [],
        "personal_emails": [],
        "match_confidence": None,
    }


def pagination(page: int, per_page: int, total_entries: int) -> Record:
    """Apollo's ``pagination`` object.

    :param page: 1-based page number.
    :param per_page: page size.
    :param total_entries: matching records in all pages.
    """
    return {
        "page": page,
        "per_page": per_page,
        "total_entries": total_entries,
        "total_pages": (total_entries + per_page - 1) // per_page if per_page else 0,
    }
