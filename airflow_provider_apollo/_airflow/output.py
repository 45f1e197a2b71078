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
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    iterator = iter(records)
    first = next(iterator, None)

    path = ObjectStoragePath(output_path)
    if path.protocol in ("", "file", "local"):
        path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    try:
        with path.open("w", encoding="utf-8") as stream:
            if first is not None:
                stream.write(_json_line(first))
                count = 1
            for record in iterator:
                stream.write(_json_line(record))
                count += 1
    except BaseException:
        # A failure while paging (quota, network) must not leave a half-written file that a
        # downstream task would read as the complete result.
        path.unlink(missing_ok=True)
        raise
    return str(path), count


def is_output_reference(value: Any) -> bool:
    """Whether ``value`` is what an operator returns after writing to ``output_path``."""
    return (
        isinstance(value, Mapping)
        and isinstance(value.get("path"), str)
        and isinstance(value.get("count"), int)
        and not isinstance(value.get("count"), bool)
    )


def read_json_lines(argument: str, reference: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The records an upstream operator wrote to ``output_path``, checked against its count.

    :param argument: the argument being read, for error messages.
    :param reference: ``{"path": ..., "count": ...}`` as returned by that operator.
    """
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    path = ObjectStoragePath(reference["path"])
    try:
        # read(), not iteration: Airflow 3.0's ObjectStoragePath file wrapper cannot be iterated.
        with path.open("r", encoding="utf-8") as stream:
            records = [json.loads(line) for line in stream.read().splitlines() if line.strip()]
    except FileNotFoundError:
        raise ApolloConfigurationError(
            f"{argument} points at {reference['path']!r}, which does not exist (any more). Re-run the "
            "upstream task that wrote it."
        ) from None
    except ValueError as error:
        raise ApolloConfigurationError(
            f"{argument} points at {reference['path']!r}, which is not JSON Lines ({error}). It should be "
            "a file written by one of this provider's operators through output_path."
        ) from None
    if len(records) != reference["count"]:
        raise ApolloConfigurationError(
            f"{argument} points at {reference['path']!r}, which holds {len(records)} records where the "
            f"upstream task wrote {reference['count']}: the file was changed or cut. Re-run that task."
        )
    return records


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
