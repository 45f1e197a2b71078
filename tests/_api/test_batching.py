"""Chunking, validation and realignment of bulk enrichment answers (batching.py)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_apollo._api.batching import (
    chunked,
    is_matched_person,
    normalize_domain,
    normalize_linkedin,
    realign_organizations,
    realign_people,
    validate_domains,
    validate_person_details,
)
from airflow_provider_apollo.exceptions import ApolloConfigurationError


@given(st.lists(st.integers(), max_size=60), st.integers(min_value=1, max_value=15))
def test_chunks_cover_the_input_in_order(items: list[int], size: int) -> None:
    chunks = list(chunked(items, size))
    assert [x for chunk in chunks for x in chunk] == items
    assert all(1 <= len(c) <= size for c in chunks)
    assert all(len(c) == size for c in chunks[:-1])


def person(i: int) -> dict[str, Any]:
    return {"id": f"p{i}", "email": f"user{i}@acme.com"}


@given(
    n=st.integers(min_value=1, max_value=10),
    missing=st.sets(st.integers(min_value=0, max_value=9)),
    seed=st.integers(),
    drop_nulls=st.booleans(),
)
def test_realignment_puts_every_match_on_its_input(
    n: int, missing: set[int], seed: int, drop_nulls: bool
) -> None:
    details = [{"email": f"USER{i}@acme.com "} for i in range(n)]
    matches: list[dict[str, Any] | None] = [None if i in missing else person(i) for i in range(n)]
    if drop_nulls:
        matches = [m for m in matches if m is not None]
    random.Random(seed).shuffle(matches)
    placed, unplaced = realign_people(details, matches)
    assert unplaced == 0
    assert [p["id"] if p else None for p in placed] == [None if i in missing else f"p{i}" for i in range(n)]


def test_positional_alignment_is_kept_when_nothing_contradicts_it() -> None:
    details = [{"first_name": "Ada", "last_name": "L", "domain": "acme.com"}, {"email": "b@x.com"}]
    matches = [{"id": "p1", "first_name": "Ada", "last_name": "L"}, {"id": "p2"}]  # no comparable keys
    placed, _ = realign_people(details, matches)
    assert [p["id"] if p else None for p in placed] == ["p1", "p2"]


def test_name_and_company_keys_match_nested_organization() -> None:
    details = [
        {"email": "zz@x.com"},
        {"first_name": "Ada", "last_name": "Lovelace", "organization_name": "Acme"},
    ]
    matches = [{"id": "p9", "first_name": "ada", "last_name": "lovelace", "organization": {"name": "ACME"}}]
    placed, _ = realign_people(details, matches)
    assert placed == [None, matches[0]]


@pytest.mark.parametrize(
    ("person", "matched"),
    [
        ({"id": "p1"}, True),
        ({"id": "p1", "match_confidence": "high"}, True),
        ({"id": "p1", "match_confidence": None}, False),
        ({"id": "p1", "match_confidence": "none"}, False),
        ({"id": None, "first_name": "x"}, False),
        (None, False),
    ],
)
def test_stub_people_are_not_matches(person: Any, matched: bool) -> None:
    assert is_matched_person(person) is matched


@pytest.mark.parametrize(
    "detail",
    [
        {"id": "p1"},
        {"email": "a@x.com"},
        {"linkedin_url": "linkedin.com/in/a"},
        {"hashed_email": "abc"},
        {"first_name": "A", "last_name": "B", "domain": "x.com"},
        {"name": "A B", "organization_name": "X"},
    ],
)
def test_identifying_details_pass(detail: dict[str, Any]) -> None:
    assert validate_person_details([detail]) == [detail]


@pytest.mark.parametrize(
    "detail", [{}, {"first_name": "A", "last_name": "B"}, {"domain": "x.com"}, {"email": " "}]
)
def test_unidentifying_details_are_named(detail: dict[str, Any]) -> None:
    with pytest.raises(ApolloConfigurationError, match=r"details\[1\]"):
        validate_person_details([{"id": "ok"}, detail])


def test_domains_and_linkedin_are_normalized() -> None:
    assert normalize_domain("https://www.Acme.com/about?x=1") == "acme.com"
    assert normalize_linkedin("http://www.linkedin.com/in/Tim-Zheng/") == "linkedin.com/in/tim-zheng"
    assert validate_domains(["ACME.com", "http://b.io"]) == ["acme.com", "b.io"]
    with pytest.raises(ApolloConfigurationError, match=r"domains\[0\]"):
        validate_domains(["localhost"])
    with pytest.raises(ApolloConfigurationError, match="not a single string"):
        validate_domains("acme.com")  # type: ignore[arg-type]


@pytest.mark.slow  # a property test over many orders: about 2 s
@given(
    st.lists(st.sampled_from(["a.com", "b.io", "c.org", "d.net"]), min_size=1, max_size=10, unique=True),
    st.randoms(),
)
def test_organizations_realigned_by_domain(domains: list[str], rnd: random.Random) -> None:
    found = [{"id": d, "website_url": f"https://www.{d}"} for d in domains if d != "c.org"]
    rnd.shuffle(found)
    placed, unplaced = realign_organizations(domains, found)
    assert unplaced == 0
    assert [o["id"] if o else None for o in placed] == [None if d == "c.org" else d for d in domains]
