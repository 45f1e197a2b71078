"""The example DAGs in a real Airflow: api-server, scheduler, dag-processor and triggerer.

What a platform engineer would run before trusting the provider: a throw-away AIRFLOW_HOME on
SQLite with LocalExecutor, the ``apollo_default`` connection stored (encrypted) in the metadata
DB with a canary API key, deferrable sensors on, and the sandbox on 127.0.0.1. The DAGs are
triggered with ``airflow dags trigger`` **without a logical date**, as the docs tell users to:

1. prospecting, twice: the second run spends no credit and creates no contact;
2. hiring signals; the reps complete the call tasks (the sandbox's control plane); the task
   follow-up DAG moves those contacts on; hiring signals again: no new contact and no new task.

Then every process is stopped and every file under AIRFLOW_HOME (task and trigger logs, the
components' own logs, the SQLite DB) is searched for the canary key.

Marked ``deployment`` (deselected by default; ``pytest -m deployment``): it starts Airflow's
processes and takes a few minutes. A failed DAG run prints the log of each failed task.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests._support import EXAMPLE_DAGS_FOLDER

pytestmark = pytest.mark.deployment

AIRFLOW = Path(sys.executable).with_name("airflow")
PROSPECTING = "example_apollo_prospecting"
HIRING = "example_apollo_hiring_signals"
FOLLOWUP = "example_apollo_task_followup"
EXAMPLE_DAGS = (PROSPECTING, HIRING, FOLLOWUP)
#: The whole scenario (start-up, six DAG runs, shut-down) must fit in this.
SCENARIO_DEADLINE_SECONDS = 420.0
RUN_TIMEOUT_SECONDS = 180.0
STARTUP_TIMEOUT_SECONDS = 150.0
FINISHED_RUN_STATES = {"success", "failed"}


@dataclass
class DagRunRecord:
    """One triggered run: its state, its tasks' states and the sandbox's counters around it."""

    dag_id: str
    run_id: str
    state: str
    logical_date: str | None
    run_after: str
    task_states: dict[str, str]
    before: dict[str, Any]
    after: dict[str, Any]

    def grew(self, *path: str) -> float:
        """How much one sandbox counter (``"credits", "total"``) grew during the run."""

        def read(stats: Mapping[str, Any]) -> float:
            value: Any = stats
            for key in path:
                value = value.get(key, 0) if isinstance(value, Mapping) else 0
            return float(value or 0)

        return read(self.after) - read(self.before)

    def figures(self) -> str:
        return (
            f"{self.dag_id:<32} {self.state:<8} credits {self.grew('credits', 'total'):>4g}  "
            f"contacts +{self.grew('contacts', 'total'):g}  tasks +{self.grew('tasks', 'total'):g}  "
            f"enrolments +{self.grew('sequence_enrolments', 'total'):g}  "
            f"API calls {self.grew('requests', 'total'):g}"
        )


@dataclass
class Scenario:
    """What the deployment did, for the tests below to judge."""

    airflow_home: Path
    api_key: str
    runs: list[DagRunRecord] = field(default_factory=list)
    completed_call_tasks: int = 0
    final_stats: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None

    def of(self, dag_id: str) -> list[DagRunRecord]:
        return [run for run in self.runs if run.dag_id == dag_id]


# --------------------------------------------------------------------------- processes
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(home: Path, api_port: int) -> dict[str, str]:
    """An Airflow of its own: nothing inherited from the test session's Airflow settings."""
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_AIRFLOW"))}
    env.pop("APOLLO_API_KEY", None)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
            # Triggered runs only: the schedule would add runs of its own when a DAG is unpaused.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            # The sensors wait in the triggerer (after one look on the worker).
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
            # The example DAGs put their Apollo tasks in this pool (created below), as production should.
            "APOLLO_POOL": "apollo",
        }
    )
    return env


class Airflow:
    """The components, each in its own process group so that stopping one stops its children."""

    COMPONENTS = (
        ("api-server", ["api-server", "--workers", "1"]),
        ("scheduler", ["scheduler"]),
        ("dag-processor", ["dag-processor"]),
        ("triggerer", ["triggerer"]),
    )

    def __init__(self, env: dict[str, str], home: Path) -> None:
        self.env = env
        self.home = home
        self.log_dir = home / "component-logs"  # inside AIRFLOW_HOME: searched for the key too
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def cli(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [str(AIRFLOW), *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"airflow {' '.join(args[:2])} failed:\n{result.stdout[-2000:]}{result.stderr[-4000:]}"
            )
        return result.stdout

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name, args in self.COMPONENTS:
            with (self.log_dir / f"{name}.log").open("wb") as log:
                self.processes[name] = subprocess.Popen(
                    [str(AIRFLOW), *args],
                    env=self.env,
                    cwd=self.home,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(
                    f"airflow {name} exited with {process.returncode}:\n{self.component_log(name)}"
                )

    def component_log(self, name: str, tail: int = 4000) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else "(no log)"

    def stop(self) -> None:
        """SIGTERM to every process group, SIGKILL to what is left after 20 seconds."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            _signal_group(process, signal.SIGKILL)
            process.wait(timeout=10)
        self.processes.clear()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group has already gone
        os.killpg(process.pid, sig)


# ------------------------------------------------------------------------- metadata DB
def _query(home: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the SQLite metadata DB directly: far quicker than an ``airflow`` CLI call per poll."""
    with sqlite3.connect(f"file:{home / 'airflow.db'}?mode=ro", uri=True, timeout=10) as db:
        return list(db.execute(sql, params).fetchall())


def _wait_for_dags(airflow: Airflow, deadline: float) -> None:
    while True:
        airflow.check_alive()
        rows = _query(airflow.home, "SELECT dag_id FROM serialized_dag")
        if set(EXAMPLE_DAGS) <= {row[0] for row in rows}:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the dag-processor did not serialize {EXAMPLE_DAGS} in time (found {rows}):\n"
                + airflow.component_log("dag-processor")
            )
        time.sleep(1)


def _latest_run_id(home: Path, dag_id: str) -> str | None:
    rows = _query(home, "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", dag_id)
    return rows[0][0] if rows else None


def _task_states(home: Path, dag_id: str, run_id: str) -> dict[str, str]:
    rows = _query(
        home, "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?", dag_id, run_id
    )
    return {task_id: str(state) for task_id, state in rows}


def _task_logs(home: Path, dag_id: str, run_id: str, task_id: str) -> str:
    """Every attempt's log of one task, as Airflow wrote it under ``logs/``."""
    folder = home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    logs = sorted(folder.rglob("*.log")) if folder.exists() else []
    return (
        "\n".join(
            f"--- {path.relative_to(home)}\n{path.read_text(errors='replace')[-6000:]}" for path in logs
        )
        or f"(no log under {folder})"
    )


def trigger_and_wait(airflow: Airflow, sandbox: Any, dag_id: str) -> DagRunRecord:
    """``airflow dags trigger`` without a logical date; wait for the run to finish."""
    previous = _latest_run_id(airflow.home, dag_id)
    before = sandbox.stats()
    airflow.cli("dags", "trigger", dag_id)
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    run_id = None
    while True:
        airflow.check_alive()
        run_id = _latest_run_id(airflow.home, dag_id)
        if run_id not in (None, previous):
            state_rows = _query(
                airflow.home,
                "SELECT state, logical_date, run_after FROM dag_run WHERE run_id = ? AND dag_id = ?",
                run_id,
                dag_id,
            )
            state, logical_date, run_after = state_rows[0]
            if state in FINISHED_RUN_STATES:
                break
        if time.monotonic() > deadline:
            states = _task_states(airflow.home, dag_id, run_id) if run_id else {}
            raise AssertionError(
                f"{dag_id} run {run_id} did not finish in {RUN_TIMEOUT_SECONDS:.0f}s: {states}\n"
                + airflow.component_log("scheduler")
            )
        time.sleep(1)
    assert run_id is not None
    record = DagRunRecord(
        dag_id=dag_id,
        run_id=run_id,
        state=str(state),
        logical_date=logical_date,
        run_after=str(run_after),
        task_states=_task_states(airflow.home, dag_id, run_id),
        before=before,
        after=sandbox.stats(),
    )
    print(f"    {record.figures()}", flush=True)
    failed = [task for task, task_state in record.task_states.items() if task_state != "success"]
    for task_id in failed:
        print(
            f"\n=== {dag_id} / {task_id}: {record.task_states[task_id]}\n"
            f"{_task_logs(airflow.home, dag_id, run_id, task_id)}",
            flush=True,
        )
    return record


def complete_open_call_tasks(sandbox: Any) -> int:
    """Play the reps: mark every open call task completed through the sandbox; how many."""
    open_calls = [
        task["id"]
        for task in sandbox.state.search_tasks({"type": "call"})
        if task.get("status") not in ("completed", "complete")
    ]
    if open_calls:
        sandbox.complete_tasks(open_calls)
    return len(open_calls)


def files_holding(root: Path, secret: str) -> list[str]:
    """Files under ``root`` whose bytes contain ``secret`` (SQLite stores text as plain UTF-8)."""
    needle = secret.encode()
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes()
    )


# ----------------------------------------------------------------------------- scenario
@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    from airflow_provider_apollo.sandbox import ApolloSandbox

    started = time.monotonic()
    home = tmp_path_factory.mktemp("airflow-home")
    api_key = f"canary-key-{secrets.token_hex(8)}"
    result = Scenario(airflow_home=home, api_key=api_key)
    airflow = Airflow(_environment(home, _free_port()), home)
    with ApolloSandbox(api_key=api_key, seed=42) as sandbox:
        try:
            print(f"\n==> real Airflow in {home}, sandbox on {sandbox.base_url}", flush=True)
            airflow.cli("db", "migrate", timeout=300)
            airflow.cli("pools", "set", "apollo", "2", "Apollo API calls (one key, one set of windows)")
            airflow.cli(
                "connections",
                "add",
                "apollo_default",
                "--conn-json",
                json.dumps({"conn_type": "apollo", "host": sandbox.base_url, "password": api_key}),
            )
            airflow.start()
            _wait_for_dags(airflow, time.monotonic() + STARTUP_TIMEOUT_SECONDS)
            print(f"==> components up and DAGs parsed after {time.monotonic() - started:.0f}s", flush=True)
            for dag_id in (PROSPECTING, PROSPECTING, HIRING):
                result.runs.append(trigger_and_wait(airflow, sandbox, dag_id))
            result.completed_call_tasks = complete_open_call_tasks(sandbox)
            print(f"    reps completed {result.completed_call_tasks} call tasks", flush=True)
            for dag_id in (FOLLOWUP, HIRING):
                result.runs.append(trigger_and_wait(airflow, sandbox, dag_id))
                if time.monotonic() - started > SCENARIO_DEADLINE_SECONDS:
                    raise AssertionError(f"the scenario took more than {SCENARIO_DEADLINE_SECONDS:.0f}s")
        except (AssertionError, subprocess.TimeoutExpired, OSError, sqlite3.Error) as error:
            result.error = f"{type(error).__name__}: {error}"
        finally:
            airflow.stop()
            result.final_stats = sandbox.stats()
    result.seconds = time.monotonic() - started
    print(
        f"==> deployment scenario finished in {result.seconds:.0f}s; sandbox totals: "
        f"credits {result.final_stats['credits']['total']:g}, "
        f"contacts {result.final_stats['contacts']['total']}, "
        f"tasks {result.final_stats['tasks']['total']}, "
        f"enrolments {result.final_stats['sequence_enrolments']['total']}",
        flush=True,
    )
    yield result


def test_the_deployment_ran_every_dag_within_its_time(scenario: Scenario) -> None:
    assert scenario.error is None, scenario.error
    assert [run.dag_id for run in scenario.runs] == [PROSPECTING, PROSPECTING, HIRING, FOLLOWUP, HIRING]
    assert scenario.seconds < SCENARIO_DEADLINE_SECONDS


def test_runs_triggered_without_a_logical_date_succeed_task_by_task(scenario: Scenario) -> None:
    assert scenario.runs, scenario.error
    for run in scenario.runs:
        assert run.logical_date is None, f"{run.run_id} was meant to have no logical date"
        not_succeeded = {task: state for task, state in run.task_states.items() if state != "success"}
        assert run.state == "success" and not not_succeeded, f"{run.run_id}: {run.state}, {not_succeeded}"


def test_the_second_prospecting_run_spends_nothing_and_creates_nothing(scenario: Scenario) -> None:
    runs = scenario.of(PROSPECTING)
    assert len(runs) == 2, scenario.error
    first, second = runs
    assert first.grew("credits", "total") > 0 and first.grew("contacts", "total") > 0
    assert second.grew("credits", "total") == 0
    assert second.grew("contacts", "total") == 0
    assert second.grew("sequence_enrolments", "total") == 0


def test_nothing_is_duplicated(scenario: Scenario) -> None:
    stats = scenario.final_stats
    assert stats["contacts"]["duplicates_by_email"] == 0
    assert stats["sequence_enrolments"]["duplicates"] == 0
    assert stats["tasks"]["duplicates"] == 0, (
        f"{stats['tasks']['duplicates']} duplicate tasks (same contact, type, due date and user)"
    )


def test_rerunning_hiring_signals_after_the_reps_acted_creates_no_task(scenario: Scenario) -> None:
    runs = scenario.of(HIRING)
    assert len(runs) == 2, scenario.error
    first, second = runs
    if first.run_after[:10] != second.run_after[:10]:
        pytest.skip("the two runs straddle midnight UTC: their tasks are due on different days by design")
    assert first.grew("tasks", "total") > 0
    assert scenario.completed_call_tasks == first.grew("tasks", "total")
    assert second.grew("contacts", "total") == 0
    assert second.grew("tasks", "total") == 0, (
        f"the re-run created {second.grew('tasks', 'total'):g} call tasks again for contacts whose "
        "earlier task was completed"
    )


def test_the_api_key_is_in_no_file_under_airflow_home(scenario: Scenario) -> None:
    logs = list((scenario.airflow_home / "logs").rglob("*.log"))
    assert logs, "no task log was written: the search below would prove nothing"
    assert (scenario.airflow_home / "airflow.db").exists()
    assert files_holding(scenario.airflow_home, scenario.api_key) == []


def test_the_key_search_finds_a_key_where_there_is_one(tmp_path: Path) -> None:
    """The check above is worth something only if it can fail."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "attempt=1.log").write_text("X-Api-Key: canary-key-0123 sent")
    (tmp_path / "clean.log").write_text("X-Api-Key: ***")
    assert files_holding(tmp_path, "canary-key-0123") == ["logs/attempt=1.log"]
