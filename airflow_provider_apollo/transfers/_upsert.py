"""The warehouse -> Apollo upsert: rows in, only the differences out, a result for every row.

Per chunk of rows (memory holds one chunk):

1. each row is checked and turned into Apollo values (:func:`desired_fields`); a bad cell makes
   the row ``invalid`` (reason and column) and it is never sent; a match key seen earlier in
   the run makes the later row ``invalid`` too (two rows cannot both own one record);
2. the current records of the chunk's keys are read (:class:`CurrentRecords`, 0 credits);
3. each row is planned: no record -> create; a record -> the fields that differ
   (:func:`changes`), or ``unchanged`` when none do;
4. creates go in ``bulk_create`` batches of 100 (``run_dedupe``: contacts converge after a lost
   answer by looking before resending; accounts are deduplicated by domain), updates in
   ``bulk_update`` batches of 100 carrying only the changed fields; the batches are in flight
   together (the hook's quota tracker admits each request). A created record that Apollo's
   dedupe answered with an existing one is diffed again and updated when it differs.
5. A batch Apollo refuses (422) is split and its rows sent one by one, so one bad row fails
   alone with Apollo's error; any other failure marks the batch's rows ``failed`` with the error
   (Apollo's bulk writes are all-or-nothing), and the other batches go on.

A re-run of the same rows therefore sends no write, and a retried task converges.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from airflow_provider_apollo._api.batching import chunked
from airflow_provider_apollo._api.crm_upsert import (
    CREATE_BATCH,
    UPDATE_BATCH,
    FieldMapping,
    InvalidCell,
    changed_names,
    changes,
    desired_fields,
    match_value,
    record_match_values,
)
from airflow_provider_apollo.exceptions import ApolloError, ApolloValidationError
from airflow_provider_apollo.transfers._upsert_lookup import AMBIGUOUS, CurrentRecords, load_vocabulary

if TYPE_CHECKING:
    from airflow_provider_apollo._warehouse.report import ReportWriter
    from airflow_provider_apollo.hooks.apollo import ApolloHook

log = logging.getLogger(__name__)

STATUSES = ("created", "updated", "unchanged", "invalid", "failed", "would_create", "would_update")
#: Created ids returned in XCom at most (the report holds every one).
MAX_IDS_IN_RESULT = 1_000


@dataclass
class UpsertResult:
    """What a run did: counts per status, calls and writes, and (dry run) a sample of the plan."""

    object: str
    dry_run: bool
    rows: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    calls: int = 0
    writes: int = 0
    lookup: str = ""
    report: str | None = None
    sample: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {"create": [], "update": []})
    created_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The XCom value (small, JSON-serialisable)."""
        counts = {k: v for k, v in self.counts.items() if v or not k.startswith("would_")}
        answer: dict[str, Any] = {
            "object": self.object,
            "dry_run": self.dry_run,
            "rows": self.rows,
            **counts,
            "calls": self.calls,
            "writes": self.writes,
            "lookup": self.lookup,
            "report": self.report,
            "created_ids": self.created_ids[:MAX_IDS_IN_RESULT],
            "created_ids_complete": len(self.created_ids) <= MAX_IDS_IN_RESULT,
        }
        if self.dry_run:
            answer["sample"] = self.sample
        return answer


@dataclass
class _Planned:
    number: int
    key: str
    wanted: dict[str, Any]
    record_id: str | None = None
    update: dict[str, Any] = field(default_factory=dict)


class Upsert:
    """One run of the upsert.

    :param hook: the Apollo hook (its quota tracker paces every call).
    :param mapping: the checked field map and match key.
    :param dry_run: read and diff only; report what would be written.
    :param report: where the per-row results go, or ``None``.
    :param sample_size: planned creates and updates kept as the dry run's sample.
    """

    def __init__(
        self,
        hook: ApolloHook,
        mapping: FieldMapping,
        *,
        dry_run: bool = False,
        report: ReportWriter | None = None,
        sample_size: int = 5,
    ) -> None:
        self.hook = hook
        self.mapping = mapping
        self.obj = mapping.obj
        self.dry_run = dry_run
        self.report = report
        self.sample_size = sample_size
        self.result = UpsertResult(mapping.obj.name, dry_run, report=report.target if report else None)
        self.seen: dict[str, int] = {}
        self._writes = 0
        self._lock = threading.Lock()

    def run(self, chunks: Iterable[list[dict[str, Any]]]) -> UpsertResult:
        """Upsert every chunk; the counts, calls and writes."""
        start_calls = self.hook.requests_sent
        vocabulary = load_vocabulary(self.hook, self.mapping)
        self.vocabulary = vocabulary
        self.custom_names = {fid: name for name, (fid, _) in vocabulary.custom.items()}
        self.current = CurrentRecords(self.hook, self.mapping, vocabulary)
        number = 0
        for chunk in chunks:
            results = self._chunk(chunk, number)
            number += len(chunk)
            for row in results:
                self.result.counts[row["status"]] += 1
            self.result.rows = number
            if self.report is not None:
                self.report.write(results)
            log.info(
                "%s upsert: %d rows done — %s — %d calls so far",
                self.obj.name,
                number,
                ", ".join(f"{v} {k}" for k, v in self.result.counts.items() if v),
                self.hook.requests_sent - start_calls,
            )
        self.result.calls = self.hook.requests_sent - start_calls
        self.result.writes = self._writes
        self.result.lookup = self.current.strategy
        return self.result

    # ------------------------------------------------------------------ one chunk
    def _chunk(self, rows: Sequence[Mapping[str, Any]], offset: int) -> list[dict[str, Any]]:
        results: dict[int, dict[str, Any]] = {}
        planned: list[_Planned] = []
        for position, row in enumerate(rows, start=offset + 1):
            try:
                wanted = desired_fields(self.mapping, self.vocabulary, row)
                key = match_value(self.mapping, wanted, self.vocabulary)
            except InvalidCell as bad:
                key_cell = row.get(self.mapping.match_column)
                results[position] = _row(position, key_cell, "invalid", column=bad.column, reason=bad.reason)
                continue
            if key in self.seen:
                results[position] = _row(
                    position,
                    key,
                    "invalid",
                    column=self.mapping.match_column,
                    reason=f"the match key repeats row {self.seen[key]} (a record is written once per run)",
                )
                continue
            self.seen[key] = position
            planned.append(_Planned(position, key, wanted))
        found = self.current.find([p.key for p in planned])
        creates: list[_Planned] = []
        updates: list[_Planned] = []
        for item in planned:
            record = found.get(item.key)
            if record == AMBIGUOUS:
                results[item.number] = _row(
                    item.number,
                    item.key,
                    "failed",
                    error=f"several {self.obj.name} in Apollo have this {self.mapping.match_on}; merge them "
                    "in Apollo, or match on a key that is unique",
                )
            elif record is None:
                invalid = self._cannot_create(item)
                if invalid:
                    results[item.number] = _row(item.number, item.key, "invalid", **invalid)
                else:
                    creates.append(item)
            else:
                assert isinstance(record, dict)
                item.record_id = str(record["id"])
                item.update = changes(self.obj, item.wanted, record)
                if item.update:
                    updates.append(item)
                else:
                    results[item.number] = _row(item.number, item.key, "unchanged", record_id=item.record_id)
        if self.dry_run:
            self._plan_only(creates, updates, results)
        else:
            self._write(creates, updates, results)
        return [results[n] for n in sorted(results)]

    def _cannot_create(self, item: _Planned) -> dict[str, Any] | None:
        if self.mapping.match_on == "id":
            return {
                "column": self.mapping.match_column,
                "reason": f"Apollo has no {self.obj.singular} with this id (deleted, or another team's)",
            }
        if self.obj.name == "accounts" and not (item.wanted.get("name") or item.wanted.get("domain")):
            return {"column": None, "reason": "a new account needs a name or a domain"}
        return None

    def _plan_only(
        self, creates: list[_Planned], updates: list[_Planned], results: dict[int, dict[str, Any]]
    ) -> None:
        for item in creates:
            results[item.number] = _row(item.number, item.key, "would_create", changed=sorted(item.wanted))
            if len(self.result.sample["create"]) < self.sample_size:
                self.result.sample["create"].append({"row": item.number, "fields": item.wanted})
        for item in updates:
            names = changed_names(item.update, self.custom_names)
            results[item.number] = _row(
                item.number, item.key, "would_update", record_id=item.record_id, changed=names
            )
            if len(self.result.sample["update"]) < self.sample_size:
                self.result.sample["update"].append(
                    {"row": item.number, "id": item.record_id, "changes": item.update}
                )

    # ------------------------------------------------------------------ writes
    def _write(
        self, creates: list[_Planned], updates: list[_Planned], results: dict[int, dict[str, Any]]
    ) -> None:
        jobs: list[Callable[[], list[dict[str, Any]]]] = []
        jobs += [partial(self._create_batch, list(batch)) for batch in chunked(creates, CREATE_BATCH)]
        jobs += [partial(self._update_batch, list(batch)) for batch in chunked(updates, UPDATE_BATCH)]
        followups: list[_Planned] = []
        for outcome in self._run_jobs(jobs):
            for row in outcome:
                if row.pop("_followup", None) is not None:
                    followups.append(row.pop("_item"))
                else:
                    results[row["row"]] = row
        if followups:
            # Apollo's dedupe answered existing records that differ from the rows: update them.
            jobs = [partial(self._update_batch, list(batch)) for batch in chunked(followups, UPDATE_BATCH)]
            for outcome in self._run_jobs(jobs):
                for row in outcome:
                    results[row["row"]] = row

    def _run_jobs(self, jobs: list[Callable[[], list[dict[str, Any]]]]) -> list[list[dict[str, Any]]]:
        if len(jobs) <= 1:
            return [job() for job in jobs]
        width = min(len(jobs), max(1, self.hook.config.max_concurrency))
        with ThreadPoolExecutor(max_workers=width) as pool:
            return list(pool.map(lambda job: job(), jobs))

    def _count_write(self) -> None:
        with self._lock:
            self._writes += 1

    def _create_batch(self, batch: list[_Planned]) -> list[dict[str, Any]]:
        bodies = [dict(item.wanted) for item in batch]
        try:
            self._count_write()
            if self.obj.name == "contacts":
                records = self.hook.bulk_create_contacts(bodies, run_dedupe=True)
            else:
                records = self.hook.bulk_create_accounts(bodies, run_dedupe=True)
        except ApolloValidationError as error:
            if len(batch) > 1:
                return [row for item in batch for row in self._create_batch([item])]
            return [_failed(item, error) for item in batch]
        except ApolloError as error:
            return [_failed(item, error) for item in batch]
        out: list[dict[str, Any]] = []
        # Each row takes the answered record carrying its own key, never one by position: an
        # answer Apollo reordered, or a field Apollo dropped (an email it found invalid), must not
        # give a row another row's record.
        answered = {record_match_values(self.mapping, r, self.vocabulary): r for r in records}
        for item in batch:
            record = answered.get(item.key)
            if record is None:
                missing = (
                    f"Apollo's answer has no {self.obj.singular} with this {self.mapping.match_on} (it may "
                    "have refused or changed the value); check the row, then re-run"
                )
                out.append(_row(item.number, item.key, "failed", error=missing))
                continue
            item.record_id = str(record["id"])
            self.current.remember(item.key, record)
            item.update = changes(self.obj, item.wanted, record)
            if item.update:
                out.append({"row": item.number, "_followup": True, "_item": item})
            else:
                with self._lock:
                    self.result.created_ids.append(item.record_id)
                created = _row(item.number, item.key, "created", record_id=item.record_id)
                out.append({**created, "changed": sorted(item.wanted)})
        return out

    def _update_batch(self, batch: list[_Planned]) -> list[dict[str, Any]]:
        entries = [{"id": item.record_id, **item.update} for item in batch]
        try:
            self._count_write()
            if self.obj.name == "contacts":
                self.hook.bulk_update_contacts(entries)
            else:
                self.hook.bulk_update_accounts(entries)
        except ApolloValidationError as error:
            if len(batch) > 1:
                return [row for item in batch for row in self._update_batch([item])]
            return [_failed(item, error) for item in batch]
        except ApolloError as error:
            return [_failed(item, error) for item in batch]
        return [
            _row(
                item.number,
                item.key,
                "updated",
                record_id=item.record_id,
                changed=changed_names(item.update, self.custom_names),
            )
            for item in batch
        ]


def _row(
    number: int,
    key: Any,
    status: str,
    *,
    record_id: str | None = None,
    changed: list[str] | None = None,
    column: str | None = None,
    reason: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "row": number,
        "key": None if key is None else str(key),
        "status": status,
        "id": record_id,
        "changed": changed,
        "column": column,
        "reason": reason,
        "error": error,
    }


def _failed(item: _Planned, error: ApolloError) -> dict[str, Any]:
    return _row(item.number, item.key, "failed", record_id=item.record_id, error=str(error))
