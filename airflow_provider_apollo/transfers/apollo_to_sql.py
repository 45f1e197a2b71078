"""Export Apollo CRM objects to a SQL database (and gzip JSON Lines on object storage).

``ApolloCrmExportOperator(object="contacts", sql_conn_id="apollo_warehouse")`` upserts the
object's records by Apollo id into ``apollo_<object>`` (created when missing) on any
``common.sql`` connection, reading only what changed where Apollo allows it (contacts, by
``updated_at`` with a lookback) and a content-hashed snapshot elsewhere, and emits an Asset
event (``crm_export_asset(object)``) whose extra says what changed. See the CRM export how-to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_apollo._api.crm_objects import CRM_OBJECTS, crm_object
from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.operators._base import ApolloBaseOperator
from airflow_provider_apollo.operators.assets import is_templated

if TYPE_CHECKING:
    from airflow.sdk import Asset, Context

DEFAULT_SQL_CONN_ID = "apollo_warehouse"
DEFAULT_LOOKBACK = timedelta(hours=1)
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "none", "")


def crm_export_asset(object: str) -> Asset:
    """The Asset an export of ``object`` updates: schedule a DAG on it ("contacts changed").

    :param object: an exportable object (``contacts``, ``accounts``...).
    """
    from airflow.sdk import Asset

    crm_object(object)
    return Asset(name=f"apollo_crm_{object}", uri=f"apollo://crm/{object}")


def as_flag(value: Any, argument: str) -> bool:
    """A boolean argument that may arrive rendered as text (``"True"``).

    :raises ApolloConfigurationError: naming ``argument`` for anything else.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in (*_TRUE, *_FALSE):
        return value.strip().lower() in _TRUE
    raise ApolloConfigurationError(f"{argument} must be true or false; got {value!r}.")


class ApolloCrmExportOperator(ApolloBaseOperator):
    """Export one Apollo CRM object to ``apollo_<object>`` on a SQL connection.

    Returns (and puts in its Asset event) ``{"object", "mode", "complete", "created",
    "updated", "unchanged", "deleted", "records", "pages", "calls", "cursor"}``. The cursor
    and an unfinished read's progress live in ``apollo_export_state`` on the same connection.

    :param object: ``contacts``, ``accounts``, ``opportunities``, ``tasks``, ``sequences``,
        ``users``, ``contact_stages``, ``account_stages`` or ``opportunity_stages``. (templated)
    :param sql_conn_id: a ``common.sql`` connection (SQLite, PostgreSQL, MySQL). (templated)
    :param export_path: also write gzip JSON Lines under this object-storage URL or absolute
        path (``s3://conn@bucket/apollo``); ``None``: SQL only. (templated)
    :param lookback: how far before the cursor an incremental read goes on (catches records
        whose update was stamped late; costs about lookback-worth of changes in reads).
    :param reconcile: read contacts in full and confirm deletes (``GET contacts/{id}``) before
        setting ``deleted_at``; snapshot objects confirm deletes on every run. (templated)
    :param schema: the schema to write in (PostgreSQL); default the connection's.
    """

    template_fields: Sequence[str] = ("apollo_conn_id", "object", "sql_conn_id", "export_path", "reconcile")
    ui_color = "#b3e0ff"

    def __init__(
        self,
        *,
        object: str,
        sql_conn_id: str = DEFAULT_SQL_CONN_ID,
        export_path: str | None = None,
        lookback: timedelta = DEFAULT_LOOKBACK,
        reconcile: bool | str = False,
        schema: str | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(object, str) and not is_templated(object) and "outlets" not in kwargs:
            kwargs["outlets"] = [crm_export_asset(object)]
        super().__init__(**kwargs)
        self.object = object
        self.sql_conn_id = sql_conn_id
        self.export_path = export_path
        self.lookback = lookback
        self.reconcile = reconcile
        self.schema = schema

    def execute(self, context: Context) -> dict[str, Any]:
        """Export, then attach what changed to the object's Asset event."""
        from airflow_provider_apollo._warehouse.sql import SqlDestination
        from airflow_provider_apollo.transfers._crm_export import CrmExport

        obj = crm_object(self.object)
        reconcile = as_flag(self.reconcile, "reconcile")
        if not isinstance(self.lookback, timedelta) or self.lookback < timedelta(0):
            raise ApolloConfigurationError(f"lookback must be a timedelta >= 0; got {self.lookback!r}.")
        export_path = self.export_path or None
        run_key = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(context.get("run_id") or "manual"))
        with SqlDestination(self.sql_conn_id, schema=self.schema) as destination:
            export = CrmExport(
                self.hook,
                obj,
                destination,
                lookback=self.lookback,
                export_path=export_path,
                run_key=run_key,
                reconcile=reconcile,
            )
            result = export.run().as_dict()
        self._emit(context, result)
        self.log_summary(
            f"{obj.name}: {result['created']} created, {result['updated']} updated, "
            f"{result['deleted']} deleted ({result['mode']})"
        )
        return result

    def _emit(self, context: Context, result: dict[str, Any]) -> None:
        from airflow.sdk import Asset

        events = context.get("outlet_events")
        if events is None:
            return
        for outlet in self.outlets:
            if isinstance(outlet, Asset):
                events[outlet].extra.update(result)


#: Every object the export knows, in the order an example DAG lists them.
EXPORTABLE_OBJECTS: tuple[str, ...] = tuple(CRM_OBJECTS)
