"""The Asset an operator's ``output_path`` stands for, so other DAGs can be scheduled on it.

An operator given a literal ``output_path`` declares ``output_asset(output_path)`` as an
outlet: each successful run records an event of that Asset, and a DAG with
``schedule=[output_asset(same_path)]`` runs after it. The URI must be known when the DAG
file is parsed, so a templated path (``.../{{ ds }}.jsonl``) declares nothing: pass
``outlets=[Asset(...)]`` yourself.

The event's ``extra`` is what the operator returned, ``{"path", "count", ...counts}``: the
input the next operator takes as it is (``inlet_events[asset][-1].extra``).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Asset

#: Jinja's default delimiters: a path holding one is rendered at run time, not known at parse time.
_TEMPLATE = re.compile(r"{{|{%")


def is_templated(value: str) -> bool:
    """Whether ``value`` holds a Jinja expression or statement (rendered only at run time)."""
    return bool(_TEMPLATE.search(value))


def output_asset_uri(output_path: str) -> str | None:
    """The Asset URI of a literal output path, or ``None`` when there is none to declare.

    An absolute local path becomes a ``file://`` URI; an object-storage URL keeps its scheme,
    bucket and key, without the connection id that ``ObjectStoragePath`` reads from its user
    part (``s3://aws_default@bucket/key`` is the asset ``s3://bucket/key``: the data, not the
    credentials used to reach it). A templated or relative path has no URI: a relative path
    would name a different file on each machine that resolves it.
    """
    path = output_path.strip()
    if not path or is_templated(path):
        return None
    parts = urlsplit(path)
    if not parts.scheme or len(parts.scheme) == 1:  # no scheme, or a Windows drive letter
        local = PurePosixPath(path)
        return local.as_uri() if local.is_absolute() else None
    if parts.scheme in ("file", "local"):
        local = PurePosixPath(parts.path)
        return local.as_uri() if local.is_absolute() else None
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, ""))


def output_asset(output_path: str) -> Asset:
    """The Asset an operator declares for this literal ``output_path``: schedule a DAG on it.

    :param output_path: the same path or URL the producing operator was given.
    :raises ValueError: when the path is templated or relative (it has no fixed URI).
    """
    from airflow.providers.common.compat.sdk import Asset

    uri = output_asset_uri(output_path)
    if uri is None:
        raise ValueError(
            f"output_path {output_path!r} has no fixed Asset URI: it is templated or relative. Use an "
            "absolute path or an object-storage URL, or declare outlets=[Asset(...)] on the operator and "
            "schedule on that Asset."
        )
    return Asset(uri=uri)
