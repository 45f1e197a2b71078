"""The throw-away servers answer on loopback and are gone after their block."""

from __future__ import annotations

import socket

from scripts.local_services import free_port, running_postgres, running_redis
from tests.services import PostgresServer, RedisServer


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_postgres_fixture_runs_queries(postgres_server: PostgresServer) -> None:
    import psycopg2

    with (
        psycopg2.connect(
            host=postgres_server.host,
            port=postgres_server.port,
            user=postgres_server.user,
            dbname=postgres_server.database,
        ) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute("select current_database(), inet_server_addr()::text")
        assert cursor.fetchone() == ("apollo", "127.0.0.1/32")


def test_redis_fixture_answers_ping(redis_server: RedisServer) -> None:
    with socket.create_connection((redis_server.host, redis_server.port), timeout=2) as conn:
        conn.sendall(b"PING\r\n")
        assert conn.recv(16) == b"+PONG\r\n"


def test_servers_stop_when_their_block_ends() -> None:
    with running_redis() as redis, running_postgres(database="other") as postgres:
        ports = (redis.port, postgres.port)
        assert all(_answers(port) for port in ports)
    assert not any(_answers(port) for port in ports)
    assert free_port() > 0
