"""One object's export run: read from Apollo page by page, write each page, prove completeness.

- ``contacts`` (incremental): newest first by ``contact_updated_at`` down to the saved cursor
  minus the lookback, ties kept (``>=``); the overlap costs nothing but reads (upserts are
  idempotent and unchanged rows are not rewritten). The first run, or one whose changes exceed
  what 500 pages show, is a full read.
- every other object (snapshot): a full read each run; the content hash tells edits apart.
- full reads follow a :class:`ReadPlan` (``_slices.py``), saved as progress after each page, so
  a run stopped by a closed quota window, a crash or a kill is continued by the next one.
- deletes (``reconcile``, and every snapshot run): ids live in the table but absent from a
  complete full read are confirmed one by one (``GET <object>/{id}``) before ``deleted_at`` is set;
  an incomplete read marks nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from airflow_provider_apollo._api.crm_objects import PAGE_SIZE, CrmObject, reachable
from airflow_provider_apollo._warehouse.object_storage import JsonLinesWriter
from airflow_provider_apollo._warehouse.records import Row, to_row
from airflow_provider_apollo._warehouse.sql import SqlDestination, UpsertCounts
from airflow_provider_apollo._warehouse.state import ExportState, ExportStateStore
from airflow_provider_apollo.exceptions import ApolloQuotaExhaustedError
from airflow_provider_apollo.hooks._resources.crm_export import CrmExportReads, CrmPage
from airflow_provider_apollo.transfers._export_run import ExportResult, instant, iso, table_spec, utc_now
from airflow_provider_apollo.transfers._slices import (
    IncompleteReadError,
    ReadPlan,
    Slice,
    one_slice,
    page_request,
    sort_filters,
    split_slices,
)

log = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 30.0
#: Rows written per transaction (with the progress that says they are written).
FLUSH_ROWS = 1000


class CrmExport:
    """Exports one object to a SQL destination (and optionally object storage).

    :param hook: an ApolloHook (its CRM export reads).
    :param obj: the object.
    :param destination: the SQL destination.
    :param lookback: how far before the cursor an incremental read goes on.
    :param export_path: object storage root for JSON Lines, or ``None``.
    :param run_key: the run's folder under ``export_path``.
    :param reconcile: confirm and mark deletes (a full read of incremental objects).
    """

    def __init__(
        self,
        hook: CrmExportReads,
        obj: CrmObject,
        destination: SqlDestination,
        *,
        lookback: timedelta,
        export_path: str | None = None,
        run_key: str = "run",
        reconcile: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hook, self.obj, self.destination = hook, obj, destination
        self.spec = table_spec(obj)
        self.state_store = ExportStateStore(destination)
        self.lookback, self.reconcile = lookback, reconcile
        self.writer = JsonLinesWriter(export_path, obj.name, run_key) if export_path else None
        self.counts = UpsertCounts()
        self.clock = clock
        self._seen: set[str] | None = None
        self._buffer: list[Row] = []
        self._last_log = 0.0
        self._started = clock()

    # ------------------------------------------------------------------ run
    def run(self) -> ExportResult:
        """Export once; the result says what changed. Raises when the read could not complete."""
        calls_before = self.hook.requests_sent
        self.destination.ensure_table(self.spec)
        state = self.state_store.load(self.obj.name)
        try:
            result = self._run(state)
        except BaseException:
            if self.writer is not None:
                self.writer.abort()
            raise
        result.calls = self.hook.requests_sent - calls_before
        result.created, result.updated, result.unchanged = (
            self.counts.created,
            self.counts.updated,
            self.counts.unchanged,
        )
        if self.writer is not None:
            self.writer.finish(result.as_dict())
        log.info(
            "%s: %s run complete — %d created, %d updated, %d unchanged, %d deleted; %d records in %d "
            "pages, %d calls; cursor %s.",
            self.obj.name,
            result.mode,
            result.created,
            result.updated,
            result.unchanged,
            result.deleted,
            result.records,
            result.pages,
            result.calls,
            result.cursor,
        )
        return result

    def _run(self, state: ExportState) -> ExportResult:
        if not self.obj.paged:
            return self._lookup_run()
        resuming = state.progress.get("mode") == "full"
        if (
            self.obj.mode == "incremental"
            and state.cursor is not None
            and not resuming
            and not self.reconcile
        ):
            result = self._incremental(state.cursor)
            if result is not None:
                return result
            log.warning(
                "%s: more changed since the cursor %s than %d pages show: reading everything instead.",
                self.obj.name,
                state.cursor,
                reachable() // PAGE_SIZE,
            )
        return self._full(state)

    # ------------------------------------------------------------------ writing
    def _write(self, records: list[dict[str, Any]]) -> None:
        """Buffer one page's rows (written by :meth:`_flush`); files and seen ids at once."""
        rows = [to_row(self.spec, r) for r in records]
        self._buffer.extend(rows)
        if self.writer is not None:
            self.writer.write(records)
        if self._seen is not None:
            self._seen.update(row.id for row in rows)

    def _flush(self, progress: dict[str, Any] | None = None, *, force: bool = True) -> None:
        """Write the buffered rows and ``progress`` in one transaction (rows and progress agree).

        A commit costs a disk sync (tens of ms on a slow disk): one per ~1,000 rows, not per page,
        keeps the writer ahead of the reads. A run killed between flushes re-reads at most those pages.
        """
        if not force and len(self._buffer) < FLUSH_ROWS:
            return
        if self._buffer:
            self.counts.add(
                self.destination.upsert(self.spec, self._buffer, extracted_at=utc_now(), commit=False)
            )
            self._buffer = []
        if progress is not None:
            self.state_store.save_progress(self.obj.name, progress, now=utc_now(), commit=False)
        self.destination.commit()

    def _progress(self, pages: int, pages_total: int | None, records: int) -> None:
        now = self.clock()
        if pages_total is not None and pages < pages_total and now - self._last_log < PROGRESS_EVERY_SECONDS:
            return
        self._last_log = now
        rate = pages / max(now - self._started, 1e-6)
        left = f"{(pages_total - pages) / rate:.0f} s" if pages_total and rate > 0 else "unknown"
        log.info(
            "%s: page %d/%s — %d records — ETA %s — %s",
            self.obj.name,
            pages,
            pages_total if pages_total is not None else "?",
            records,
            left,
            self.hook._quota_text(self.obj.path),
        )

    @staticmethod
    def _refuse_partial(page: CrmPage, where: str) -> None:
        if page.partial:
            raise IncompleteReadError(
                f"Apollo answered {where} with partial_results_only=true: the read cannot be taken as "
                "complete, so the cursor did not move. Run the export again later; if it persists, "
                "narrow the data (stages) or ask Apollo support what limits the search."
            )

    # ------------------------------------------------------------------ incremental
    def _incremental(self, cursor: str) -> ExportResult | None:
        """Newest first down to ``cursor - lookback``; ``None`` when the changes exceed the cap."""
        since = instant(cursor)
        assert since is not None, f"unreadable cursor {cursor!r}"
        floor = since - self.lookback
        filters = {"sort_by_field": self.obj.updated_sort, "sort_ascending": False}
        newest: datetime | None = None
        records = 0
        for number in range(1, reachable() // PAGE_SIZE + 1):
            page = self.hook.crm_page(self.obj, filters, number)
            self._refuse_partial(page, f"page {number} of {self.obj.path}")
            times = [instant(r.get("updated_at")) for r in page.records]
            # Ties with the floor are kept (>=): a record updated in the cursor's millisecond is read.
            fresh = [r for r, t in zip(page.records, times, strict=True) if t is None or t >= floor]
            self._write(fresh)
            self._flush(force=False)
            records += len(fresh)
            known = [t for t in times if t is not None]
            if known and (newest is None or max(known) > newest):
                newest = max(known)
            self._progress(number, None, records)
            crossed = len(fresh) < len(page.records)
            ended = len(page.records) < PAGE_SIZE or (
                page.total_entries is not None and number * PAGE_SIZE >= page.total_entries
            )
            if crossed or ended:
                self._flush()
                new_cursor = iso(newest) if newest is not None and newest > since else cursor
                self.state_store.complete(self.obj.name, cursor=new_cursor, now=utc_now())
                return ExportResult(
                    self.obj.name,
                    "incremental",
                    True,
                    records=records,
                    pages=number,
                    cursor=self.state_store.load(self.obj.name).cursor,
                )
        return None

    # ------------------------------------------------------------------ full read
    def _plan(self) -> ReadPlan:
        """Page 1 of the whole query, then of each split value when over the cap."""
        whole = self.hook.crm_page(self.obj, sort_filters(self.obj, ascending=True), 1)
        self._refuse_partial(whole, f"page 1 of {self.obj.path}")
        total = whole.total_entries if whole.total_entries is not None else len(whole.records)
        cursor_at_start = self._newest_updated_at() if self.obj.updated_sort else None
        if total <= reachable() or self.obj.split is None:
            plan = ReadPlan(total, [one_slice(self.obj, "all", {}, total)], cursor_at_start=cursor_at_start)
            if total <= reachable():
                self._write(whole.records)  # page 1 of the only slice: already paid for
                plan.next_page, plan.read = 2, [len(whole.records)]
            return plan
        split = self.obj.split
        values = [
            str(v["id"])
            for v in self.hook.crm_list(
                CrmObject(
                    split.values_key, split.values_path, "GET", split.values_key, "snapshot", (), paged=False
                )
            )
        ]
        totals, firsts = [], []
        for value in values:
            filters = {split.filter: [value], **sort_filters(self.obj, ascending=True)}
            first = self.hook.crm_page(self.obj, filters, 1)
            self._refuse_partial(first, f"page 1 of {self.obj.path} ({split.filter}={value})")
            totals.append(first.total_entries or 0)
            firsts.append(len(first.records))
            self._write(first.records)  # each slice's page 1 is data: paid once, written once
        plan = ReadPlan(total, split_slices(self.obj, total, values, totals), cursor_at_start=cursor_at_start)
        for piece in plan.slices:
            piece.first_done = True
        plan.read = firsts
        return plan

    def _newest_updated_at(self) -> str | None:
        page = self.hook.crm_page(
            self.obj, {"sort_by_field": self.obj.updated_sort, "sort_ascending": False}, 1
        )
        known = [t for t in (instant(r.get("updated_at")) for r in page.records) if t is not None]
        return iso(max(known)) if known else None

    def _full(self, state: ExportState) -> ExportResult:
        resumed = state.progress.get("mode") == "full"
        # A resumed read saw only part of the ids, so it cannot tell what is missing: no delete marks.
        wants_deletes = not resumed and (self.obj.mode == "snapshot" or self.reconcile)
        self._seen = set() if wants_deletes else None
        plan = ReadPlan.from_progress(state.progress) if resumed else self._plan()
        if resumed:
            log.info(
                "%s: continuing an unfinished full read at page %d of %d.",
                self.obj.name,
                plan.pages_done + 1,
                plan.pages_total,
            )
        while len(plan.read) < len(plan.slices):
            plan.read.append(0)
        records = sum(plan.read)
        try:
            while plan.slice_index < len(plan.slices):
                piece = plan.slices[plan.slice_index]
                records += self._read_slice(plan, piece)
                plan.slice_index, plan.next_page = plan.slice_index + 1, 1
                self._flush(plan.to_progress())
        except ApolloQuotaExhaustedError as error:
            self._flush(plan.to_progress())  # every page read so far is whole and written
            raise type(error)(
                f"{error} The {self.obj.name} export saved its progress ({plan.pages_done} of "
                f"{plan.pages_total} pages, {records} records): the next run continues from there.",
                endpoint=error.endpoint,
                retry_after=error.retry_after,
                window=error.window,
            ) from None
        self._check_totals(plan)
        deleted = self._mark_missing(plan.total) if self._seen is not None else 0
        done = self.state_store.complete(self.obj.name, cursor=plan.cursor_at_start, now=utc_now())
        return ExportResult(
            self.obj.name,
            "reconcile" if self.reconcile else "full",
            True,
            deleted=deleted,
            records=records,
            pages=plan.pages_total,
            cursor=done.cursor,
        )

    def _read_slice(self, plan: ReadPlan, piece: Slice) -> int:
        """Pages from ``plan.next_page`` to the slice's end, concurrently, each written then saved."""
        two_ended = piece.tail_pages > 0
        ids: set[str] = set()
        written = 0
        for part_first, part_last in ((1, piece.pages), (piece.pages + 1, piece.pages + piece.tail_pages)):
            start = max(plan.next_page, part_first, 2 if piece.first_done else 1)
            if start > part_last:
                continue
            plan.next_page = start
            filters, sent_first = page_request(self.obj, piece, start)
            for page in self.hook.iter_crm_pages(
                self.obj, filters, first=sent_first, last=sent_first + part_last - start
            ):
                self._refuse_partial(page, f"page {page.number} of {self.obj.path} ({piece.label})")
                self._write(page.records)
                fresh = len(page.records)
                if two_ended:  # the two ends overlap: count each id once
                    page_ids = {str(r["id"]) for r in page.records}
                    fresh = len(page_ids - ids)
                    ids.update(page_ids)
                written += fresh
                plan.read[plan.slice_index] += fresh
                plan.next_page += 1
                self._flush(plan.to_progress(), force=False)
                self._progress(plan.pages_done, plan.pages_total, sum(plan.read))
        return written

    def _check_totals(self, plan: ReadPlan) -> None:
        """Every slice yielded what its total said, and the slices add up to the whole."""
        short = [(s.label, n, s.total) for s, n in zip(plan.slices, plan.read, strict=True) if n < s.total]
        if short or sum(s.total for s in plan.slices) != plan.total:
            self.state_store.save_progress(self.obj.name, {}, now=utc_now())
            raise IncompleteReadError(
                f"The {self.obj.name} read does not add up: slices {short or 'all read'}; slice totals "
                f"{sum(s.total for s in plan.slices):,} for a whole of {plan.total:,}. Records changed "
                "during the read (deletes move records between pages): the cursor did not move and no "
                "delete was marked; run the export again."
            )

    # ------------------------------------------------------------------ deletes and lookups
    def _mark_missing(self, total: int | None) -> int:
        """Confirm every live row absent from the read, then mark the confirmed ones deleted.

        :param total: the records the read should have seen; when the distinct ids seen differ,
            nothing is marked (an absence proves nothing after a read that did not see everything).
        """
        assert self._seen is not None
        self._flush()
        if total is not None and len(self._seen) != total:
            log.warning(
                "%s: the read saw %d distinct ids for a total of %d: no delete is marked this run.",
                self.obj.name,
                len(self._seen),
                total,
            )
            return 0
        missing = [i for i in self.destination.live_ids(self.spec) if i not in self._seen]
        if not missing:
            return 0
        if self.obj.record_path is None:
            # No endpoint to ask: a complete snapshot without the id is the only evidence there is.
            return self.destination.mark_deleted(self.spec, missing, deleted_at=utc_now())
        gone, back = [], []
        for record_id in missing:
            record = self.hook.crm_record_or_none(self.obj, record_id)
            (gone.append(record_id) if record is None else back.append(record))
        if back:
            log.warning(
                "%s: %d records absent from the read still exist in Apollo: written again, not marked.",
                self.obj.name,
                len(back),
            )
            self._write(back)
            self._flush()
        return self.destination.mark_deleted(self.spec, gone, deleted_at=utc_now())

    def _lookup_run(self) -> ExportResult:
        self._seen = set()
        records = self.hook.crm_list(self.obj)
        self._write(records)
        self._flush()
        deleted = self._mark_missing(None)
        self.state_store.complete(self.obj.name, cursor=None, now=utc_now())
        return ExportResult(self.obj.name, "snapshot", True, deleted=deleted, records=len(records), pages=1)
