"""Exported records as gzip JSON Lines through Airflow's ``ObjectStoragePath`` (any fsspec scheme).

Layout under ``export_path`` (``file:///data/apollo`` by default scheme, ``s3://conn@bucket/x``...)::

    <export_path>/<object>/<run_key>/part-00001.jsonl.gz   (at most ``records_per_part`` records each)
    <export_path>/<object>/<run_key>/_manifest.json         (written last: parts, records, cursor)

Parts are streamed: a page is compressed and written as it arrives, so memory stays flat. The
manifest is written only when the export completed; a folder without one is a cut run (object
stores have no atomic rename, so "the manifest exists" is the completeness signal, like Spark's
``_SUCCESS``). A run that continues a cut one appends new parts to the same folder.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_apollo._warehouse.records import canonical_json

MANIFEST = "_manifest.json"
DEFAULT_RECORDS_PER_PART = 50_000


def storage_path(url: str) -> Any:
    """``ObjectStoragePath(url)``; a bare absolute path is read as ``file://``."""
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    if "://" not in url:
        if not url.startswith("/"):
            raise ValueError(f"export_path {url!r} must be an absolute path or a URL (file://, s3://...).")
        url = f"file://{url}"
    return ObjectStoragePath(url)


class JsonLinesWriter:
    """Writes one object's records for one run as gzip JSON Lines parts, then a manifest.

    :param export_path: the root URL or absolute path.
    :param object_name: the exported object (a folder).
    :param run_key: the run's folder (e.g. the data interval's end, ``20260101T000000``).
    :param records_per_part: records per part before a new part starts.
    """

    def __init__(
        self,
        export_path: str,
        object_name: str,
        run_key: str,
        *,
        records_per_part: int = DEFAULT_RECORDS_PER_PART,
    ) -> None:
        if records_per_part < 1:
            raise ValueError(f"records_per_part must be >= 1; got {records_per_part!r}.")
        self.folder = storage_path(export_path) / object_name / run_key
        self.records_per_part = records_per_part
        self.records = 0
        self.parts: list[str] = []
        self._stream: Any = None
        self._raw: Any = None
        self._in_part = 0

    def _existing_parts(self) -> int:
        if not self.folder.exists():
            return 0
        return sum(1 for p in self.folder.iterdir() if p.name.startswith("part-"))

    def _open_part(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        number = self._existing_parts() + 1
        name = f"part-{number:05d}.jsonl.gz"
        self._raw = (self.folder / name).open("wb")
        self._stream = gzip.GzipFile(fileobj=self._raw, mode="wb")
        self.parts.append(name)
        self._in_part = 0

    def _close_part(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._raw.close()
            self._stream = self._raw = None

    def write(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Append ``records`` (one page); how many were written."""
        written = 0
        for record in records:
            if self._stream is None or self._in_part >= self.records_per_part:
                self._close_part()
                self._open_part()
            self._stream.write(canonical_json(record).encode("utf-8") + b"\n")
            self._in_part += 1
            written += 1
        self.records += written
        return written

    def finish(self, summary: Mapping[str, Any]) -> str:
        """Close the part and write the manifest (the export completed); the manifest's URL."""
        self._close_part()
        self.folder.mkdir(parents=True, exist_ok=True)
        parts = sorted(p.name for p in self.folder.iterdir() if p.name.startswith("part-"))
        manifest = {"parts": parts, "records_this_run": self.records, **summary}
        (self.folder / MANIFEST).write_text(json.dumps(manifest, sort_keys=True, indent=1))
        return str(self.folder / MANIFEST)

    def abort(self) -> None:
        """Close the open part without a manifest (the next run continues into this folder)."""
        self._close_part()


def read_jsonl(path: Any) -> Iterable[dict[str, Any]]:
    """The records of one gzip JSON Lines part (for readers and tests)."""
    with path.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as stream:
        for line in stream:
            if line.strip():
                yield json.loads(line)
