"""Where a :class:`~.quota.QuotaTracker` keeps what it knows of a key's windows.

Apollo counts calls per API key (per team), so every process using one key draws on the same
windows. A tracker keeps, per endpoint, an :class:`EndpointRecord`: each window's limit, the
fewest requests left any answer reported since the window last reopened, when a closed window
reopens, and the requests in flight (leases). Two stores hold such records:

* :class:`MemoryQuotaStore`: one process (the threads of one hook), the default without a
  shared store.
* :class:`SqliteQuotaStore`: every process of one host that uses the same key. One SQLite file
  per key in WAL mode under a directory (the connection extra ``quota_store``), named by a
  hash of the key, never the key: ``<directory>/<sha256(salt + key)[:16]>.sqlite``. Each
  operation is one short ``BEGIN IMMEDIATE`` transaction, so a decision (look, admit, lease)
  is atomic across processes.

* :class:`~.quota_store_redis.RedisQuotaStore`: every process of every host that uses the
  same key (connection extra ``quota_store: "redis:<redis connection id>"``).

Times in a record are absolute seconds on one clock every sharer reads: the tracker's wall
clock for memory and SQLite (one host), Redis' own ``TIME`` for Redis (hosts need no clock
agreement). A lease expires ``lease_seconds`` after it was granted, so a process that crashed
with a request in flight (or a probe) cannot block the others for longer than that.

A store changes a record with :meth:`QuotaStore.update`: ``change(record, now)`` runs on the
current record and what it leaves is saved atomically. A store may run ``change`` more than
once (Redis retries it on a fresh record when another process wrote in between), so a change
only touches the record and values it returns.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

_T = TypeVar("_T")

#: How long a lease lives when the store is not told otherwise: a request's default timeout
#: (30 s) plus room for the answer to be read.
DEFAULT_LEASE_SECONDS = 35.0
#: Added to the connection's timeout for a lease: a request is over by its timeout.
LEASE_MARGIN_SECONDS = 5.0
#: How long a process waits for another one's transaction before giving up on the store.
BUSY_TIMEOUT_SECONDS = 5.0
# Domain separation: the file name is a hash of this and the key, useless for anything else.
_KEY_SALT = b"airflow-provider-apollo quota store v1\0"


class QuotaStoreError(RuntimeError):
    """The shared store cannot be used (unwritable directory, corrupt file, lock timeout, Redis down)."""


@dataclass(frozen=True)
class RedisStoreRef:
    """The connection extra ``quota_store: "redis:<conn id>"``: the store lives in that Redis.

    :param conn_id: the Airflow connection of type ``redis``.
    """

    conn_id: str

    def __str__(self) -> str:
        return f"redis:{self.conn_id}"


@dataclass
class WindowRecord:
    """What is known of one window of one endpoint.

    :param limit: requests allowed per window (``None``: unlimited or not reported).
    :param left: the fewest requests left that any answer reported since the window last
        reopened (``None``: unknown or unlimited). In-flight requests are not subtracted here.
    :param reopen_at: when the window reopens, known from a 429's ``Retry-After``.
    """

    limit: int | None = None
    left: int | None = None
    reopen_at: float | None = None


@dataclass(frozen=True)
class Lease:
    """One admitted request that has not reported back yet.

    :param expires_at: after this instant it no longer counts (its process is presumed gone).
    :param probe: the one request sent to learn when an exhausted window reopens.
    :param slots: requests it stands for: 1, or a block of admissions a tracker hands out
        itself while plenty is left (see ``quota_batch.py``).
    """

    expires_at: float
    probe: bool = False
    slots: int = 1


@dataclass
class EndpointRecord:
    """Everything a tracker decides from, for one endpoint path template.

    :param windows: ``minute``, ``hour`` and ``day`` records (absent: nothing known yet).
    :param leases: requests in flight, by lease id.
    """

    windows: dict[str, WindowRecord] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)

    def window(self, name: str) -> WindowRecord:
        """The record of window ``name``, created empty when absent."""
        return self.windows.setdefault(name, WindowRecord())

    def in_flight(self, *, besides: str | None = None) -> int:
        """Requests in flight: the slots of every lease (but ``besides``'s)."""
        return sum(lease.slots for key, lease in self.leases.items() if key != besides)

    def drop_expired_leases(self, now: float) -> None:
        """Forget the leases whose holder should have reported back by ``now``."""
        for lease_id in [key for key, lease in self.leases.items() if lease.expires_at <= now]:
            del self.leases[lease_id]


class QuotaStore(Protocol):
    """A place to read and change one endpoint's record atomically."""

    #: Seconds a lease lives.
    lease_seconds: float
    #: Other processes read it: worth handing out admissions in blocks (``quota_batch.py``).
    shared: bool

    def update(
        self, endpoint: str, change: Callable[[EndpointRecord, float], _T], clock: Callable[[], float]
    ) -> _T:
        """Run ``change(record, now)`` on ``endpoint``'s record and save what it leaves, atomically.

        :param endpoint: path template, e.g. ``people/bulk_match``.
        :param change: reads and changes the record; may run more than once (see module docstring).
        :param clock: the caller's wall clock, read once the record is held (a wait for another
            process's transaction must not age ``now``); a store with its own clock uses that.
        :raises QuotaStoreError: the store cannot be read or written.
        """
        ...


class _TransactionStore:
    """``update`` for the stores that hold a record in one transaction (memory, SQLite)."""

    def transaction(self, endpoint: str) -> contextlib.AbstractContextManager[EndpointRecord]:
        raise NotImplementedError

    def update(
        self, endpoint: str, change: Callable[[EndpointRecord, float], _T], clock: Callable[[], float]
    ) -> _T:
        """See :meth:`QuotaStore.update`: ``change`` runs once, inside :meth:`transaction`."""
        with self.transaction(endpoint) as record:
            return change(record, clock())


class MemoryQuotaStore(_TransactionStore):
    """Records in this process's memory, guarded by a lock (the per-process default).

    :param lease_seconds: how long a request in flight counts without reporting back.
    """

    shared = False

    def __init__(self, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self.lease_seconds = lease_seconds
        self._lock = threading.Lock()
        self._records: dict[str, EndpointRecord] = {}

    @contextlib.contextmanager
    def transaction(self, endpoint: str) -> Iterator[EndpointRecord]:
        """See :meth:`QuotaStore.transaction`."""
        with self._lock:
            yield self._records.setdefault(endpoint, EndpointRecord())


def key_digest(api_key: str) -> str:
    """A salted hash of ``api_key`` that names its store (a file, Redis keys), never the key.

    :param api_key: the API key or OAuth token.
    """
    return hashlib.sha256(_KEY_SALT + api_key.encode("utf-8")).hexdigest()[:16]


def store_file_name(api_key: str) -> str:
    """The store's file name for ``api_key``: a salted hash, so the key is never on disk.

    :param api_key: the API key or OAuth token.
    """
    return f"{key_digest(api_key)}.sqlite"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS windows (
    endpoint TEXT NOT NULL,
    window TEXT NOT NULL,
    quota_limit INTEGER,
    requests_left INTEGER,
    reopen_at REAL,
    PRIMARY KEY (endpoint, window)
);
CREATE TABLE IF NOT EXISTS leases (
    lease_id TEXT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    expires_at REAL NOT NULL,
    probe INTEGER NOT NULL,
    slots INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS leases_by_endpoint ON leases (endpoint);
"""


class SqliteQuotaStore(_TransactionStore):
    """Records shared by every process of the host through one SQLite file in WAL mode.

    :param path: the database file (its directory is created, readable by the owner only).
    :param lease_seconds: how long a request in flight counts without reporting back.
    """

    shared = True

    def __init__(self, path: Path, *, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self.path = path
        self.lease_seconds = lease_seconds
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = 0

    @classmethod
    def for_key(
        cls, api_key: str, directory: Path | str, *, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> SqliteQuotaStore:
        """The store every process using ``api_key`` on this host shares, under ``directory``.

        :param api_key: the API key (only its salted hash names the file).
        :param directory: where the stores live, e.g. ``$AIRFLOW_HOME/apollo-quota``.
        :param lease_seconds: how long a request in flight counts without reporting back.
        """
        return cls(Path(directory).expanduser() / store_file_name(api_key), lease_seconds=lease_seconds)

    def __repr__(self) -> str:
        return f"SqliteQuotaStore({str(self.path)!r})"

    def _connect(self) -> sqlite3.Connection:
        # A connection must not cross a fork: a forked child opens its own.
        if self._connection is not None and self._pid == os.getpid():
            return self._connection
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode=WAL")
        # WAL with NORMAL sync: a commit does not wait for the disk; losing the last pacing
        # facts in a power cut costs at most one extra probe.
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(_SCHEMA)
        columns = {row[1] for row in connection.execute("PRAGMA table_info(leases)")}
        if "slots" not in columns:  # a file written by an earlier version of the provider
            connection.execute("ALTER TABLE leases ADD COLUMN slots INTEGER NOT NULL DEFAULT 1")
        self._connection, self._pid = connection, os.getpid()
        return connection

    @contextlib.contextmanager
    def transaction(self, endpoint: str) -> Iterator[EndpointRecord]:
        """See :meth:`QuotaStore.transaction`: one ``BEGIN IMMEDIATE`` transaction."""
        with self._lock:
            try:
                connection = self._connect()
                connection.execute("BEGIN IMMEDIATE")
            except (sqlite3.Error, OSError) as exc:
                raise QuotaStoreError(f"the shared quota store {self.path} cannot be used: {exc}") from exc
            try:
                record = _load(connection, endpoint)
                yield record
                _save(connection, endpoint, record)
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(connection)
                raise QuotaStoreError(f"the shared quota store {self.path} failed: {exc}") from exc
            except BaseException:
                _rollback(connection)
                raise


def _rollback(connection: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        connection.execute("ROLLBACK")


def _load(connection: sqlite3.Connection, endpoint: str) -> EndpointRecord:
    record = EndpointRecord()
    rows = connection.execute(
        "SELECT window, quota_limit, requests_left, reopen_at FROM windows WHERE endpoint = ?", (endpoint,)
    )
    for window, limit, left, reopen_at in rows:
        record.windows[window] = WindowRecord(limit=limit, left=left, reopen_at=reopen_at)
    rows = connection.execute(
        "SELECT lease_id, expires_at, probe, slots FROM leases WHERE endpoint = ?", (endpoint,)
    )
    for lease_id, expires_at, probe, slots in rows:
        record.leases[lease_id] = Lease(expires_at=expires_at, probe=bool(probe), slots=slots)
    return record


def _save(connection: sqlite3.Connection, endpoint: str, record: EndpointRecord) -> None:
    connection.executemany(
        "INSERT OR REPLACE INTO windows (endpoint, window, quota_limit, requests_left, reopen_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [(endpoint, name, w.limit, w.left, w.reopen_at) for name, w in record.windows.items()],
    )
    connection.execute("DELETE FROM leases WHERE endpoint = ?", (endpoint,))
    connection.executemany(
        "INSERT INTO leases (lease_id, endpoint, expires_at, probe, slots) VALUES (?, ?, ?, ?, ?)",
        [
            (key, endpoint, lease.expires_at, int(lease.probe), lease.slots)
            for key, lease in record.leases.items()
        ],
    )


def default_store_directory() -> Path:
    """``$AIRFLOW_HOME/apollo-quota`` (``~/airflow/apollo-quota`` without ``AIRFLOW_HOME``).

    Workers of one host normally share ``AIRFLOW_HOME``; a Kubernetes pod has its own, which
    is right: only processes that can open the same file can share it.
    """
    home = os.environ.get("AIRFLOW_HOME") or os.path.join("~", "airflow")
    return Path(home).expanduser() / "apollo-quota"
