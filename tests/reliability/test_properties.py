"""Property-based tests (issue 6, part 7): batching and realignment, pagination stop rules,
the rate-limit header parser. Hypothesis generates the inputs a hand-written test forgets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_apollo._api.batching import chunked, realign_organizations, realign_people
from airflow_provider_apollo.hooks._transport.pagination import PagedQuery, iter_records
from airflow_provider_apollo.hooks._transport.rate_limit_headers import (
    parse_rate_limit_headers,
    retry_after_seconds,
)

PROFILE = settings(max_examples=150, deadline=None)


# ------------------------------------------------------------------ batching and realignment
@PROFILE
@given(items=st.lists(st.integers()), size=st.integers(min_value=1, max_value=25))
def test_chunks_cover_the_input_in_order_and_respect_the_size(items: list[int], size: int) -> None:
    chunks = list(chunked(items, size))
    assert [x for chunk in chunks for x in chunk] == items
    assert all(1 <= len(chunk) <= size for chunk in chunks)
    assert len(chunks) == math.ceil(len(items) / size)


@st.composite
def bulk_match(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[Any], list[bool]]:
    """Up to 10 distinct people, which of them Apollo found, and its answer in any order."""
    count = draw(st.integers(min_value=1, max_value=10))
    details = [{"email": f"person{i}@acme.example"} for i in range(count)]
    found = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    matches: list[Any] = [
        {"id": f"p{i}", "email": d["email"], "first_name": "X", "last_name": str(i)}
        for i, (d, hit) in enumerate(zip(details, found, strict=True))
        if hit
    ]
    positional = draw(st.booleans())
    if positional:
        # Apollo's documented shape: one entry per detail, null where nobody matched.
        matches = [m if hit else None for m, hit in zip(_spread(matches, found), found, strict=True)]
    else:
        matches = draw(st.permutations(matches))
    return details, matches, found


def _spread(matches: list[Any], found: list[bool]) -> list[Any]:
    iterator = iter(matches)
    return [next(iterator) if hit else None for hit in found]


@PROFILE
@given(case=bulk_match())
def test_every_match_lands_on_the_person_it_answers_and_misses_stay_none(
    case: tuple[list[dict[str, Any]], list[Any], list[bool]],
) -> None:
    details, matches, found = case
    placed, unplaced = realign_people(details, matches)

    assert len(placed) == len(details)
    assert unplaced == 0
    for detail, person, hit in zip(details, placed, found, strict=True):
        if hit:
            assert person is not None and person["email"] == detail["email"]
        else:
            assert person is None


@PROFILE
@given(
    domains=st.lists(
        st.from_regex(r"[a-z]{3,8}\.example", fullmatch=True), min_size=1, max_size=10, unique=True
    ),
    data=st.data(),
)
def test_organizations_land_on_their_domain_whatever_the_order(
    domains: list[str], data: st.DataObject
) -> None:
    known = data.draw(st.lists(st.sampled_from(domains), unique=True))
    answer = data.draw(st.permutations([{"id": f"o-{d}", "primary_domain": d} for d in known]))

    placed, unplaced = realign_organizations(domains, answer)

    assert unplaced == 0
    assert [o["primary_domain"] if o else None for o in placed] == [
        d if d in known else None for d in domains
    ]


# ------------------------------------------------------------------------------ pagination
@st.composite
def paged_search(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "total": draw(st.integers(min_value=0, max_value=700)),
        "per_page": draw(st.integers(min_value=1, max_value=100)),
        "max_records": draw(st.none() | st.integers(min_value=0, max_value=800)),
        "max_pages": draw(st.none() | st.integers(min_value=1, max_value=20)),
        "totals": draw(st.sampled_from(["pagination", "total_entries", "none"])),
    }


@PROFILE
@given(search=paged_search())
def test_pagination_returns_exactly_what_was_asked_and_never_fetches_a_page_too_many(
    search: dict[str, Any],
) -> None:
    total, per_page = search["total"], search["per_page"]
    records = [{"id": str(i)} for i in range(total)]
    fetched: list[int] = []

    def fetch(page: int) -> Mapping[str, Any]:
        fetched.append(page)
        body: dict[str, Any] = {"people": records[(page - 1) * per_page : page * per_page]}
        if search["totals"] == "pagination":
            body["pagination"] = {
                "page": page,
                "total_entries": total,
                "total_pages": math.ceil(total / per_page),
            }
        elif search["totals"] == "total_entries":
            body["total_entries"] = total
        return body

    query = PagedQuery(
        "POST",
        "mixed_people/api_search",
        records_keys=("people",),
        what="people",
        per_page=per_page,
        max_records=search["max_records"],
        max_pages=search["max_pages"],
    )
    got = list(iter_records(fetch, query))

    reachable = total if search["max_pages"] is None else min(total, search["max_pages"] * per_page)
    wanted = reachable if search["max_records"] is None else min(reachable, search["max_records"])
    assert got == records[:wanted]  # in order, no repeat, nothing skipped
    assert fetched == list(range(1, len(fetched) + 1))
    if search["max_records"] == 0:
        assert fetched == []
        return
    needed = max(1, math.ceil(wanted / per_page))
    # Without totals, a full last page costs one extra (empty or short) look; never more.
    slack = 1 if search["totals"] == "none" and wanted == total and total % per_page == 0 else 0
    assert len(fetched) <= needed + slack


# ----------------------------------------------------------------------- rate-limit headers
SPELLINGS = {
    "minute": {
        "limit": ["x-rate-limit-minute"],
        "usage": ["x-minute-usage"],
        "left": ["x-minute-requests-left"],
    },
    "hour": {
        "limit": ["x-rate-limit-hourly"],
        "usage": ["x-hourly-usage"],
        "left": ["x-hourly-requests-left"],
    },
    "day": {
        "limit": ["x-rate-limit-24-hour", "x-rate-limit-daily"],
        "usage": ["x-24-hour-usage", "x-daily-usage"],
        "left": ["x-24-hour-requests-left", "x-daily-requests-left"],
    },
}
numbers = st.integers(min_value=0, max_value=10**7)


@st.composite
def rate_limit_headers(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, dict[str, int | None]]]:
    """Headers in any case, either day spelling, some windows unlimited (empty) or absent."""
    headers: dict[str, str] = {}
    expected: dict[str, dict[str, int | None]] = {}
    for window, fields in SPELLINGS.items():
        state = draw(st.sampled_from(["numbers", "unlimited", "absent"]))
        values: dict[str, int | None] = dict.fromkeys(fields)
        for field, names in fields.items():
            name = draw(st.sampled_from(names))
            name = draw(st.sampled_from([name, name.upper(), name.title()]))
            if state == "numbers":
                value = draw(numbers)
                headers[name] = draw(st.sampled_from([str(value), f" {value} ", f"{value}.0"]))
                values[field] = value
            elif state == "unlimited":
                headers[name] = ""
        expected[window] = values
    return headers, expected


@PROFILE
@given(case=rate_limit_headers())
def test_the_rate_limit_parser_reads_every_spelling_and_treats_empty_as_unlimited(
    case: tuple[dict[str, str], dict[str, dict[str, int | None]]],
) -> None:
    headers, expected = case
    parsed = parse_rate_limit_headers(headers)

    if not headers:
        assert parsed is None
        return
    assert parsed is not None
    for window, values in expected.items():
        quota = parsed[window]
        assert (quota.limit, quota.usage, quota.left) == (values["limit"], values["usage"], values["left"])


@PROFILE
@given(headers=st.dictionaries(st.text(max_size=30), st.text(max_size=30), max_size=8))
def test_the_rate_limit_parser_never_raises_on_garbage(headers: dict[str, str]) -> None:
    parsed = parse_rate_limit_headers(headers)
    assert parsed is None or set(parsed) == {"minute", "hour", "day"}
    wait = retry_after_seconds(headers)
    assert wait is None or wait >= 0


@PROFILE
@given(
    seconds=st.floats(min_value=0, max_value=10**6, allow_nan=False),
    name=st.sampled_from(["Retry-After", "retry-after"]),
)
def test_retry_after_in_seconds_is_read_back(seconds: float, name: str) -> None:
    assert retry_after_seconds({name: repr(seconds)}) == seconds
