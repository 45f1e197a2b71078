"""Join a Celery worker's own network namespace to the servers on the host's loopback.

A worker started with ``unshare --net`` has a network of its own with nothing but ``lo``: it can
reach no server of the host. The deployment test gives it exactly the servers it must share,
and no address anywhere: for each port (PostgreSQL, Redis, the api-server, the sandbox) a relay
in the host's namespace listens on a Unix socket (``<directory>/<port>.sock``, the file system is
shared) and connects to ``127.0.0.1:<port>``; inside the worker's namespace a relay listens on
its own ``127.0.0.1:<port>`` and connects to that Unix socket. The worker is configured with
the same URLs as the central components.

``python netns_relay.py host DIR PORT...``: the host side (runs until killed).
``python netns_relay.py worker DIR PORT... -- COMMAND...``: inside ``unshare --net``: bring
``lo`` up, start the relays, run COMMAND, stop when it ends (SIGTERM is passed on).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable

Opener = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # a half-close travels on: the other side may still answer


def _relay(open_target: Opener) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            target_reader, target_writer = await open_target()
        except OSError:
            writer.close()
            return
        try:
            await asyncio.gather(_pipe(reader, target_writer), _pipe(target_reader, writer))
        finally:
            for stream in (writer, target_writer):
                stream.close()

    return handle


def _to_host_port(port: int) -> Opener:
    return lambda: asyncio.open_connection("127.0.0.1", port)


def _to_unix_socket(path: str) -> Opener:
    return lambda: asyncio.open_unix_connection(path)


async def _serve(side: str, directory: str, ports: list[int]) -> list[asyncio.AbstractServer]:
    servers = []
    for port in ports:
        path = os.path.join(directory, f"{port}.sock")
        if side == "host":
            servers.append(await asyncio.start_unix_server(_relay(_to_host_port(port)), path=path))
        else:
            servers.append(await asyncio.start_server(_relay(_to_unix_socket(path)), "127.0.0.1", port))
    return servers


async def _host(directory: str, ports: list[int]) -> None:
    await _serve("host", directory, ports)
    print("relays ready", flush=True)
    await asyncio.Event().wait()


async def _worker(directory: str, ports: list[int], command: list[str]) -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    await _serve("worker", directory, ports)
    child = await asyncio.create_subprocess_exec(*command)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda sig=sig: child.send_signal(sig))
    return await child.wait()


def main(argv: list[str]) -> int:
    side, directory, *rest = argv
    command: list[str] = []
    if "--" in rest:
        split = rest.index("--")
        rest, command = rest[:split], rest[split + 1 :]
    ports = [int(port) for port in rest]
    if side == "host":
        asyncio.run(_host(directory, ports))
        return 0
    return asyncio.run(_worker(directory, ports, command))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
