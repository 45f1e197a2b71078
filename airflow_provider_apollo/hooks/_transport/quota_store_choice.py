"""Which quota store a connection asks for (extra ``quota_store``), built from plain values.

* a directory (default ``$AIRFLOW_HOME/apollo-quota``): :class:`~.quota_store.SqliteQuotaStore`,
  every process of the host;
* ``redis:<redis connection id>``: :class:`~.quota_store_redis.RedisQuotaStore`, every host;
* ``none``: no shared store (the tracker keeps its knowledge in this process's memory).
"""

from __future__ import annotations

from pathlib import Path

from airflow_provider_apollo.hooks._transport.quota_store import (
    LEASE_MARGIN_SECONDS,
    QuotaStore,
    RedisStoreRef,
    SqliteQuotaStore,
)
from airflow_provider_apollo.hooks._transport.quota_store_redis import RedisQuotaStore


def quota_store_for(
    api_key: str, location: Path | RedisStoreRef | None, *, timeout: float
) -> QuotaStore | None:
    """The shared store a connection asks for, or ``None`` for none.

    A lease lasts the connection's timeout plus a margin: by then the request has failed.
    Nothing is opened here: a store connects at its first update.

    :param api_key: the connection's key; only its salted hash names the store.
    :param location: the connection's ``quota_store``: a directory, a Redis connection, ``None``.
    :param timeout: the connection's request timeout in seconds.
    """
    lease_seconds = timeout + LEASE_MARGIN_SECONDS
    if location is None:
        return None
    if isinstance(location, RedisStoreRef):
        return RedisQuotaStore(location.conn_id, api_key, lease_seconds=lease_seconds)
    return SqliteQuotaStore.for_key(api_key, location, lease_seconds=lease_seconds)
