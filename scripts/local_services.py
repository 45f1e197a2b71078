"""Throw-away PostgreSQL and Redis servers on loopback, from Debian's packages, for tests and CI.

The warehouse tests write to a real PostgreSQL, the quota store tests and the multi-host deployment
test share a real Redis. Each server here lives in a directory of its own, listens on 127.0.0.1 on a
free port (never another address), and is stopped, with its files removed, when the ``with`` block
ends. Only the standard library is used: ``run_tests.py`` imports this before the venv exists.

``ensure_installed()`` installs the Debian packages when a binary is missing and we are root
(as on CI); elsewhere it says which package to install.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Debian's PostgreSQL server binaries (``postgresql`` package): newest major first.
_POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"
#: How long a server may take to accept connections before the start is called failed.
START_TIMEOUT_SECONDS = 30.0


class ServiceUnavailable(RuntimeError):
    """A server's binaries are missing or it would not start; the message says what to install."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_bin_dir() -> Path | None:
    """The newest installed PostgreSQL server's ``bin`` directory, or ``None``."""
    candidates = sorted(Path("/").glob(_POSTGRES_BIN_GLOB.lstrip("/")), key=_major_version, reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "postgres").exists():
            return candidate
    return None


def _major_version(bin_dir: Path) -> int:
    try:
        return int(bin_dir.parent.name)
    except ValueError:
        return 0


def redis_server_binary() -> str | None:
    """``redis-server`` on PATH, or ``None``."""
    return shutil.which("redis-server")


def missing_packages() -> list[str]:
    """The Debian packages whose servers are not on this machine."""
    missing = []
    if postgres_bin_dir() is None:
        missing.append("postgresql")
    if redis_server_binary() is None:
        missing.append("redis-server")
    return missing


def ensure_installed() -> list[str]:
    """Install missing servers with apt-get when root; returns what is still missing.

    The servers' own start scripts are not used (no systemd here): ``policy-rc.d`` keeps the
    package install from starting a system-wide server on the default ports.
    """
    missing = missing_packages()
    if not missing or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return missing
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    policy = Path("/usr/sbin/policy-rc.d")
    wrote_policy = not policy.exists()
    if wrote_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], env=env, check=False)
    finally:
        if wrote_policy:
            policy.unlink(missing_ok=True)
    return missing_packages()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceUnavailable(
                f"{what} exited with code {process.returncode} before accepting connections"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise ServiceUnavailable(
        f"{what} did not accept connections on 127.0.0.1:{port} in {START_TIMEOUT_SECONDS:.0f} s"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# ----------------------------------------------------------------------------- PostgreSQL
@dataclass(frozen=True)
class PostgresServer:
    """A running throw-away PostgreSQL: trust authentication on 127.0.0.1 only."""

    port: int
    user: str = "apollo"
    database: str = "apollo"
    host: str = "127.0.0.1"

    @property
    def uri(self) -> str:
        """An Airflow connection URI (``postgres://``), no password: the cluster trusts loopback."""
        return f"postgres://{self.user}@{self.host}:{self.port}/{self.database}"

    @property
    def sqlalchemy_url(self) -> str:
        """A SQLAlchemy URL with the psycopg2 driver (Airflow's metadata database)."""
        return f"postgresql+psycopg2://{self.user}@{self.host}:{self.port}/{self.database}"


def _as_postgres_user() -> list[str]:
    """initdb and postgres refuse to run as root: run them as Debian's ``postgres`` user then."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


@contextlib.contextmanager
def running_postgres(*, database: str = "apollo", user: str = "apollo") -> Iterator[PostgresServer]:
    """Start a fresh PostgreSQL cluster on a free loopback port; stop and delete it after."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise ServiceUnavailable("PostgreSQL server not installed: apt-get install postgresql")
    base = Path(tempfile.mkdtemp(prefix="apollo-pg-"))
    data, sockets = base / "data", base / "run"
    sockets.mkdir()
    wrapper = _as_postgres_user()
    if wrapper:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
    try:
        subprocess.run(
            [*wrapper, str(bin_dir / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        port = free_port()
        server = subprocess.Popen(
            [
                *wrapper,
                str(bin_dir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={sockets}",
                "-c",
                "fsync=off",  # a throw-away cluster: durability buys nothing, costs seconds
                "-c",
                "max_connections=200",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_port(port, server, "PostgreSQL")
            _run_until_ok(
                [
                    *wrapper,
                    str(bin_dir / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    user,
                    database,
                ]
            )
            yield PostgresServer(port=port, user=user, database=database)
        finally:
            _stop(server)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _run_until_ok(command: list[str]) -> None:
    """createdb right after the port opens can meet "the database system is starting up"."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode == 0 or "already exists" in result.stderr:
            return
        if time.monotonic() > deadline:
            raise ServiceUnavailable(f"{command[-1]}: {result.stderr.strip()}")
        time.sleep(0.2)


# ---------------------------------------------------------------------------------- Redis
@dataclass(frozen=True)
class RedisServer:
    """A running throw-away Redis on 127.0.0.1, no persistence."""

    port: int
    host: str = "127.0.0.1"

    def url(self, db: int = 0) -> str:
        """``redis://127.0.0.1:<port>/<db>``."""
        return f"redis://{self.host}:{self.port}/{db}"


@contextlib.contextmanager
def running_redis() -> Iterator[RedisServer]:
    """Start redis-server on a free loopback port with no persistence; stop it after."""
    binary = redis_server_binary()
    if binary is None:
        raise ServiceUnavailable("Redis server not installed: apt-get install redis-server")
    base = Path(tempfile.mkdtemp(prefix="apollo-redis-"))
    port = free_port()
    server = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(base),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, server, "Redis")
        yield RedisServer(port=port)
    finally:
        _stop(server)
        shutil.rmtree(base, ignore_errors=True)
