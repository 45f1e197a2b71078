"""Upsert warehouse rows into Apollo contacts or accounts, writing only what changed.

``ApolloUpsertOperator(object="accounts", sql="SELECT ...", field_map={...}, match_on="domain")``
reads rows from a SQL query on any ``common.sql`` connection, a JSON Lines / CSV file on object
storage, or a list (XCom); reads Apollo's current records for their keys (0 credits); creates
the missing ones (``bulk_create``, deduplicated), updates only the changed fields of the others
(``bulk_update``) and leaves the rest alone, so a re-run sends no write. Every row gets a result
(created, updated, unchanged, invalid with the column and reason, failed with Apollo's error):
counts in XCom, every row in ``report_path`` / ``report_table``. See the warehouse -> Apollo how-to.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_apollo.exceptions import ApolloConfigurationError, ApolloError
from airflow_provider_apollo.operators._base import ApolloBaseOperator
from airflow_provider_apollo.transfers.apollo_to_sql import DEFAULT_SQL_CONN_ID, as_flag

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_apollo._warehouse.report import ReportWriter

#: The XCom key of the result when the task fails on rows (the return value is lost then).
RESULT_XCOM_KEY = "upsert_result"


class ApolloUpsertOperator(ApolloBaseOperator):
    """Make Apollo contacts or accounts match warehouse rows: create the missing, update the changed.

    Give exactly one source: ``sql`` (on ``sql_conn_id``), ``source_path`` or ``rows``.

    :param object: ``contacts`` or ``accounts``. (templated)
    :param field_map: ``{column: target}``; targets are the object's fields (``email``,
        ``first_name``, ``domain``, ``name``...), ``id``, ``stage`` (by name), ``owner`` (a user's
        email), ``labels`` (names, added) and ``custom:<custom field name>``. (templated)
    :param match_on: ``id``, ``email`` (contacts), ``domain`` (accounts) or
        ``custom_field:<name>`` (a custom field holding the warehouse's own id). (templated)
    :param sql: a ``SELECT`` (or a ``.sql`` file) whose columns are ``field_map``'s. (templated)
    :param sql_conn_id: the ``common.sql`` connection of ``sql``. (templated)
    :param source_path: a JSON Lines or CSV file (``.gz`` allowed), any fsspec URL. (templated)
    :param rows: a list of mappings, e.g. an upstream task's XCom. (templated)
    :param report_path: write one result per row here (``.jsonl`` or ``.csv``). (templated)
    :param report_table: or into this table on ``report_conn_id``. (templated)
    :param report_conn_id: the connection of ``report_table``; default ``sql_conn_id``. (templated)
    :param dry_run: read and diff, write nothing; return counts and a sample of the plan. (templated)
    :param fail_on_invalid: fail the task (after writing the valid rows and the report) when a
        row was invalid; default only report them.
    :param chunk_size: rows read and planned at a time (memory holds one chunk).
    :return: ``{"object", "dry_run", "rows", "created", "updated", "unchanged", "invalid",
        "failed", "calls", "writes", "lookup", "report", "created_ids", "created_ids_complete"}``
        (plus ``would_create``, ``would_update`` and ``sample`` in a dry run).
    """

    template_fields: Sequence[str] = (
        "apollo_conn_id",
        "object",
        "field_map",
        "match_on",
        "sql",
        "sql_conn_id",
        "source_path",
        "rows",
        "report_path",
        "report_table",
        "report_conn_id",
        "plan_only",
    )
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql", "field_map": "json"}
    ui_color = "#b3e0ff"

    def __init__(
        self,
        *,
        object: str,
        field_map: dict[str, str],
        match_on: str,
        sql: str | None = None,
        sql_conn_id: str = DEFAULT_SQL_CONN_ID,
        source_path: str | None = None,
        rows: Any = None,
        report_path: str | None = None,
        report_table: str | None = None,
        report_conn_id: str | None = None,
        dry_run: bool | str = False,
        fail_on_invalid: bool = False,
        chunk_size: int = 1_000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.object = object
        self.field_map = field_map
        self.match_on = match_on
        self.sql = sql
        self.sql_conn_id = sql_conn_id
        self.source_path = source_path
        self.rows = rows
        self.report_path = report_path
        self.report_table = report_table
        self.report_conn_id = report_conn_id
        # Stored as plan_only: BaseOperator.dry_run is a method (``airflow tasks test --dry-run``).
        self.plan_only = dry_run
        self.fail_on_invalid = fail_on_invalid
        self.chunk_size = chunk_size

    def _chunks(self) -> Iterator[list[dict[str, Any]]]:
        from airflow_provider_apollo._warehouse import rows as readers

        given = [name for name in ("sql", "source_path", "rows") if getattr(self, name) not in (None, "")]
        if len(given) != 1:
            raise ApolloConfigurationError(
                "Give exactly one source of rows: sql (with sql_conn_id), source_path or rows; "
                f"got {given or 'none'}."
            )
        if self.sql:
            return readers.sql_rows(self.sql_conn_id, str(self.sql), chunk_size=self.chunk_size)
        if self.source_path:
            return readers.file_rows(str(self.source_path), chunk_size=self.chunk_size)
        try:
            return readers.list_rows(self.rows, chunk_size=self.chunk_size)
        except ValueError as error:
            raise ApolloConfigurationError(str(error)) from None

    def _report(self, context: Context) -> ReportWriter | None:
        from airflow_provider_apollo._warehouse.report import FileReport, TableReport

        if self.report_path and self.report_table:
            raise ApolloConfigurationError("Give report_path or report_table, not both.")
        try:
            if self.report_path:
                return FileReport(str(self.report_path))
            if self.report_table:
                ti = context.get("ti")
                map_index = getattr(ti, "map_index", -1)
                task = (
                    self.task_id
                    if not isinstance(map_index, int) or map_index < 0
                    else f"{self.task_id}[{map_index}]"
                )
                return TableReport(
                    self.report_conn_id or self.sql_conn_id,
                    str(self.report_table),
                    str(context.get("run_id") or "manual"),
                    task,
                    int(getattr(ti, "try_number", 1) or 1),
                )
        except ValueError as error:
            raise ApolloConfigurationError(str(error)) from None
        return None

    def _execute(self, context: Context) -> dict[str, Any]:
        """Check the arguments, read, diff, write (unless a dry run), report; the counts."""
        from airflow_provider_apollo._api.crm_upsert import check_mapping, upsert_object
        from airflow_provider_apollo.transfers._upsert import Upsert

        mapping = check_mapping(upsert_object(self.object), self.field_map, self.match_on)
        dry_run = as_flag(self.plan_only, "dry_run")
        if not isinstance(self.chunk_size, int) or not 1 <= self.chunk_size <= 100_000:
            raise ApolloConfigurationError(
                f"chunk_size must be an integer 1..100000; got {self.chunk_size!r}."
            )
        chunks = self._chunks()
        report = self._report(context)
        try:
            result = Upsert(self.hook, mapping, dry_run=dry_run, report=report).run(chunks).as_dict()
        finally:
            if report is not None:
                report.close()
        creates = result.get("would_create", result["created"])
        updates = result.get("would_update", result["updated"])
        verbs = ("would create", "would update") if dry_run else ("created", "updated")
        self.log_summary(
            f"{mapping.obj.name}: {result['rows']} rows — {creates} {verbs[0]}, {updates} {verbs[1]}, "
            f"{result['unchanged']} unchanged, {result['invalid']} invalid, {result['failed']} failed; "
            f"{result['writes']} write requests; records found {result['lookup']}"
        )
        problems = result["failed"] + (result["invalid"] if self.fail_on_invalid else 0)
        if problems:
            ti = context.get("ti")
            if ti is not None:
                ti.xcom_push(key=RESULT_XCOM_KEY, value=result)
            where = f" Every row's result is in {result['report']}." if result["report"] else ""
            raise ApolloError(
                f"{result['failed']} row(s) failed and {result['invalid']} were invalid; the other rows were "
                f"written.{where} A retry sends only the rows still different from Apollo (the written "
                f"ones are unchanged now); fix invalid rows in the source."
            )
        return result
