"""Writing large results to a file instead of XCom.

XCom lives in the metadata database and is not secret-masked, so operators whose output
can be large accept ``output_path`` and stream their records there as JSON Lines (one
JSON object per line) through ``ObjectStoragePath``: a local path or any object-storage
URL Airflow knows (``s3://conn_id@bucket/key``, ``gs://...``, ``file:///...``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_apollo.exceptions import ApolloConfigurationError


def write_json_lines(output_path: str, records: Iterable[Mapping[str, Any]]) -> tuple[str, int]:
    """Stream ``records`` to ``output_path`` one JSON line each; return (path, count).

    ``records`` is consumed lazily, so a paging iterator keeps memory flat. The file is
    opened only once the first record is available (or the iterator is exhausted), so a
    request that fails validation does not leave an empty file behind.
    """
    from airflow.sdk import ObjectStoragePath

    iterator = iter(records)
    first = next(iterator, None)

    path = ObjectStoragePath(output_path)
    if path.protocol in ("", "file", "local"):
        path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as stream:
        if first is not None:
            stream.write(_json_line(first))
            count = 1
        for record in iterator:
            stream.write(_json_line(record))
            count += 1
    return str(path), count


def checked_output_path(value: Any) -> str | None:
    """``output_path`` as given, or ``None``; refuses anything but a non-empty string."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApolloConfigurationError(
            f"output_path must be a file path or object-storage URL (e.g. 's3://aws_default@bucket/"
            f"people.jsonl'), or None to return the records through XCom; got {value!r}."
        )
    return value.strip()


def _json_line(record: Mapping[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
