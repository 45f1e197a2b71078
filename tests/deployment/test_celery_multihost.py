"""One API key's quota shared by two Celery workers with their own AIRFLOW_HOMEs, through Redis.

A CeleryExecutor deployment as a platform team runs one: PostgreSQL as the metadata database,
Redis as the Celery broker **and** as the Apollo quota store (connection extra
``{"quota_store": "redis:redis_default"}``), the api-server, scheduler, dag-processor and
triggerer in one AIRFLOW_HOME, and two Celery workers, each in an AIRFLOW_HOME of its own, so
that nothing but PostgreSQL and Redis is shared (each worker home would hold its own SQLite
quota store, which must stay unused). Each worker also runs in a network namespace of its own
(``unshare --net``: nothing but its own ``lo``), reaching only PostgreSQL, Redis, the
api-server and the sandbox through Unix-socket relays (``netns_relay.py``): no address is
added anywhere and every server listens on 127.0.0.1 only. Where namespaces are not allowed
(no root, a locked-down container), the workers share the host's loopback and the namespace
test is skipped, saying so.

1. A mapped enrichment DAG on one key: six mapped task instances enrich 20 people each, while
   the sandbox allows 3 bulk calls per 3-second window (each worker runs 2 tasks at once, and
   each task alone would believe it has the whole window). Asserted: every task succeeds, both
   workers ran some, at most one 429 in any window, every person paid for once.
2. Deferred quota waits: an organization search meets a closed hourly window (a 20-second
   "hour"), defers to the triggerer, and resumes on a worker where it stopped: it succeeds on
   its first try, and no page is read (paid for) twice.

Then the canary API key is searched for in every file under the three homes and in every Redis
key and value. Marked ``deployment`` (``pytest -m deployment``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from benchmarks.enrichment_runs import WindowSampler
from scripts.local_services import PostgresServer, RedisServer
from tests.deployment.test_real_airflow import AIRFLOW, Airflow, _environment, _free_port, files_holding

pytestmark = pytest.mark.deployment

ROOT = Path(__file__).resolve().parents[2]
RELAY = Path(__file__).resolve().with_name("netns_relay.py")
DAGS_FOLDER = ROOT / "tests" / "deployment" / "dags"
ENRICH_DAG = "apollo_multihost_enrichment"
DEFER_DAG = "apollo_multihost_deferral"
WORKERS = ("worker-a", "worker-b")
#: Mapped task instances x people each: 12 bulk calls of 10, 4 windows at the least.
SHARES, PEOPLE_PER_SHARE = 6, 20
#: The sandbox's compressed minute and the bulk calls it allows in one.
WINDOW_SECONDS, BULK_PER_WINDOW = 3.0, 3
#: The compressed hour of the deferral scenario and the search pages it allows.
HOUR_SECONDS, PAGES_PER_HOUR = 20.0, 2
#: The store under test. ``APOLLO_MULTIHOST_QUOTA_STORE=none`` runs the same deployment with the
#: quota kept per task process, to see what the sandbox's limits do to an unshared quota.
QUOTA_STORE = os.environ.get("APOLLO_MULTIHOST_QUOTA_STORE", "redis:redis_default")
RUN_TIMEOUT_SECONDS = 150.0
STARTUP_TIMEOUT_SECONDS = 150.0
BULK_MATCH = "POST /api/v1/people/bulk_match"
ORG_SEARCH = "POST /api/v1/mixed_companies/search"


@dataclass
class MultiHost:
    """What the deployment did, for the tests below to judge."""

    homes: dict[str, Path]
    api_key: str
    states: dict[str, dict[str, str]] = field(default_factory=dict)
    tries: dict[str, int] = field(default_factory=dict)
    per_window_429: list[int] = field(default_factory=list)
    enrich_stats: dict[str, Any] = field(default_factory=dict)
    defer_stats: dict[str, Any] = field(default_factory=dict)
    redis_entries: list[bytes] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    namespaces: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def network_namespaces_available() -> bool:
    """Whether this machine lets us give a process a network of its own (root, ``unshare``, ``ip``)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(["unshare", "--net", "--", "ip", "link", "set", "lo", "up"], capture_output=True)
    return probe.returncode == 0


class CeleryAirflow(Airflow):
    """The central components in one home; each Celery worker in a home of its own.

    With ``relay_ports`` set, each worker runs in a network namespace of its own that reaches
    only those ports of the host's loopback, through ``netns_relay.py``.
    """

    def __init__(self, env: dict[str, str], home: Path, worker_homes: dict[str, Path]) -> None:
        super().__init__(env, home)
        self.worker_homes = worker_homes
        self.relay_ports: list[int] = []
        self.relay_dir = Path(tempfile.mkdtemp(prefix="apollo-relay-"))  # short: Unix socket paths

    def start(self) -> None:
        super().start()
        isolate = bool(self.relay_ports)
        ports = [str(port) for port in self.relay_ports]
        if isolate:
            self._spawn("relay", [sys.executable, str(RELAY), "host", str(self.relay_dir), *ports], self.env)
            deadline = time.monotonic() + 30
            while not all((self.relay_dir / f"{port}.sock").exists() for port in ports):
                self.check_alive()
                if time.monotonic() > deadline:
                    raise AssertionError(f"the host relays did not start:\n{self.component_log('relay')}")
                time.sleep(0.1)
        for name, home in self.worker_homes.items():
            home.mkdir(parents=True, exist_ok=True)
            worker = [str(AIRFLOW), "celery", "worker", "--concurrency", "2", "--skip-serve-logs",
                      "--celery-hostname", f"{name}@127.0.0.1", "--without-gossip",
                      "--without-mingle"]  # fmt: skip
            if isolate:
                inside = [sys.executable, str(RELAY), "worker", str(self.relay_dir), *ports, "--"]
                worker = ["unshare", "--net", "--", *inside, *worker]
            self._spawn(name, worker, {**self.env, "AIRFLOW_HOME": str(home)}, cwd=home)

    def _spawn(self, name: str, command: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        with (self.log_dir / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(
                command,
                env=env,
                cwd=cwd or self.home,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def network_namespace(self, name: str) -> str:
        """The network namespace of a running component (``net:[4026532...]``)."""
        return os.readlink(f"/proc/{self.processes[name].pid}/ns/net")

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.relay_dir, ignore_errors=True)


def _celery_environment(home: Path, pg: PostgresServer, redis: RedisServer) -> dict[str, str]:
    env = _environment(home, _free_port())
    env.update(
        {
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": pg.sqlalchemy_url,
            "AIRFLOW__CELERY__BROKER_URL": redis.url(0),
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{pg.user}@{pg.host}:{pg.port}/{pg.database}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "0",
        }
    )
    env.pop("APOLLO_POOL", None)
    # The provider under test is this tree's, whatever copy the venv has installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def api_port(env: dict[str, str]) -> int:
    """The api-server's port (the workers' execution API)."""
    return int(env["AIRFLOW__API__PORT"])


# ------------------------------------------------------------------------- metadata DB
def _query(pg: PostgresServer, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    import psycopg2

    db = psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, dbname=pg.database)
    try:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    finally:
        db.close()


def _wait_for_dags(airflow: CeleryAirflow, pg: PostgresServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        airflow.check_alive()
        found = {row[0] for row in _query(pg, "SELECT dag_id FROM serialized_dag")}
        if {ENRICH_DAG, DEFER_DAG} <= found:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"DAGs not parsed in time:\n{airflow.component_log('dag-processor')}")
        time.sleep(1)


def _wait_for_workers(airflow: CeleryAirflow) -> None:
    """Both workers connected to the broker: a task queued earlier would all go to the first one."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not all(f"{name}@127.0.0.1 ready" in airflow.component_log(name, tail=20000) for name in WORKERS):
        airflow.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(
                "the Celery workers did not connect in time:\n" + airflow.component_log(WORKERS[0])
            )
        time.sleep(0.5)


def _run(airflow: CeleryAirflow, pg: PostgresServer, dag_id: str, conf: dict[str, Any] | None = None) -> str:
    """Trigger ``dag_id`` (no logical date) and wait for the run to finish; its state."""
    run_id = f"multihost__{secrets.token_hex(4)}"
    args = ["dags", "trigger", dag_id, "--run-id", run_id]
    airflow.cli(*args, *(["--conf", json.dumps(conf)] if conf else []))
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while True:
        airflow.check_alive()
        rows = _query(pg, "SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", dag_id, run_id)
        if rows and rows[0][0] in ("success", "failed"):
            return run_id
        if time.monotonic() > deadline:
            raise AssertionError(f"{dag_id} did not finish in {RUN_TIMEOUT_SECONDS:.0f}s")
        time.sleep(0.5)


def _task_states(pg: PostgresServer, dag_id: str, run_id: str) -> tuple[dict[str, str], dict[str, int]]:
    rows = _query(
        pg,
        "SELECT task_id, map_index, state, try_number FROM task_instance WHERE dag_id = %s AND run_id = %s",
        dag_id,
        run_id,
    )
    names = {
        (task_id, index): f"{task_id}[{index}]" if index >= 0 else task_id for task_id, index, _, _ in rows
    }
    states = {names[(t, i)]: str(state) for t, i, state, _ in rows}
    tries = {names[(t, i)]: int(number) for t, i, _, number in rows}
    return states, tries


def worker_logs(home: Path, dag_id: str, task_id: str) -> list[Path]:
    """The task log files one worker wrote for ``task_id`` (Airflow writes them where it runs)."""
    folder = home / "logs" / f"dag_id={dag_id}"
    return sorted(path for path in folder.rglob("*.log") if f"task_id={task_id}" in path.parts)


def redis_entries(redis: RedisServer) -> list[bytes]:
    """Every key and every value (of any type) in Redis's databases 0 and 1, as bytes."""
    import redis as redis_client

    found: list[bytes] = []
    for db in (0, 1):
        client = redis_client.Redis(host=redis.host, port=redis.port, db=db)
        for key in client.scan_iter(count=500):
            found.append(key)
            found.extend(_values(client, key))
    return found


def _values(client: Any, key: bytes) -> list[bytes]:
    kind = client.type(key)
    if kind == b"string":
        values = [client.get(key)]
    elif kind == b"hash":
        values = [item for pair in client.hgetall(key).items() for item in pair]
    elif kind in (b"list", b"zset"):
        values = client.lrange(key, 0, -1) if kind == b"list" else client.zrange(key, 0, -1)
    elif kind == b"set":
        values = list(client.smembers(key))
    else:
        values = []
    return [value for value in values if isinstance(value, bytes)]


# ----------------------------------------------------------------------------- scenario
@pytest.fixture(scope="module")
def multihost(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer, redis_server: RedisServer
) -> Iterator[MultiHost]:
    from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxLimits

    started = time.monotonic()
    base = tmp_path_factory.mktemp("multihost")
    homes = {"central": base / "central", **{name: base / name for name in WORKERS}}
    homes["central"].mkdir()
    api_key = f"canary-key-{secrets.token_hex(8)}"
    result = MultiHost(homes=homes, api_key=api_key)
    airflow = CeleryAirflow(
        _celery_environment(homes["central"], postgres_server, redis_server),
        homes["central"],
        {name: homes[name] for name in WORKERS},
    )
    with ApolloSandbox(api_key=api_key, seed=19) as sandbox:
        try:
            airflow.cli("db", "migrate", timeout=300)
            redis_conn = {
                "conn_type": "redis",
                "host": redis_server.host,
                "port": redis_server.port,
                "extra": {"db": 1},
            }
            apollo_conn = {
                "conn_type": "apollo",
                "host": sandbox.base_url,
                "password": api_key,
                "extra": {"quota_store": QUOTA_STORE},
            }
            for conn_id, conn in (("redis_default", redis_conn), ("apollo_default", apollo_conn)):
                airflow.cli("connections", "add", conn_id, "--conn-json", json.dumps(conn))
            if network_namespaces_available():
                airflow.relay_ports = [
                    postgres_server.port,
                    redis_server.port,
                    sandbox.port,
                    api_port(airflow.env),
                ]
            else:
                print("==> no network namespaces here: the workers share the host's loopback", flush=True)
            airflow.start()
            _wait_for_dags(airflow, postgres_server)
            _wait_for_workers(airflow)
            # Read once the workers are up: right after its start, unshare may not have unshared yet.
            result.namespaces = {"host": os.readlink("/proc/self/ns/net")}
            result.namespaces.update({name: airflow.network_namespace(name) for name in WORKERS})
            result.seconds["startup"] = time.monotonic() - started
            print(f"\n==> Celery deployment up after {result.seconds['startup']:.0f}s", flush=True)

            # 1. Mapped enrichment on one key.
            people = [
                {"id": person["id"]} for person in sandbox.state.world.people[: SHARES * PEOPLE_PER_SHARE]
            ]
            shares = [people[i::SHARES] for i in range(SHARES)]
            sandbox.configure(
                limits=SandboxLimits.from_dict(
                    {"bulk_enrichment": {"per_minute": BULK_PER_WINDOW}, "minute_seconds": WINDOW_SECONDS}
                )
            )
            sampler = WindowSampler(sandbox, WINDOW_SECONDS)
            sandbox.reset()
            sampler.start()
            phase = time.monotonic()
            run_id = _run(airflow, postgres_server, ENRICH_DAG, {"shares": shares})
            result.per_window_429 = sampler.stop()
            result.seconds["enrichment"] = time.monotonic() - phase
            result.enrich_stats = sandbox.stats()
            states, tries = _task_states(postgres_server, ENRICH_DAG, run_id)
            result.states.update(states)

            # 2. A closed hourly window: the search waits in the triggerer.
            sandbox.configure(
                limits=SandboxLimits.from_dict(
                    {
                        "search": {"per_hour": PAGES_PER_HOUR},
                        "hour_seconds": HOUR_SECONDS,
                        "minute_seconds": 60,
                    }
                )
            )
            sandbox.reset()
            phase = time.monotonic()
            run_id = _run(airflow, postgres_server, DEFER_DAG)
            result.seconds["deferral"] = time.monotonic() - phase
            result.defer_stats = sandbox.stats()
            states, tries = _task_states(postgres_server, DEFER_DAG, run_id)
            result.states.update(states)
            result.tries.update(tries)
        except (AssertionError, subprocess.TimeoutExpired, OSError) as error:
            result.error = f"{type(error).__name__}: {error}"
        finally:
            airflow.stop()
            result.redis_entries = redis_entries(redis_server)
    result.seconds["total"] = time.monotonic() - started
    print(
        f"==> multi-host deployment: {result.seconds}; 429s per window {result.per_window_429}; "
        f"enrichment credits {result.enrich_stats.get('credits', {}).get('total')}",
        flush=True,
    )
    for task, state in result.states.items():
        if state != "success":
            for home in homes.values():
                for log in worker_logs(
                    home, ENRICH_DAG if task.startswith("enrich") else DEFER_DAG, task.split("[")[0]
                ):
                    print(f"--- {log}\n{log.read_text(errors='replace')[-4000:]}", flush=True)
    yield result


def test_every_mapped_enrichment_task_succeeds(multihost: MultiHost) -> None:
    assert multihost.error is None, multihost.error
    enrich = {task: state for task, state in multihost.states.items() if task.startswith("enrich[")}
    assert len(enrich) == SHARES
    assert set(enrich.values()) == {"success"}, enrich


def test_both_workers_ran_mapped_tasks(multihost: MultiHost) -> None:
    ran = {name: worker_logs(multihost.homes[name], ENRICH_DAG, "enrich") for name in WORKERS}
    assert all(ran.values()), {name: len(logs) for name, logs in ran.items()}
    assert sum(len(logs) for logs in ran.values()) == SHARES  # one try each, no retry


def test_the_workers_shared_the_quota_at_most_one_429_per_window(multihost: MultiHost) -> None:
    assert multihost.per_window_429, multihost.error
    assert max(multihost.per_window_429) <= 1, multihost.per_window_429


def test_every_person_was_enriched_and_paid_for_once(multihost: MultiHost) -> None:
    stats = multihost.enrich_stats
    assert stats, multihost.error
    people = SHARES * PEOPLE_PER_SHARE
    assert stats["credits"]["by_endpoint"].get(BULK_MATCH) == people
    answered = stats["requests"]["by_endpoint"][BULK_MATCH] - stats["rate_limited_by_endpoint"].get(
        BULK_MATCH, 0
    )
    assert answered == people // 10  # full batches of 10, none sent twice


def test_no_worker_used_its_own_sqlite_quota_store(multihost: MultiHost) -> None:
    for name in WORKERS:
        assert not (multihost.homes[name] / "apollo-quota").exists(), f"{name} paced from its own SQLite file"
    assert any(entry.startswith(b"apollo-quota:") for entry in multihost.redis_entries), "Redis store unused"


def test_a_closed_hourly_window_is_waited_for_in_the_triggerer(multihost: MultiHost) -> None:
    assert multihost.states.get("search_organizations") == "success", multihost.states
    assert multihost.tries["search_organizations"] == 1, "the quota wait spent an Airflow retry"
    logs = [
        log
        for home in multihost.homes.values()
        for log in worker_logs(home, DEFER_DAG, "search_organizations")
    ]
    text = "\n".join(log.read_text(errors="replace") for log in logs)
    assert "deferring to the triggerer" in text and "Resuming after a quota wait at page 3" in text
    # 4 pages of 10, 1 credit each: none read twice across the deferral.
    assert multihost.defer_stats["credits"]["by_endpoint"].get(ORG_SEARCH) == 4


def test_each_worker_ran_in_a_network_namespace_of_its_own(multihost: MultiHost) -> None:
    spaces = multihost.namespaces
    assert spaces, multihost.error
    if spaces["host"] == spaces[WORKERS[0]]:
        pytest.skip("network namespaces are not available here: the workers shared the host's loopback")
    assert len({spaces[name] for name in ("host", *WORKERS)}) == 3, spaces


def test_the_canary_key_is_in_no_file_and_no_redis_entry(multihost: MultiHost) -> None:
    for name, home in multihost.homes.items():
        assert list((home / "logs").rglob("*.log")) or name == "central", f"{name} wrote no task log"
        assert files_holding(home, multihost.api_key) == [], name
    assert multihost.redis_entries, "Redis holds nothing: the search below would prove nothing"
    assert not [entry for entry in multihost.redis_entries if multihost.api_key.encode() in entry]
