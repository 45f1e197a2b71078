"""The sandbox's synthetic world: organizations, people, job postings and team fixtures.

Everything here is derived from one seed, so two sandboxes started with the same seed,
sizes and reference time answer the same people, the same ids and the same postings.
Records are plain dicts shaped like Apollo's; ``render`` builds the API answers from them.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

Record = dict[str, Any]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SENIORITIES = (
    "owner",
    "founder",
    "c_suite",
    "partner",
    "vp",
    "head",
    "director",
    "manager",
    "senior",
    "entry",
    "intern",
)
# Most of a company is individual contributors; a handful of people hold the top titles.
_SENIORITY_WEIGHTS = (1, 1, 3, 1, 5, 5, 9, 16, 25, 30, 4)

_DEPARTMENT_TITLES: dict[str, tuple[str, ...]] = {
    "sales": ("Sales", "Business Development", "Account Executive"),
    "marketing": ("Marketing", "Growth", "Demand Generation"),
    "engineering_technical": ("Engineering", "Software Engineer", "Platform"),
    "finance": ("Finance", "Accounting", "FP&A"),
    "human_resources": ("People", "Talent Acquisition", "HR"),
    "operations": ("Operations", "Revenue Operations", "Supply Chain"),
    "product_management": ("Product", "Product Manager", "Product Design"),
    "support": ("Customer Success", "Support", "Customer Experience"),
}
_SENIORITY_TITLE_PATTERNS: dict[str, tuple[str, ...]] = {
    "owner": ("Owner",),
    "founder": ("Founder", "Co-Founder", "Founder & CEO"),
    "c_suite": ("CEO", "CTO", "CFO", "COO", "CMO", "Chief Revenue Officer"),
    "partner": ("Partner", "Managing Partner"),
    "vp": ("VP of {d}", "Vice President, {d}"),
    "head": ("Head of {d}",),
    "director": ("Director of {d}", "{d} Director"),
    "manager": ("{d} Manager", "Senior {d} Manager"),
    "senior": ("Senior {d} Specialist", "Lead {d}", "Senior {d}"),
    "entry": ("{d} Associate", "{d} Representative", "{d} Analyst"),
    "intern": ("{d} Intern",),
}

_FIRST_NAMES = _words(
    "Ada Alan Alex Alice Amara Ana Andre Anya Arjun Ava Ben Bianca Bruno Carla Carlos Chen Chloe Dana "
    "Daniel David Diego Elena Eli Emma Ethan Eva Farah Felix Fiona Gabriel Grace Hana Hugo Ian Ines Ivan "
    "Jack Jade Jamal James Jana Jonas Julia Kai Kara Kenji Laura Leo Lina Luca Lucia Maya Mei Mia Milan "
    "Nadia Nina Noah Nora Olivia Omar Oscar Paula Pedro Priya Rafael Rania Ravi Rosa Ruth Sam Sara Sofia "
    "Tara Theo Tim Tomas Uma Vera Victor Wei Yara Yuki Zara Zoe"
)
_LAST_NAMES = _words(
    "Abbott Adams Ahmed Alvarez Baker Bauer Becker Bianchi Brown Carter Castro Chen Clark Costa Cruz Diaz "
    "Dubois Evans Fischer Fontaine Garcia Gomez Green Gupta Hall Hansen Hoffmann Ito Jansen Jensen Johnson "
    "Kaur Kim Klein Kowalski Larsen Lee Lopez Martin Meyer Mori Muller Nakamura Nguyen Novak Okafor Olsen "
    "Park Patel Perez Petrov Reyes Rossi Sanchez Santos Sato Schmidt Schneider Silva Singh Smith Sousa "
    "Suzuki Tanaka Taylor Thomas Torres Vargas Wagner Walker Wang Weber Wilson Wong Yamamoto Young Zhang"
)
_ORG_FIRST_WORDS = _words(
    "Acme Apex Arbor Atlas Aurora Beacon Birch Blue Bright Cascade Cedar Cobalt Copper Crest Delta Ember "
    "Evergreen Falcon Fern Granite Harbor Helix Horizon Indigo Iron Juniper Keystone Lumen Maple Meridian "
    "Nimbus North Oak Onyx Orbit Pine Pioneer Prism Quartz Redwood Sierra Silver Summit Tidal Vertex Willow"
)
_ORG_SECOND_WORDS = _words(
    "Analytics Bio Capital Cloud Commerce Data Dynamics Energy Foods Health Labs Logistics Media Networks "
    "Robotics Security Software Systems Technologies Ventures"
)
_INDUSTRIES = (
    "information technology & services",
    "computer software",
    "financial services",
    "hospital & health care",
    "marketing & advertising",
    "logistics & supply chain",
    "renewables & environment",
    "retail",
    "biotechnology",
    "management consulting",
)
_KEYWORDS = (
    "saas",
    "b2b",
    "analytics",
    "machine learning",
    "payments",
    "e-commerce",
    "cybersecurity",
    "logistics",
    "healthcare",
    "sales engagement",
    "lead generation",
    "cloud infrastructure",
)
# (city, state, country, gdpr): personal emails are never revealed for GDPR countries.
_LOCATIONS: tuple[tuple[str, str, str, bool], ...] = (
    ("San Francisco", "California", "United States", False),
    ("New York", "New York", "United States", False),
    ("Austin", "Texas", "United States", False),
    ("Chicago", "Illinois", "United States", False),
    ("Seattle", "Washington", "United States", False),
    ("Boston", "Massachusetts", "United States", False),
    ("Denver", "Colorado", "United States", False),
    ("Toronto", "Ontario", "Canada", False),
    ("London", "England", "United Kingdom", True),
    ("Berlin", "Berlin", "Germany", True),
    ("Paris", "Ile-de-France", "France", True),
    ("Amsterdam", "North Holland", "Netherlands", True),
    ("Dublin", "Leinster", "Ireland", True),
    ("Sydney", "New South Wales", "Australia", False),
    ("Singapore", "Singapore", "Singapore", False),
    ("Bangalore", "Karnataka", "India", False),
)
GDPR_COUNTRIES = frozenset(country for _, _, country, gdpr in _LOCATIONS if gdpr)
_EMPLOYEE_SIZES = (4, 8, 15, 28, 45, 75, 120, 180, 260, 420, 800, 1500, 3200, 7500, 15000)
_JOB_TITLES = (
    "Account Executive",
    "Sales Development Representative",
    "Senior Software Engineer",
    "Data Engineer",
    "Product Manager",
    "Customer Success Manager",
    "Marketing Manager",
    "Revenue Operations Analyst",
    "Head of Sales",
    "VP of Engineering",
)

CONTACT_STAGE_NAMES = (
    ("Cold", "in_progress"),
    ("Approaching", "in_progress"),
    ("Replied", "in_progress"),
    ("Interested", "succeeded"),
    ("Not Interested", "failed"),
    ("Unresponsive", "failed"),
    ("Do Not Contact", "failed"),
    ("Bad Data", "failed"),
    ("Changed Job", "failed"),
)
ACCOUNT_STAGE_NAMES = (
    ("Cold", "in_progress"),
    ("Current Client", "succeeded"),
    ("Active Opportunity", "in_progress"),
    ("Closed Lost", "failed"),
    ("Do Not Prospect", "failed"),
)
OPPORTUNITY_STAGE_NAMES = (
    ("Qualify", False, False, 10.0),
    ("Discovery", False, False, 25.0),
    ("Proposal", False, False, 50.0),
    ("Negotiation/Review", False, False, 80.0),
    ("Closed Won", True, True, 100.0),
    ("Closed Lost", True, False, 0.0),
)


def iso(moment: datetime) -> str:
    """Apollo's timestamp spelling: ``2024-09-12T20:13:53.207Z``."""
    return (
        moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


class IdFactory:
    """Apollo-like 24-hex ids, deterministic for a seed: 8 hex of seed, 2 of kind, 14 of counter.

    :param seed: the world seed; two factories with one seed hand out the same ids in order.
    :param runtime: ids for records created while the sandbox runs (CRM records, posted jobs);
        they live in a separate range so they never collide with the generated world's ids.
    """

    _KINDS = {
        "organization": 1,
        "person": 2,
        "job_posting": 3,
        "team": 4,
        "user": 5,
        "email_account": 6,
        "sequence": 7,
        "stage": 8,
        "label": 9,
        "field": 10,
        "contact": 11,
        "account": 12,
        "task": 13,
        "opportunity": 14,
        "campaign_status": 15,
    }

    def __init__(self, seed: int, *, runtime: bool = False) -> None:
        self._prefix = f"{seed & 0xFFFFFFFF:08x}"
        self._kind_offset = 0x80 if runtime else 0
        self._counters: dict[str, int] = defaultdict(int)

    def new(self, kind: str) -> str:
        """The next id of ``kind`` (one of the kinds in ``IdFactory._KINDS``).

        :param kind: record kind, e.g. ``"contact"``.
        """
        self._counters[kind] += 1
        return f"{self._prefix}{self._KINDS[kind] + self._kind_offset:02x}{self._counters[kind]:014x}"


@dataclass
class World:
    """The generated, read-only part of Apollo (its database), plus the team's fixtures."""

    seed: int
    reference_time: datetime
    ids: IdFactory
    organizations: list[Record]
    people: list[Record]
    job_postings: dict[str, list[Record]]
    team_id: str
    user: Record
    email_accounts: list[Record]
    sequences: list[Record]
    contact_stages: list[Record]
    account_stages: list[Record]
    opportunity_stages: list[Record]
    labels: list[Record]
    custom_fields: list[Record]
    organizations_by_id: dict[str, Record] = field(default_factory=dict)
    organizations_by_domain: dict[str, Record] = field(default_factory=dict)
    organizations_by_name: dict[str, Record] = field(default_factory=dict)
    people_by_id: dict[str, Record] = field(default_factory=dict)
    people_by_email: dict[str, Record] = field(default_factory=dict)
    people_by_linkedin: dict[str, Record] = field(default_factory=dict)
    people_by_name_and_org: dict[tuple[str, str, str], Record] = field(default_factory=dict)

    def index(self) -> None:
        """Build the lookup tables enrichment and search use."""
        self.organizations_by_id = {org["id"]: org for org in self.organizations}
        self.organizations_by_domain = {org["primary_domain"]: org for org in self.organizations}
        self.organizations_by_name = {}
        for org in self.organizations:
            self.organizations_by_name.setdefault(org["name"].lower(), org)
        self.people_by_id = {person["id"]: person for person in self.people}
        self.people_by_email = {p["email"].lower(): p for p in self.people if p["email"]}
        # Generated URLs all start "http://www.": slicing that off is normalise_linkedin, only faster.
        self.people_by_linkedin = {p["linkedin_url"][11:]: p for p in self.people}
        self.people_by_name_and_org = {
            (p["first_name"].lower(), p["last_name"].lower(), p["organization_id"]): p for p in self.people
        }


def normalise_linkedin(url: str) -> str:
    """``http://www.linkedin.com/in/x/`` and ``https://linkedin.com/in/x`` are one profile.

    :param url: a LinkedIn profile URL as a caller spelled it.
    """
    lowered = url.strip().lower().rstrip("/")
    for prefix in ("https://", "http://", "www."):
        lowered = lowered.removeprefix(prefix)
    return lowered.removeprefix("www.")


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


def generate_world(
    *,
    seed: int = 42,
    people: int = 5000,
    organizations: int | None = None,
    reference_time: datetime | None = None,
) -> World:
    """Generate the world for ``seed``; same arguments, same world.

    :param seed: random seed.
    :param people: number of people in Apollo's database.
    :param organizations: number of organizations; default one per ten people (at least one).
    :param reference_time: "now" for posting dates; default the start of the current UTC day,
        so a seed gives the same world all day long.
    """
    if people < 0:
        raise ValueError(f"people must be >= 0, got {people}")
    org_count = organizations if organizations is not None else max(1, people // 10)
    if org_count < 1:
        raise ValueError(f"organizations must be >= 1, got {org_count}")
    now = reference_time or datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    rng = random.Random(seed)
    ids = IdFactory(seed)

    orgs = _generate_organizations(rng, ids, org_count)
    persons = _generate_people(rng, ids, orgs, people)
    postings = _generate_job_postings(rng, ids, orgs, now)

    team_id = ids.new("team")
    user_id = ids.new("user")
    created = iso(now - timedelta(days=400))
    user: Record = {
        "id": user_id,
        "team_id": team_id,
        "first_name": "Sandbox",
        "last_name": "Owner",
        "name": "Sandbox Owner",
        "title": "Head of Sales",
        "email": "owner@sandbox.example.com",
        "created_at": created,
        "credit_limit": 100000,
        "deleted": False,
    }
    email_accounts: list[Record] = [
        {
            "id": ids.new("email_account"),
            "user_id": user_id,
            "email": address,
            "aliases": [],
            "type": "gmail",
            "active": True,
            "default": address.startswith("sdr"),
            "provider_display_name": "Gmail",
            "email_daily_threshold": 100,
            "max_outbound_emails_per_hour": 50,
            "last_synced_at": iso(now),
        }
        for address in ("sdr@sandbox.example.com", "ae@sandbox.example.com")
    ]
    contact_stages = [
        {
            "id": ids.new("stage"),
            "team_id": team_id,
            "display_name": name,
            "name": name,
            "display_order": order,
            "ignore_trigger_override": False,
            "category": category,
        }
        for order, (name, category) in enumerate(CONTACT_STAGE_NAMES)
    ]
    account_stages = [
        {
            "id": ids.new("stage"),
            "team_id": team_id,
            "display_name": name,
            "name": name,
            "display_order": order,
            "default_exclude_for_leadgen": category != "in_progress",
            "category": category,
        }
        for order, (name, category) in enumerate(ACCOUNT_STAGE_NAMES)
    ]
    opportunity_stages = [
        {
            "id": ids.new("stage"),
            "team_id": team_id,
            "name": name,
            "display_order": float(order),
            "forecast_category_cd": "Closed" if is_closed else "Pipeline",
            "is_won": is_won,
            "is_closed": is_closed,
            "probability": probability,
            "description": None,
            "salesforce_id": None,
            "type": "Closed" if is_closed else "Open",
        }
        for order, (name, is_closed, is_won, probability) in enumerate(OPPORTUNITY_STAGE_NAMES)
    ]
    sequences = [
        _sequence(ids.new("sequence"), name, active, user_id, created)
        for name, active in (
            ("Sandbox Outreach", True),
            ("Sandbox Nurture", True),
            ("Duplicate Name", True),
            ("Duplicate Name", False),
        )
    ]
    labels = [
        _label(ids.new("label"), name, team_id, user_id, created, modality)
        for name, modality in (("Sandbox VIP", "contacts"), ("Sandbox Target Accounts", "accounts"))
    ]
    custom_fields: list[Record] = [
        {
            "id": ids.new("field"),
            "modality": modality,
            "name": name,
            "type": kind,
            "picklist_options": [],
            "system_name": None,
            "mirrored": False,
            "text_field_max_length": None,
        }
        for name, modality, kind in (
            ("Lead Source", "contact", "string"),
            ("ICP Score", "contact", "number"),
            ("Renewal Date", "account", "date"),
        )
    ]
    world = World(
        seed=seed,
        reference_time=now,
        ids=ids,
        organizations=orgs,
        people=persons,
        job_postings=postings,
        team_id=team_id,
        user=user,
        email_accounts=email_accounts,
        sequences=sequences,
        contact_stages=contact_stages,
        account_stages=account_stages,
        opportunity_stages=opportunity_stages,
        labels=labels,
        custom_fields=custom_fields,
    )
    world.index()
    return world


def _generate_organizations(rng: random.Random, ids: IdFactory, count: int) -> list[Record]:
    orgs: list[Record] = []
    seen_domains: set[str] = set()
    for index in range(count):
        name = f"{rng.choice(_ORG_FIRST_WORDS)} {rng.choice(_ORG_SECOND_WORDS)}"
        base = _slug(name)
        domain = f"{base}.example.com"
        if domain in seen_domains:
            # Name collisions are common with small word lists: keep the name, number the domain.
            domain = f"{base}-{index}.example.com"
            name = f"{name} {index}"
        seen_domains.add(domain)
        city, state, country, _ = rng.choice(_LOCATIONS)
        industry = rng.choice(_INDUSTRIES)
        employees = rng.choice(_EMPLOYEE_SIZES)
        orgs.append(
            {
                "id": ids.new("organization"),
                "name": name,
                "website_url": f"http://www.{domain}",
                "linkedin_url": f"http://www.linkedin.com/company/{base}-{index}",
                "primary_domain": domain,
                "phone": f"+1 555-01{index % 100:02d}",
                "founded_year": 1990 + rng.randrange(34),
                "industry": industry,
                "industries": [industry],
                "keywords": rng.sample(_KEYWORDS, 3),
                "estimated_num_employees": employees,
                "city": city,
                "state": state,
                "country": country,
                "raw_address": f"{city}, {state}, {country}",
            }
        )
    return orgs


def _generate_people(rng: random.Random, ids: IdFactory, orgs: list[Record], count: int) -> list[Record]:
    people: list[Record] = []
    seen_emails: set[str] = set()
    departments = list(_DEPARTMENT_TITLES)
    seniorities = rng.choices(SENIORITIES, weights=_SENIORITY_WEIGHTS, k=count)
    # random.choice costs three times a bare random(): at 100,000 people that is seconds.
    uniform = rng.random

    def pick(options: Sequence[Any]) -> Any:
        return options[int(uniform() * len(options))]

    for index in range(count):
        org = orgs[index] if index < len(orgs) else pick(orgs)
        first = pick(_FIRST_NAMES)
        last = pick(_LAST_NAMES)
        seniority = seniorities[index]
        department = pick(departments)
        title = pick(_SENIORITY_TITLE_PATTERNS[seniority]).format(d=pick(_DEPARTMENT_TITLES[department]))
        if uniform() < 0.8:
            city, state, country = org["city"], org["state"], org["country"]
        else:
            city, state, country, _ = pick(_LOCATIONS)
        roll = uniform()
        domain = org["primary_domain"]
        lowered = f"{first}.{last}".lower()
        email: str | None
        if roll < 0.1:
            email, email_status = None, None
        else:
            email = f"{lowered}@{domain}"
            if email in seen_emails:
                email = f"{lowered}{index}@{domain}"
            seen_emails.add(email)
            email_status = "verified" if roll < 0.8 else "unverified"
        people.append(
            {
                "id": ids.new("person"),
                "first_name": first,
                "last_name": last,
                "name": f"{first} {last}",
                "title": title,
                "headline": f"{title} at {org['name']}",
                "seniority": seniority,
                "departments": ["c_suite" if seniority in ("c_suite", "founder", "owner") else department],
                "city": city,
                "state": state,
                "country": country,
                "email": email,
                "email_status": email_status,
                "personal_email": f"{first}{last}{index}@personal.example.net".lower()
                if uniform() < 0.3
                else None,
                "mobile_phone": f"+1 555-2{index % 1000:03d}-{int(uniform() * 10000):04d}"
                if uniform() < 0.4
                else None,
                "linkedin_url": f"http://www.linkedin.com/in/{first}-{last}-{index:x}".lower(),
                "organization_id": org["id"],
            }
        )
    return people


def _generate_job_postings(
    rng: random.Random, ids: IdFactory, orgs: list[Record], now: datetime
) -> dict[str, list[Record]]:
    postings: dict[str, list[Record]] = {}
    for org in orgs:
        # About a third of organizations are not hiring: sensors must cope with "nothing yet".
        count = 0 if rng.random() < 0.35 else rng.randint(1, 8)
        items = []
        for _ in range(count):
            posted = now - timedelta(seconds=rng.randrange(60 * 86400))
            items.append(make_job_posting(ids, org, rng.choice(_JOB_TITLES), posted, now))
        postings[org["id"]] = items
    return postings


def make_job_posting(
    ids: IdFactory, org: Record, title: str, posted_at: datetime, last_seen_at: datetime
) -> Record:
    """One job posting record at ``org``.

    :param ids: id source.
    :param org: the organization that posts it.
    :param title: the job title.
    :param posted_at: when it was posted.
    :param last_seen_at: when Apollo last saw it.
    """
    posting_id = ids.new("job_posting")
    return {
        "id": posting_id,
        "title": title,
        "url": f"http://www.{org['primary_domain']}/careers/{posting_id}",
        "city": org["city"],
        "state": org["state"],
        "country": org["country"],
        "last_seen_at": iso(last_seen_at),
        "posted_at": iso(posted_at),
    }


def _sequence(sequence_id: str, name: str, active: bool, user_id: str, created: str) -> Record:
    return {
        "id": sequence_id,
        "name": name,
        "archived": False,
        "created_at": created,
        "emailer_schedule_id": None,
        "max_emails_per_day": None,
        "user_id": user_id,
        "label_ids": [],
        "active": active,
        "permissions": "team_can_view",
        "num_steps": 3,
        "last_used_at": None,
    }


def _label(label_id: str, name: str, team_id: str, user_id: str, created: str, modality: str) -> Record:
    return {
        "_id": label_id,
        "id": label_id,
        "key": label_id,
        "name": name,
        "modality": modality,
        "cached_count": 0,
        "team_id": team_id,
        "user_id": user_id,
        "created_at": created,
        "updated_at": created,
    }
