"""How a full read of an object is cut into queries Apollo can page completely, with proof.

Apollo shows at most 500 pages of 100 per query. A query with more records is split by the
object's partitioning filter (stages: each record has exactly one), and a slice still over the
cap is read from both ends of a stable sort (ascending, then descending for the rest). Before
any cursor moves, the slices' totals must add up to the whole, and a two-ended slice must have
yielded as many distinct ids as it holds. Where no split gets under the cap, the read fails
before writing anything, naming the cap and what to do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from airflow_provider_apollo._api.crm_objects import PAGE_CAP, PAGE_SIZE, CrmObject, reachable
from airflow_provider_apollo.exceptions import ApolloConfigurationError


class IncompleteReadError(ApolloConfigurationError):
    """A read cannot be proven complete (cap, totals that do not add up, partial results)."""


@dataclass
class Slice:
    """One query of a full read.

    :param label: for logs and progress (``contact_stage_ids=abc``, ``all``).
    :param filters: the filters sent (split filter and sort).
    :param total: its records, as page 1 reported.
    :param pages: the pages to read (the ascending part for a two-ended slice).
    :param tail_pages: pages of the descending read of a two-ended slice (0: none).
    :param first_done: page 1 was read (and written) while planning.
    """

    label: str
    filters: dict[str, Any]
    total: int
    pages: int
    tail_pages: int = 0
    first_done: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Slice:
        """The slice saved in progress."""
        return cls(**{k: data[k] for k in ("label", "filters", "total", "pages", "tail_pages", "first_done")})


@dataclass
class ReadPlan:
    """The slices of a full read and where it stands (saved as progress after each page).

    :param total: the whole query's total (page 1 of the unfiltered query).
    :param slices: the queries.
    :param slice_index: the slice being read.
    :param next_page: its next page to read (descending pages follow as ``pages + n``).
    :param cursor_at_start: the newest ``updated_at`` before the read began (incremental objects).
    :param read: distinct records written per slice so far.
    """

    total: int
    slices: list[Slice]
    slice_index: int = 0
    next_page: int = 1
    cursor_at_start: str | None = None
    read: list[int] = field(default_factory=list)

    def to_progress(self) -> dict[str, Any]:
        """JSON-ready progress."""
        return {"mode": "full", **asdict(self)}

    @classmethod
    def from_progress(cls, data: Mapping[str, Any]) -> ReadPlan:
        """The plan saved by an unfinished run."""
        return cls(
            total=int(data["total"]),
            slices=[Slice.from_dict(s) for s in data["slices"]],
            slice_index=int(data["slice_index"]),
            next_page=int(data["next_page"]),
            cursor_at_start=data.get("cursor_at_start"),
            read=[int(n) for n in data.get("read", [])],
        )

    @property
    def pages_total(self) -> int:
        """Pages the whole read needs."""
        return sum(s.pages + s.tail_pages for s in self.slices)

    @property
    def pages_done(self) -> int:
        """Pages read so far."""
        done = sum(s.pages + s.tail_pages for s in self.slices[: self.slice_index])
        return done + self.next_page - 1


def pages_for(total: int) -> int:
    """Pages of 100 holding ``total`` records (at least one: an empty answer proves emptiness)."""
    return max(1, math.ceil(total / PAGE_SIZE))


def sort_filters(obj: CrmObject, *, ascending: bool) -> dict[str, Any]:
    """The stable sort of a full read (none when the object has none)."""
    if obj.stable_sort is None:
        return {}
    return {"sort_by_field": obj.stable_sort, "sort_ascending": ascending}


def one_slice(obj: CrmObject, label: str, filters: dict[str, Any], total: int) -> Slice:
    """The slice for ``total`` records: paged from one end, or from both when over the cap.

    :raises IncompleteReadError: over twice the cap, or over the cap with no stable sort.
    """
    cap = reachable()
    if total <= cap:
        return Slice(label, {**filters, **sort_filters(obj, ascending=True)}, total, pages_for(total))
    if obj.stable_sort is None or total > 2 * cap:
        raise IncompleteReadError(
            f"{obj.path} ({label}) matches {total:,} {obj.name}, more than Apollo's display cap of "
            f"{PAGE_CAP} pages x {PAGE_SIZE} ({cap:,}) can show"
            + (" from both ends of a sort" if obj.stable_sort else "")
            + ": the export cannot prove it read them all, so the cursor did not move. Split the data in "
            f"Apollo so each {obj.split.filter if obj.split else 'query'} value holds under "
            f"{2 * cap:,} records (e.g. more stages), or export with object storage by segments."
        )
    # Ascending pages 1..500, then descending pages for the rest plus one page of overlap: the
    # overlap is what lets the distinct-id count prove the two ends met.
    tail = min(PAGE_CAP, pages_for(total - cap) + 1)
    return Slice(label, {**filters, **sort_filters(obj, ascending=True)}, total, PAGE_CAP, tail)


def split_slices(obj: CrmObject, whole: int, values: Sequence[str], totals: Sequence[int]) -> list[Slice]:
    """Slices by the object's split filter, checked to add up to the whole.

    :param whole: the unfiltered total.
    :param values: the split filter's values.
    :param totals: each value's total (page 1 of each).
    :raises IncompleteReadError: the totals do not add up (records outside every value).
    """
    assert obj.split is not None
    if sum(totals) != whole:
        raise IncompleteReadError(
            f"{obj.path} matches {whole:,} {obj.name}, over the display cap of {reachable():,}, and "
            f"split by {obj.split.filter} the {len(values)} values hold {sum(totals):,}: "
            f"{whole - sum(totals):+,} records are outside every value (no {obj.split.record_field}?), "
            "so a complete read cannot be proven and the cursor did not move. Give those records a "
            f"{obj.split.record_field} in Apollo, or reduce the team's data under the cap."
        )
    return [
        one_slice(obj, f"{obj.split.filter}={value}", {obj.split.filter: [value]}, total)
        for value, total in zip(values, totals, strict=True)
    ]


def page_request(obj: CrmObject, piece: Slice, page: int) -> tuple[dict[str, Any], int]:
    """``(filters, page number to send)`` for the plan's ``page`` of ``piece`` (tail pages descend)."""
    if page <= piece.pages:
        return piece.filters, page
    return {**piece.filters, **sort_filters(obj, ascending=False)}, page - piece.pages
