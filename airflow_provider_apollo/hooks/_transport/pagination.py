"""Walk Apollo's ``page``/``per_page`` searches page by page, and know when to stop.

Apollo has no cursor: a search is asked again with ``page=2, 3...``. A walk stops at the
first of: an empty page, the last page (``pagination.total_pages``), all entries fetched
(``total_entries``, also answered without ``pagination`` by people API search),
``max_records``, or a page cap. People and organization search never show more than 500
pages (50,000 records at 100 per page): a query with more matches silently loses records,
so the walk warns, saying how many are left behind and how to split the query.

A page must carry at least one of its records keys (an empty list is an empty page): an
answer with none of them is an error, never read as "nothing matched", since a gateway
page or a changed API would otherwise end the walk as if the search found nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Re-exported: the page constants live with Apollo's other endpoint facts in ``_api/endpoints.py``.
from airflow_provider_apollo._api.endpoints import MAX_PER_PAGE as MAX_PER_PAGE
from airflow_provider_apollo._api.endpoints import SEARCH_PAGE_CAP as SEARCH_PAGE_CAP
from airflow_provider_apollo.exceptions import ApolloConfigurationError, ApolloResponseError

log = logging.getLogger(__name__)


def validate_per_page(per_page: int, *, maximum: int = MAX_PER_PAGE) -> int:
    """Return ``per_page`` when it is a whole number in ``1..maximum``.

    :param per_page: records per page requested by the caller.
    :param maximum: the endpoint's largest page.
    :raises ApolloConfigurationError: naming ``per_page`` and the allowed range.
    """
    if isinstance(per_page, bool) or not isinstance(per_page, int) or not 1 <= per_page <= maximum:
        raise ApolloConfigurationError(
            f"per_page must be a whole number from 1 to {maximum}; got {per_page!r}."
        )
    return per_page


def validate_max_records(max_records: int | None) -> int | None:
    """Return ``max_records`` when it is ``None`` (no limit) or a whole number >= 0.

    :param max_records: the most records the caller wants.
    """
    if max_records is None:
        return None
    if isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 0:
        raise ApolloConfigurationError(
            f"max_records must be None (no limit) or a whole number >= 0; got {max_records!r}."
        )
    return max_records


@dataclass(frozen=True)
class PageInfo:
    """What one page says about the whole result.

    :param total_entries: matching records, when Apollo says.
    :param total_pages: pages, when Apollo says.
    """

    total_entries: int | None = None
    total_pages: int | None = None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def page_info(body: Mapping[str, Any]) -> PageInfo:
    """Read ``pagination`` (or a top-level ``total_entries``) from one page's answer.

    :param body: the decoded answer.
    """
    pagination = body.get("pagination")
    if isinstance(pagination, Mapping):
        total_entries = _as_int(pagination.get("total_entries"))
        total_pages = _as_int(pagination.get("total_pages"))
    else:
        total_entries, total_pages = None, None
    if total_entries is None:
        total_entries = _as_int(body.get("total_entries"))
    return PageInfo(total_entries=total_entries, total_pages=total_pages)


def stop_reason(
    *,
    page: int,
    per_page: int,
    records_on_page: int,
    records_so_far: int,
    info: PageInfo,
    max_records: int | None,
    max_pages: int | None = None,
) -> str | None:
    """Why the walk ends after ``page``, or ``None`` to fetch the next page.

    :param page: the page just fetched (1-based).
    :param per_page: the page size asked for.
    :param records_on_page: records that page held.
    :param records_so_far: records yielded so far, this page included.
    :param info: totals that page reported.
    :param max_records: the caller's limit (``None``: no limit).
    :param max_pages: a page cap (``None``: none).
    """
    if records_on_page == 0:
        return "empty page"
    if max_records is not None and records_so_far >= max_records:
        return "max_records reached"
    if info.total_pages is not None and page >= info.total_pages:
        return "last page"
    if info.total_entries is not None and page * per_page >= info.total_entries:
        return "all entries fetched"
    if info.total_pages is None and info.total_entries is None and records_on_page < per_page:
        # Without totals, a short page is the only sign of the end that costs no call.
        return "short page"
    if max_pages is not None and page >= max_pages:
        return "page cap reached"
    return None


@dataclass(frozen=True)
class PageProgress:
    """Progress after one page, handed to the ``on_page`` callback for logging.

    :param page: the page just fetched.
    :param total_pages: pages expected, when known.
    :param records_so_far: records yielded so far.
    :param total_entries: matching records, when known.
    """

    page: int
    total_pages: int | None
    records_so_far: int
    total_entries: int | None


@dataclass(frozen=True)
class PagedQuery:
    """A paged search: what to send for each page and how to read the answers.

    :param method: ``POST`` (filters in the body) or ``GET`` (filters as query parameters).
    :param path: endpoint path relative to ``/api/v1``.
    :param records_keys: keys of the answer that hold records, concatenated in this order
        (``("organizations", "accounts")`` for organization search).
    :param what: name of the records for messages (``people``).
    :param filters: the filters sent with every page.
    :param per_page: page size, already validated.
    :param max_records: stop after this many records (``None``: all).
    :param max_pages: the endpoint's page cap (500 for people/organization search).
    :param split_hint: how to split a query that hits the page cap (for the warning).
    :param credits_per_page: what Apollo charges for each page.
    """

    method: str
    path: str
    records_keys: tuple[str, ...]
    what: str
    filters: Mapping[str, Any] | None = None
    per_page: int = MAX_PER_PAGE
    max_records: int | None = None
    max_pages: int | None = None
    split_hint: str | None = None
    credits_per_page: float = 0.0

    def request_for(self, page: int) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """``(params, json)`` of the request for ``page``."""
        sent = {**(self.filters or {}), "page": page, "per_page": self.per_page}
        return (sent, None) if self.method == "GET" else (None, sent)


class PageWalk:
    """The reading side of a paged search, transport-free: feed it answers, it says what to yield.

    Sync and async callers run the same walk (``while not walk.done: walk.read(fetch(walk.page))``),
    so when to stop, what counts as a broken page and the page-cap warning cannot differ.

    :param query: the search.
    :param on_page: called after each page (log progress and quota there).
    """

    def __init__(self, query: PagedQuery, *, on_page: Callable[[PageProgress], None] | None = None) -> None:
        self.query = query
        self.max_records = validate_max_records(query.max_records)
        self.on_page = on_page
        self.page = 1
        self.yielded = 0
        self.done = self.max_records == 0

    def read(self, body: Any) -> list[dict[str, Any]]:
        """The records of the answer for :attr:`page` to hand out; advances to the next page.

        :raises ApolloResponseError: a page that is not an object, has none of the records
            keys, or holds something else than a list of objects under one of them.
        """
        query, page = self.query, self.page
        where = f"page {page} of the {query.what} search ({query.path})"
        records = page_records(body, query.records_keys, where=where, endpoint=query.path)
        info = page_info(body)
        if page == 1 and query.max_pages is not None:
            _warn_if_capped(
                info, query.per_page, query.max_pages, self.max_records, query.what, query.split_hint
            )
        room = len(records) if self.max_records is None else max(self.max_records - self.yielded, 0)
        kept = records[:room]
        self.yielded += len(kept)
        if self.on_page is not None:
            self.on_page(PageProgress(page, info.total_pages, self.yielded, info.total_entries))
        reason = stop_reason(
            page=page,
            per_page=query.per_page,
            records_on_page=len(records),
            records_so_far=self.yielded,
            info=info,
            max_records=self.max_records,
            max_pages=query.max_pages,
        )
        if reason is not None:
            log.debug(
                "%s search stopped after page %d: %s (%d records).", query.what, page, reason, self.yielded
            )
            self.done = True
        self.page += 1
        return kept


def iter_records(
    fetch_page: Callable[[int], Any],
    query: PagedQuery,
    *,
    on_page: Callable[[PageProgress], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield every record of a paged search, stopping by the rules of :func:`stop_reason`.

    :param fetch_page: sends the request for one page number and returns the decoded answer.
    :param query: the search.
    :param on_page: called after each page (log progress and quota there).
    """
    walk = PageWalk(query, on_page=on_page)
    while not walk.done:
        yield from walk.read(fetch_page(walk.page))


def page_records(
    body: Any, records_keys: Sequence[str], *, where: str, endpoint: str | None = None
) -> list[dict[str, Any]]:
    """The records of one answer: the lists under ``records_keys``, concatenated in that order.

    A key may be absent when another one is there (organization search answers
    ``organizations`` and/or ``accounts``); an answer with none of them is an error.
    Used for every paged search, and for other answers that carry lists of records.

    :param body: the decoded answer (one page).
    :param records_keys: keys of the answer that hold records.
    :param where: the page, for messages (``page 2 of the people search``).
    :param endpoint: the endpoint path, set on the error.
    :raises ApolloResponseError: naming ``where`` and the missing or mistyped key.
    """
    if not isinstance(body, Mapping):
        raise ApolloResponseError(
            f"Apollo answered {where} with a JSON {type(body).__name__} where an object was expected.",
            endpoint=endpoint,
        )
    present = [key for key in records_keys if body.get(key) is not None]
    if not present:
        expected = " or ".join(repr(key) for key in records_keys)
        keys = ", ".join(sorted(str(k) for k in body)[:10]) or "none"
        raise ApolloResponseError(
            f"Apollo's answer to {where} has no {expected} list (keys: {keys}). A proxy or a change "
            "of the API may be in the way; check the connection's base URL.",
            endpoint=endpoint,
        )
    records: list[dict[str, Any]] = []
    for key in present:
        value = body[key]
        if not isinstance(value, list):
            raise ApolloResponseError(
                f"Apollo answered {where} with {key!r} that is not a list ({type(value).__name__}).",
                endpoint=endpoint,
            )
        for index, record in enumerate(value):
            if not isinstance(record, dict):
                raise ApolloResponseError(
                    f"Apollo answered {where} with {key}[{index}] that is not an object "
                    f"({type(record).__name__}).",
                    endpoint=endpoint,
                )
        records.extend(value)
    return records


def _warn_if_capped(
    info: PageInfo,
    per_page: int,
    max_pages: int,
    max_records: int | None,
    what: str,
    split_hint: str | None,
) -> None:
    reachable = max_pages * per_page
    wanted = info.total_entries if max_records is None else min(max_records, info.total_entries or 0)
    if info.total_entries is None or wanted is None or wanted <= reachable:
        return
    left_behind = info.total_entries - reachable
    bigger_pages = " (use per_page=100 to reach 50,000)" if per_page < MAX_PER_PAGE else ""
    log.warning(
        "The %s search matches %d records but Apollo shows at most %d pages of %d (%d records)%s: "
        "%d records will be left behind. Split the query into smaller ones%s and run each.",
        what,
        info.total_entries,
        max_pages,
        per_page,
        reachable,
        bigger_pages,
        left_behind,
        f", e.g. {split_hint}" if split_hint else "",
    )
