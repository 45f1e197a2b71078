"""What one export run reports, the table of an object, and Apollo's timestamps read and written."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from airflow_provider_apollo._api.crm_objects import CrmObject
from airflow_provider_apollo._warehouse.records import Column, TableSpec


def table_spec(obj: CrmObject) -> TableSpec:
    """The destination table of ``obj``."""
    return TableSpec(obj.table, tuple(Column(n, t, s) for n, t, s in obj.columns))


def utc_now() -> str:
    """Now, ISO-8601 UTC with milliseconds (Apollo's format)."""
    return iso(datetime.now(timezone.utc))


def iso(moment: datetime) -> str:
    """``moment`` as ``2026-01-02T03:04:05.678Z``."""
    return (
        moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def instant(value: Any) -> datetime | None:
    """A record's timestamp, or ``None`` when it has none that parses."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclass
class ExportResult:
    """What one run did, for XCom and the asset event."""

    object: str
    mode: str
    complete: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    records: int = 0
    pages: int = 0
    calls: int = 0
    cursor: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)
