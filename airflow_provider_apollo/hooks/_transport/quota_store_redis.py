"""The quota store every host of a deployment shares: Redis, through an Airflow ``redis`` connection.

Selected with the connection extra ``{"quota_store": "redis:<redis connection id>"}``. A
CeleryExecutor with workers on several machines, or a KubernetesExecutor with a pod per task,
has no file every process can open; Redis is the store they all reach.

Same record, same decisions as the SQLite store (``quota_store.py``): the tracker's
``change(record, now)`` decides, and one Lua script saves its result atomically:

* each endpoint's record is one Redis hash ``apollo-quota:{<salted hash of the key>}:<endpoint>``
  with a version token ``v`` and the record as JSON ``r``; the API key is never stored, only
  its salted hash names the keys (the same hash the SQLite file is named by);
* the script compares the version the tracker decided from with the stored one: equal, it
  saves the new record under a new version; different (another process wrote in between), it
  answers the current record, and the tracker decides again on it. An uncontended update is
  one round trip: the tracker decides on the record it saw last;
* ``now`` is Redis' own ``TIME``, read inside the script and carried to the tracker with every
  answer (plus the local time elapsed since), so hosts need no clock agreement;
* every key expires ``RECORD_TTL_SECONDS`` after its last write (longer than a day window can
  stay closed), so nothing leaks when a key or an endpoint is no longer used.

The script is sent by ``EVALSHA`` and loaded again when Redis does not know it (a restart,
``SCRIPT FLUSH``): redis-py's ``Script`` does exactly that.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_apollo.hooks._transport.quota_store import (
    DEFAULT_LEASE_SECONDS,
    EndpointRecord,
    Lease,
    QuotaStoreError,
    WindowRecord,
    key_digest,
)

if TYPE_CHECKING:
    from redis import Redis

_T = TypeVar("_T")

#: A record outlives the longest a window can stay closed (a day) by an hour.
RECORD_TTL_SECONDS = 25 * 3600
#: Seconds to connect to or wait for Redis before the store is declared unreachable.
REDIS_TIMEOUT_SECONDS = 5.0
#: Decisions retried on a fresher record before giving up (only under extreme contention).
MAX_ATTEMPTS = 50
# Never a stored version: makes the script answer the current record without writing.
_READ_ONLY = "?"

# KEYS[1]: the record's hash. ARGV: the version decided from ("" for no record), the new record
# (JSON), its new version, the time to live in ms. Answers {saved 1|0, version, record, seconds,
# microseconds}: the record only when not saved (the caller decides again on it).
_COMPARE_AND_SET = """
if redis.replicate_commands then redis.replicate_commands() end -- Redis < 5: TIME before a write
local clock = redis.call('TIME')
local stored = redis.call('HMGET', KEYS[1], 'v', 'r')
local version = stored[1] or ''
if version == ARGV[1] then
    redis.call('HSET', KEYS[1], 'v', ARGV[3], 'r', ARGV[2])
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
    return {1, ARGV[3], '', clock[1], clock[2]}
end
return {0, version, stored[2] or '', clock[1], clock[2]}
"""


@dataclass(frozen=True)
class _Seen:
    """The last version of a record this process saw, and when (Redis' clock and ours)."""

    version: str
    record: str
    redis_time: float
    local_time: float


def redis_key_prefix(api_key: str) -> str:
    """``apollo-quota:{<salted hash>}:``: the braces keep one key's records in one cluster slot.

    :param api_key: the API key or OAuth token (only its salted hash is used).
    """
    return f"apollo-quota:{{{key_digest(api_key)}}}:"


def encode_record(record: EndpointRecord) -> str:
    """The record as compact JSON (numbers and lease ids only; nothing secret)."""
    return json.dumps(
        {
            "w": {name: [w.limit, w.left, w.reopen_at] for name, w in record.windows.items()},
            "l": {
                key: [lease.expires_at, int(lease.probe), lease.slots] for key, lease in record.leases.items()
            },
        },
        separators=(",", ":"),
    )


def decode_record(text: str) -> EndpointRecord:
    """The record :func:`encode_record` wrote (an empty record for an empty text)."""
    record = EndpointRecord()
    if not text:
        return record
    data = json.loads(text)
    for name, (limit, left, reopen_at) in data.get("w", {}).items():
        record.windows[name] = WindowRecord(limit=limit, left=left, reopen_at=reopen_at)
    for key, (expires_at, probe, slots) in data.get("l", {}).items():
        record.leases[key] = Lease(expires_at=expires_at, probe=bool(probe), slots=slots)
    return record


class RedisQuotaStore:
    """Records shared by every process of every host that uses one key, in Redis.

    :param redis_conn_id: the Airflow connection of type ``redis`` (named in error messages).
    :param api_key: the Apollo key; only its salted hash names the Redis keys.
    :param lease_seconds: how long a request in flight counts without reporting back.
    :param client: a ready Redis client (tests); by default built from the connection by
        ``RedisHook`` at first use.
    """

    shared = True

    def __init__(
        self,
        redis_conn_id: str,
        api_key: str,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        client: Redis | None = None,
    ) -> None:
        self.redis_conn_id = redis_conn_id
        self.lease_seconds = lease_seconds
        self._prefix = redis_key_prefix(api_key)
        self._client = client
        self._script: Any = None
        self._lock = threading.Lock()
        self._seen: dict[str, _Seen] = {}

    def __repr__(self) -> str:
        return f"RedisQuotaStore(redis_conn_id={self.redis_conn_id!r})"

    def key(self, endpoint: str) -> str:
        """The Redis key of ``endpoint``'s record."""
        return f"{self._prefix}{endpoint}"

    def _unreachable(self, exc: BaseException) -> QuotaStoreError:
        return QuotaStoreError(
            f"the Apollo quota store in Redis (Airflow connection '{self.redis_conn_id}') cannot be "
            f"used: {type(exc).__name__}: {exc}. Check that this Airflow connection exists, that Redis "
            "runs, and that the connection's host, port, password and db reach it from this worker"
        )

    def _compare_and_set(self) -> Any:
        """The registered script (EVALSHA, loaded again when Redis lost it), built at first use."""
        if self._script is None:
            try:
                if self._client is None:
                    from airflow.providers.redis.hooks.redis import RedisHook

                    client = RedisHook(redis_conn_id=self.redis_conn_id).get_conn()
                    # RedisHook sets no timeouts: an unreachable Redis would hang the task.
                    client.connection_pool.connection_kwargs.update(
                        socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
                    )
                    self._client = client
                self._script = self._client.register_script(_COMPARE_AND_SET)
            except ImportError as exc:
                raise QuotaStoreError(
                    "the quota store 'redis:' needs apache-airflow-providers-redis: install "
                    "airflow-provider-apollo[redis]"
                ) from exc
            except Exception as exc:  # the connection lookup or the client's construction
                raise self._unreachable(exc) from exc
        return self._script

    def update(
        self, endpoint: str, change: Callable[[EndpointRecord, float], _T], clock: Callable[[], float]
    ) -> _T:
        """See :class:`~.quota_store.QuotaStore`: decide on the last record seen, save if unchanged.

        ``clock`` is not read: the time is Redis' own (see module docstring).
        """
        import redis.exceptions

        script = self._compare_and_set()
        key = self.key(endpoint)
        with self._lock:  # one process's threads decide one after the other, as with SQLite
            seen = self._seen.get(endpoint) or self._call(script, key, _READ_ONLY, "", endpoint)
            for _ in range(MAX_ATTEMPTS):
                record = decode_record(seen.record)
                result = change(record, seen.redis_time + (time.monotonic() - seen.local_time))
                text, version = encode_record(record), uuid.uuid4().hex
                try:
                    seen = self._call(script, key, seen.version, text, endpoint, new_version=version)
                except redis.exceptions.ResponseError as exc:
                    raise QuotaStoreError(
                        f"the Apollo quota store in Redis refused an update: {exc}"
                    ) from exc
                if seen.version == version:
                    return result
            raise QuotaStoreError(
                f"the Apollo quota store in Redis (connection '{self.redis_conn_id}') kept changing under "
                f"{MAX_ATTEMPTS} attempts to admit a request to {endpoint}"
            )

    def _call(
        self, script: Any, key: str, expected: str, text: str, endpoint: str, *, new_version: str = ""
    ) -> _Seen:
        import redis.exceptions

        try:
            saved, version, stored, seconds, micros = script(
                keys=[key], args=[expected, text, new_version, int(RECORD_TTL_SECONDS * 1000)]
            )
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            self._seen.pop(endpoint, None)
            raise self._unreachable(exc) from exc
        local = time.monotonic()
        redis_time = int(seconds) + int(micros) / 1_000_000
        version = version.decode() if isinstance(version, bytes) else str(version)
        if int(saved):
            seen = _Seen(version=version, record=text, redis_time=redis_time, local_time=local)
        else:
            record = stored.decode() if isinstance(stored, bytes) else str(stored)
            seen = _Seen(version=version, record=record, redis_time=redis_time, local_time=local)
        self._seen[endpoint] = seen
        return seen
