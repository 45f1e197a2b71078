"""Page walking and its stop rules (pagination.py)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_apollo.exceptions import ApolloConfigurationError, ApolloResponseError
from airflow_provider_apollo.hooks._transport.pagination import (
    PagedQuery,
    PageInfo,
    iter_records,
    page_info,
    stop_reason,
    validate_per_page,
)


def walk(
    fetch: Any,
    *,
    records_keys: list[str],
    per_page: int,
    max_records: int | None = None,
    max_pages: int | None = None,
    what: str = "records",
    endpoint: str = "records/search",
) -> Any:
    """Walk a fake search the way the hooks do (``iter_records`` over a ``PagedQuery``)."""
    query = PagedQuery(
        "POST",
        endpoint,
        records_keys=tuple(records_keys),
        what=what,
        per_page=per_page,
        max_records=max_records,
        max_pages=max_pages,
    )
    return iter_records(fetch, query)


def fake_search(total: int, per_page: int, *, report: str) -> tuple[Any, list[int]]:
    asked: list[int] = []

    def fetch(page: int) -> dict[str, Any]:
        asked.append(page)
        start = (page - 1) * per_page
        body: dict[str, Any] = {"records": [{"n": n} for n in range(start, min(start + per_page, total))]}
        if report == "pages":
            body["pagination"] = {"total_pages": -(-total // per_page), "total_entries": total}
        elif report == "entries":
            body["total_entries"] = total
        return body

    return fetch, asked


@given(
    total=st.integers(min_value=0, max_value=1000),
    per_page=st.integers(min_value=1, max_value=100),
    max_records=st.one_of(st.none(), st.integers(min_value=0, max_value=1200)),
    report=st.sampled_from(["pages", "entries", "nothing"]),
)
def test_walk_yields_exactly_what_is_wanted_with_no_wasted_page(
    total: int, per_page: int, max_records: int | None, report: str
) -> None:
    fetch, asked = fake_search(total, per_page, report=report)
    records = list(walk(fetch, records_keys=["records"], per_page=per_page, max_records=max_records))
    wanted = total if max_records is None else min(total, max_records)
    assert [r["n"] for r in records] == list(range(wanted))
    assert asked == list(range(1, len(asked) + 1))
    needed = max(-(-wanted // per_page), 1)
    if max_records == 0:
        assert asked == []
    elif report == "nothing" and (max_records is None or max_records > total) and total % per_page == 0:
        assert len(asked) == needed + (1 if total else 0)  # an exact multiple needs one empty page to know
    else:
        assert len(asked) == needed


@given(
    total=st.integers(min_value=0, max_value=10**6),
    page=st.integers(min_value=1, max_value=600),
    per_page=st.integers(min_value=1, max_value=100),
)
def test_page_cap_always_stops(total: int, page: int, per_page: int) -> None:
    reason = stop_reason(
        page=page,
        per_page=per_page,
        records_on_page=per_page,
        records_so_far=page * per_page,
        info=PageInfo(total_entries=total),
        max_records=None,
        max_pages=500,
    )
    if page >= 500:
        assert reason is not None
    if reason is None:
        assert page * per_page < total


def test_page_info_reads_both_shapes() -> None:
    assert page_info({"pagination": {"total_entries": 5, "total_pages": "1"}}) == PageInfo(5, 1)
    assert page_info({"total_entries": 7, "people": []}) == PageInfo(7, None)
    assert page_info({"pagination": None}) == PageInfo(None, None)


@pytest.mark.parametrize("per_page", [0, 101, -1, True, 2.5])
def test_per_page_out_of_range(per_page: Any) -> None:
    with pytest.raises(ApolloConfigurationError, match="per_page must be a whole number from 1 to 100"):
        validate_per_page(per_page)


def test_records_that_are_not_a_list_are_a_response_error() -> None:
    with pytest.raises(ApolloResponseError, match="'records' that is not a list"):
        list(walk(lambda page: {"records": "oops"}, records_keys=["records"], per_page=10))


@pytest.mark.parametrize(
    "body", [{}, {"unexpected": True}, {"records": None, "pagination": {"total_pages": 1}}]
)
def test_a_page_without_its_records_key_is_an_error_not_an_empty_result(body: dict[str, Any]) -> None:
    with pytest.raises(
        ApolloResponseError, match="page 1 of the people search \\(mixed_people/api_search\\)"
    ) as raised:
        list(
            walk(
                lambda page: body,
                records_keys=["records"],
                per_page=10,
                what="people",
                endpoint="mixed_people/api_search",
            )
        )
    assert "has no 'records' list" in str(raised.value)
    assert raised.value.endpoint == "mixed_people/api_search"


def test_one_of_several_records_keys_is_enough() -> None:
    """Organization search answers ``organizations`` and/or ``accounts``; totals may be absent."""
    pages = [
        {"organizations": [{"id": "o1"}], "accounts": [{"id": "a1"}]},
        {"accounts": [{"id": "a2"}]},
        {"organizations": []},
    ]
    records = walk(lambda page: pages[page - 1], records_keys=["organizations", "accounts"], per_page=2)
    assert [r["id"] for r in records] == ["o1", "a1", "a2"]


def test_an_empty_list_is_an_empty_page() -> None:
    assert list(walk(lambda page: {"records": []}, records_keys=["records"], per_page=10)) == []


def test_records_that_are_not_objects_are_a_response_error() -> None:
    with pytest.raises(ApolloResponseError, match=r"records\[1\] that is not an object \(int\)"):
        list(walk(lambda page: {"records": [{"id": 1}, 2]}, records_keys=["records"], per_page=10))
