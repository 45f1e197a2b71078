"""The generated world: deterministic per seed, realistic enough, quick to build."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_apollo.sandbox.world import SENIORITIES, generate_world

NOW = datetime(2026, 1, 15, tzinfo=timezone.utc)


def test_same_seed_same_world_and_different_seed_different_world():
    first = generate_world(seed=11, people=400, reference_time=NOW)
    again = generate_world(seed=11, people=400, reference_time=NOW)
    other = generate_world(seed=12, people=400, reference_time=NOW)

    assert first.people == again.people
    assert first.organizations == again.organizations
    assert first.job_postings == again.job_postings
    assert [p["name"] for p in first.people] != [p["name"] for p in other.people]


def test_sizes_and_ids_look_like_apollo():
    world = generate_world(seed=1, people=1000, reference_time=NOW)

    assert len(world.people) == 1000
    assert len(world.organizations) == 100
    assert len({p["id"] for p in world.people}) == 1000
    assert all(len(p["id"]) == 24 and int(p["id"], 16) >= 0 for p in world.people[:50])
    assert len({o["primary_domain"] for o in world.organizations}) == 100
    assert all(o["primary_domain"].endswith(".example.com") for o in world.organizations)


@pytest.mark.slow  # generates a large world: over a second
def test_people_cover_seniorities_missing_emails_and_unverified_emails():
    world = generate_world(seed=3, people=2000, reference_time=NOW)

    assert {p["seniority"] for p in world.people} == set(SENIORITIES)
    statuses = [p["email_status"] for p in world.people]
    assert statuses.count(None) > 50
    assert statuses.count("unverified") > 50
    assert statuses.count("verified") > 1000
    assert all(p["email"] is None for p in world.people if p["email_status"] is None)


def test_job_postings_spread_over_the_last_sixty_days_and_some_organizations_have_none():
    world = generate_world(seed=5, people=2000, reference_time=NOW)
    postings = [p for items in world.job_postings.values() for p in items]
    dates = [datetime.fromisoformat(p["posted_at"].replace("Z", "+00:00")) for p in postings]

    assert any(not items for items in world.job_postings.values())
    assert min(dates) >= NOW - timedelta(days=60)
    assert max(dates) <= NOW


def test_team_fixtures_exist():
    world = generate_world(seed=5, people=10, reference_time=NOW)

    assert world.user["email"] == "owner@sandbox.example.com"
    assert [a["email"] for a in world.email_accounts] == ["sdr@sandbox.example.com", "ae@sandbox.example.com"]
    names = [s["name"] for s in world.sequences]
    assert names.count("Duplicate Name") == 2
    assert {"Sandbox Outreach", "Sandbox Nurture"} <= set(names)
    assert [s["name"] for s in world.contact_stages][:3] == ["Cold", "Approaching", "Replied"]
    assert "Do Not Contact" in {s["name"] for s in world.contact_stages}
