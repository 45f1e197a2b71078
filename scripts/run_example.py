#!/usr/bin/env python3
"""The main job: run an example DAG end to end with ``airflow dags test``.

On a machine with nothing but Python 3.10+, this

1. creates ``.venv`` and installs the project with its ``dev`` extra (skipped when
   ``pyproject.toml`` has not changed since the last install; shared with ``run_tests.py``),
2. re-runs itself inside that venv,
3. points Airflow at an isolated home (``./.airflow-home``, SQLite) and runs ``airflow db migrate``,
4. starts the local Apollo sandbox on a free loopback port (or, with ``--live``, uses the
   real Apollo API with the key in ``APOLLO_API_KEY``: a key in the environment alone never
   spends credits),
5. runs ``airflow dags test <dag>`` with ``example_dags/`` as the DAGs folder, and
6. prints the run's summary (the ``summary`` task's return value) and the sandbox's own count
   of API calls, credits, contacts, tasks and enrolments.

Usage::

    python3 scripts/run_example.py                                    # prospecting on the sandbox
    python3 scripts/run_example.py --twice                            # ...and again: 0 credits the 2nd time
    python3 scripts/run_example.py --dag example_apollo_hiring_signals
    python3 scripts/run_example.py --dag example_apollo_task_followup  # runs hiring signals first
    python3 scripts/run_example.py --dag example_apollo_crm_export --twice  # CRM -> SQLite, reps act between
    python3 scripts/run_example.py --dag example_apollo_warehouse_to_apollo --twice  # table -> Apollo
    APOLLO_API_KEY=... python3 scripts/run_example.py --live --conf '{"sequence_name": "Q3 outbound",
        "email_account": "sdr@yourcompany.com"}'                      # real Apollo: real credits

Only the standard library is used at the top level: this runs before the venv exists.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bootstrap import BIN, PYTHON, ROOT, VENV, ensure_environment

DEFAULT_AIRFLOW_HOME = ROOT / ".airflow-home"
DAGS_FOLDER = ROOT / "example_dags"

#: The environment variable read for ``--live`` runs (and only for them).
API_KEY_VARIABLE = "APOLLO_API_KEY"

EXAMPLE_DAGS = (
    "example_apollo_prospecting",
    "example_apollo_hiring_signals",
    "example_apollo_task_followup",
    "example_apollo_crm_export",
    "example_apollo_warehouse_to_apollo",
)
SUMMARY_TASK_ID = "summary"
SANDBOX_SEED = 42


# --------------------------------------------------------------------------- environment
def _in_project_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def reexec_in_venv() -> int:
    """Run this script again with the venv's interpreter and return its exit code."""
    command = [str(PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]]
    if os.name == "nt":  # os.execv does not replace the process on Windows
        return subprocess.run(command).returncode
    os.execv(command[0], command)
    return 1  # unreachable


def isolate_airflow(airflow_home: Path) -> None:
    """Point this process (and so every Airflow command it starts) at the isolated home.

    Airflow reads its configuration when it is first imported, so this runs before any import
    of ``airflow``: the metadata DB queries below then read the same SQLite file.
    """
    os.environ.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        }
    )


def airflow_environment(connection_json: str) -> dict[str, str]:
    """The environment of the Airflow commands: this process's, plus the ``apollo_default`` connection."""
    return {**os.environ, "AIRFLOW_CONN_APOLLO_DEFAULT": connection_json}


def migrate_database(env: Mapping[str, str]) -> None:
    print(f"==> airflow db migrate (SQLite in {env['AIRFLOW_HOME']})", flush=True)
    result = subprocess.run(
        [str(BIN / "airflow"), "db", "migrate"], env=dict(env), cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"airflow db migrate failed with exit code {result.returncode}")


# ----------------------------------------------------------------------------- running
def run_dag(
    dag_id: str, env: Mapping[str, str], conf: Mapping[str, Any] | None, log_file: Path, timeout: float
) -> bool:
    """``airflow dags test`` one DAG; its whole output goes to ``log_file``. True on success.

    :param timeout: seconds before the run is stopped: a sensor waiting for a signal that never
        comes would otherwise keep ``airflow dags test`` polling for hours.
    """
    command = [str(BIN / "airflow"), "dags", "test", dag_id]
    if conf:
        command += ["--conf", json.dumps(conf)]
    print(f"==> airflow dags test {dag_id}   (full log: {_shown(log_file)})", flush=True)
    started = time.monotonic()
    with log_file.open("w") as log:
        try:
            code = subprocess.run(
                command, env=dict(env), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, timeout=timeout
            ).returncode
        except subprocess.TimeoutExpired:
            print(
                f"    stopped after {timeout:.0f}s (--timeout): a task was still waiting, most likely a "
                "sensor whose signal has not come. See the log.",
                flush=True,
            )
            return False
    state = latest_run_state(dag_id)
    print(
        f"    finished in {time.monotonic() - started:.1f}s: run state {state}, exit code {code}", flush=True
    )
    if code != 0 or state != "success":
        print("    why:\n      " + "\n      ".join(failure_reasons(log_file.read_text(errors="replace"))))
        return False
    return True


def _shown(path: Path) -> str:
    """``path`` relative to the checkout when it is inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


#: A raised exception's last traceback line: ``package.module.SomeError: message``.
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Timeout|Exceeded)\w*: .+")


def failure_reasons(log_text: str, limit: int = 5) -> list[str]:
    """The distinct exceptions a failed run's log reports, else its last lines."""
    reasons = list(dict.fromkeys(line for line in log_text.splitlines() if _EXCEPTION_LINE.match(line)))
    if not reasons:
        return log_text.splitlines()[-20:]
    return [reason if len(reason) <= 400 else reason[:400] + "..." for reason in reasons[:limit]]


def _latest_run_query(dag_id: str) -> Any:
    from airflow.models.dagrun import DagRun
    from sqlalchemy import select

    return select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)


def latest_run_state(dag_id: str) -> str | None:
    """The state of the DAG's latest run in the metadata DB (``airflow dags test`` exits 0 on failure)."""
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.scalars(_latest_run_query(dag_id)).first()
        return None if run is None else str(run.state)


def latest_summary(dag_id: str) -> Any:
    """The return value of the ``summary`` task in the DAG's most recent run, or ``None``."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.scalars(_latest_run_query(dag_id)).first()
        if run is None:
            return None
        row = session.scalars(
            XComModel.get_many(
                run_id=run.run_id, dag_ids=dag_id, task_ids=SUMMARY_TASK_ID, key="return_value"
            )
        ).first()
        return None if row is None else XComModel.deserialize_value(row)


# ---------------------------------------------------------------------------- printing
def print_summary(dag_id: str, summary: Any) -> None:
    print(f"\n--- summary of {dag_id} (task '{SUMMARY_TASK_ID}') ---")
    if summary is None:
        print("    (no summary: the run did not reach its summary task)")
        return
    print(json.dumps(summary, indent=2, sort_keys=False, default=str))


def print_sandbox_stats(
    label: str, stats: Mapping[str, Any], before: Mapping[str, Any] | None = None
) -> None:
    """The sandbox's counters (and what changed since ``before``, when given)."""

    def figure(path: tuple[str, ...]) -> float:
        def read(source: Mapping[str, Any] | None) -> float:
            value: Any = source or {}
            for key in path:
                value = value.get(key, 0) if isinstance(value, Mapping) else 0
            return float(value or 0)

        return read(stats) - read(before)

    print(f"\n--- sandbox stats: {label} ---")
    rows = [
        ("API calls", ("requests", "total")),
        ("credits spent", ("credits", "total")),
        ("contacts created", ("contacts", "total")),
        ("duplicate contacts (by email)", ("contacts", "duplicates_by_email")),
        ("sequence enrolments made", ("sequence_enrolments", "total")),
        ("duplicate enrolments", ("sequence_enrolments", "duplicates")),
        ("tasks created", ("tasks", "total")),
        ("duplicate tasks", ("tasks", "duplicates")),
        ("rate-limited answers (429)", ("rate_limited",)),
    ]
    for name, path in rows:
        print(f"    {name:<32} {figure(path):g}")
    calls = dict(stats.get("requests", {}).get("by_endpoint", {}))
    if before is not None:
        previous = before.get("requests", {}).get("by_endpoint", {})
        calls = {endpoint: n - previous.get(endpoint, 0) for endpoint, n in calls.items()}
    calls = {
        endpoint: n for endpoint, n in calls.items() if n and not endpoint.split(" ", 1)[-1].startswith("/_")
    }
    if calls:
        print("    API calls by endpoint:")
        for endpoint, count in sorted(calls.items(), key=lambda item: (-item[1], item[0])):
            print(f"      {count:>4}  {endpoint}")


# -------------------------------------------------------------------------------- main
def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--dag", choices=EXAMPLE_DAGS, default=EXAMPLE_DAGS[0], help="which example DAG to run"
    )
    parser.add_argument(
        "--twice", action="store_true", help="run the DAG a second time (the re-run should spend 0 credits)"
    )
    parser.add_argument(
        "--seed", type=int, default=SANDBOX_SEED, help="the sandbox world's seed (default 42)"
    )
    parser.add_argument(
        "--conf",
        type=json.loads,
        default=None,
        help="JSON object of DAG params to override, e.g. '{\"max_credits\": 5}'",
    )
    parser.add_argument(
        "--airflow-home",
        type=Path,
        default=DEFAULT_AIRFLOW_HOME,
        help="the isolated AIRFLOW_HOME (SQLite DB and logs); default ./.airflow-home",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help=f"run against the real Apollo API with the key in ${API_KEY_VARIABLE}: spends real credits "
        "(without --live the local sandbox is used, even when the key is set)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds before a DAG run is stopped (default 300; a sensor may wait for hours)",
    )
    return parser.parse_args(argv)


def select_api_key(live: bool, environ: Mapping[str, str]) -> str | None:
    """The key for a run against the real Apollo API, or ``None`` for a run on the sandbox.

    Only ``--live`` reaches the real API: a key left in the environment (a shell profile, a CI
    secret) must not spend credits by surprise. ``--live`` without a key is an error raised
    before anything is installed or started.
    """
    if not live:
        return None
    api_key = environ.get(API_KEY_VARIABLE, "").strip()
    if not api_key:
        raise SystemExit(
            f"--live runs the DAG against the real Apollo API and needs your key in {API_KEY_VARIABLE}, "
            f"which is not set. Run `export {API_KEY_VARIABLE}=<your key>` first (and pass your sequence "
            "and sender with --conf), or drop --live to use the local sandbox (no key, no credits)."
        )
    return api_key


def complete_open_call_tasks(sandbox: Any) -> int:
    """Play the sales reps: mark every open call task in the sandbox completed; returns how many."""
    open_calls = [
        task["id"]
        for task in sandbox.state.search_tasks({"type": "call"})
        if task.get("status") not in ("completed", "complete")
    ]
    if open_calls:
        sandbox.complete_tasks(open_calls)
    return len(open_calls)


def between_runs(dag_id: str, sandbox: Any, database: Path) -> None:
    """What changes between the runs of ``--twice``: the reps act (export), the table changes (upsert)."""
    import _crm_example as crm
    import _upsert_example as upsert

    if dag_id == crm.DAG_ID:
        crm.print_activity(sandbox.activity(**crm.ACTIVITY))
    elif dag_id == upsert.DAG_ID:
        upsert.change_some_rows(database)


def after_run(dag_id: str, summary: Any, database: Path) -> None:
    """The warehouse examples' own figures after a run (calls per object, tables, upsert counts)."""
    import _crm_example as crm
    import _upsert_example as upsert

    if dag_id == crm.DAG_ID:
        crm.print_calls_read(summary)
        crm.print_table_counts(database)
    elif dag_id == upsert.DAG_ID:
        upsert.print_upsert_counts(summary)


def run_on_sandbox(args: argparse.Namespace, log_dir: Path) -> int:
    import tempfile

    import _crm_example as crm
    import _upsert_example as upsert

    from airflow_provider_apollo.sandbox import ApolloSandbox

    started = time.monotonic()
    if os.environ.get(API_KEY_VARIABLE, "").strip():
        print(f"==> {API_KEY_VARIABLE} is set but not used: pass --live to run against the real Apollo API")
    # The warehouse examples (export, upsert) run on a seeded CRM with a SQLite warehouse.
    sizes = {crm.DAG_ID: crm.CRM_SIZES, upsert.DAG_ID: upsert.CRM_SIZES}.get(args.dag)
    scratch = tempfile.TemporaryDirectory(prefix="apollo-crm-")
    warehouse, database = crm.warehouse_connection(Path(scratch.name))
    with scratch, ApolloSandbox(seed=args.seed, **(sizes or {})) as sandbox:
        print(f"==> Apollo sandbox on {sandbox.base_url} (seed {args.seed}: no key, no network, no credits)")
        if args.seed != SANDBOX_SEED and args.dag != EXAMPLE_DAGS[0]:
            print(
                f"==> note: the hiring-signals DAG's default target_domains are accounts of the seed-"
                f"{SANDBOX_SEED} world; with --seed {args.seed} pass your own with --conf "
                "'{\"target_domains\": [...]}' (GET /_sandbox/world lists sample domains)."
            )
        env = airflow_environment(sandbox.connection_json)
        if sizes is not None:
            env["AIRFLOW_CONN_APOLLO_WAREHOUSE"] = warehouse
            print(f"==> warehouse: connection apollo_warehouse = SQLite {database}; CRM {sizes}")
            if args.dag == upsert.DAG_ID:
                upsert.seed_prospects(database, sandbox)
        migrate_database(env)

        if args.dag == "example_apollo_task_followup":
            # The follow-up DAG waits for completed call tasks: create some with the hiring
            # signals DAG, then complete them the way reps would in Apollo's UI.
            prerequisite = "example_apollo_hiring_signals"
            print(f"==> preparing call tasks for the follow-up: running {prerequisite} first")
            if not run_dag(prerequisite, env, None, log_dir / f"{prerequisite}.log", args.timeout):
                return 1
            print_summary(prerequisite, latest_summary(prerequisite))
            completed = complete_open_call_tasks(sandbox)
            print(f"==> sandbox: {completed} call tasks marked completed, as reps would in Apollo")

        runs = 2 if args.twice else 1
        for attempt in range(1, runs + 1):
            if attempt > 1:
                between_runs(args.dag, sandbox, database)
            before = sandbox.stats()
            suffix = f"-run{attempt}" if runs > 1 else ""
            if not run_dag(args.dag, env, args.conf, log_dir / f"{args.dag}{suffix}.log", args.timeout):
                print_sandbox_stats(f"run {attempt} (failed)", sandbox.stats(), before)
                return 1
            summary = latest_summary(args.dag)
            print_summary(args.dag, summary)
            print_sandbox_stats(f"run {attempt} of {args.dag}", sandbox.stats(), before)
            after_run(args.dag, summary, database)
        if runs > 1:
            print_sandbox_stats("both runs together", sandbox.stats())
    print(f"\n==> done in {time.monotonic() - started:.0f}s")
    return 0


def run_on_apollo(args: argparse.Namespace, api_key: str, log_dir: Path) -> int:
    print("==> --live: running against the real Apollo API (this spends real credits)")
    connection = json.dumps({"conn_type": "apollo", "password": api_key})
    env = airflow_environment(connection)
    migrate_database(env)
    runs = 2 if args.twice else 1
    for attempt in range(1, runs + 1):
        suffix = f"-run{attempt}" if runs > 1 else ""
        if not run_dag(args.dag, env, args.conf, log_dir / f"{args.dag}{suffix}.log", args.timeout):
            return 1
        print_summary(args.dag, latest_summary(args.dag))
    return 0


def main(argv: list[str]) -> int:
    args = parse_arguments(argv)  # before any install, so --help and typos answer at once
    api_key = select_api_key(args.live, os.environ)  # so does --live without a key
    if not _in_project_venv():
        ensure_environment()
        return reexec_in_venv()
    airflow_home = args.airflow_home.resolve()
    log_dir = airflow_home / "logs" / "run_example"
    log_dir.mkdir(parents=True, exist_ok=True)
    isolate_airflow(airflow_home)
    if api_key is not None:
        return run_on_apollo(args, api_key, log_dir)
    return run_on_sandbox(args, log_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
