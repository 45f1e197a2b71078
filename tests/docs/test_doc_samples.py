"""Every Python sample in the README and the docs runs, against the sandbox, in CI.

A sample that drifts from the code fails here instead of in a newcomer's first hour.

How the samples are found: each fenced block whose info string is ``python`` (or ``py``) in
``README.md``, ``docs/*.md`` and ``docs/howto/*.md``. A block runs unless the line right
before its fence is a marker naming why it cannot run on its own::

    <!-- not-run: a signature with upstream tasks the page does not define -->

The marker is an HTML comment, so neither GitHub nor the Sphinx site shows it. A marker
without a reason fails, and so does any unmarked block that does not run.

How a sample runs: in a fresh namespace, with ``apollo_default`` pointing at a running
sandbox (the ``apollo_sandbox`` fixture, as a user's own tests would use it) and the
current directory a temporary one. A sample that defines DAGs is written to a DAGs folder
of its own and each of its DAGs runs once with ``dag.test()`` on the test session's SQLite
metadata DB; the run must succeed and must have called Apollo. Samples without a DAG only
have to run without an error.

A DAG sample's sandbox is the default world (seed 42, 5,000 people), the one
``apollo-sandbox`` serves, so the README's first DAG finds the people the README says it
finds (``WHAT_THE_PAGES_SAY``); the other samples get the fixture's small world. A sensor in a sample
pokes every second (as in tests/e2e), and a stand-in rep completes the sandbox's open tasks
while a DAG runs, as a rep would in Apollo: a task sensor's sample then finishes.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow.sdk import DAG

    from airflow_provider_apollo.sandbox import ApolloSandbox

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "docs" / "howto").glob("*.md")),
]
NOT_RUN = re.compile(r"^<!--\s*not-run:(?P<reason>.*?)-->\s*$")
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
PYTHON = {"python", "py", "python3"}
SENSOR_POKE_SECONDS = 1.0
#: Figures a page states about its DAG's run on the sandbox (the README: "finds 4 people, ...").
WHAT_THE_PAGES_SAY: dict[str, dict[str, float]] = {
    "weekly_prospecting": {"credits.total": 4, "contacts.total": 4, "sequence_enrolments.total": 3},
}
SENSOR_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Sample:
    """One fenced Python block of a page."""

    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    not_run: str | None  # the marker's reason; None when the block must run

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def python_samples(path: Path) -> list[Sample]:
    """The fenced Python blocks of one Markdown page, with their ``not-run`` markers."""
    lines = path.read_text().splitlines()
    samples: list[Sample] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, info = opening["fence"], opening["info"].strip()
        end = index + 1
        while end < len(lines) and not lines[end].startswith(fence):
            end += 1
        language = info.split()[0].lower() if info else ""
        if language in PYTHON:
            marker = NOT_RUN.match(lines[index - 1].strip()) if index > 0 else None
            samples.append(
                Sample(
                    path=path,
                    line=index + 1,
                    code="\n".join(lines[index + 1 : end]) + "\n",
                    not_run=marker["reason"].strip() if marker else None,
                )
            )
        index = end + 1
    return samples


SAMPLES = [sample for path in DOC_FILES for sample in python_samples(path)]


def test_the_pages_have_samples_and_every_not_run_marker_says_why() -> None:
    assert len(SAMPLES) >= 20, [s.where for s in SAMPLES]
    runnable = [s for s in SAMPLES if s.not_run is None]
    assert any("with DAG(" in s.code for s in runnable), (
        "the README's first DAG must be among the samples run"
    )
    unexplained = [s.where for s in SAMPLES if s.not_run == ""]
    assert not unexplained, f"not-run markers without a reason: {unexplained}"


def test_the_marker_is_read_only_right_before_a_fence(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- not-run: a fragment -->\n```python\nundefined_name\n```\n\n"
        "<!-- not-run: a fragment -->\n\n```python\nprint(1)\n```\n"
        "```python no-run\nx = 1\n```\n```bash\nexit 1\n```\n"
    )
    assert [(s.line, s.not_run) for s in python_samples(page)] == [(2, "a fragment"), (8, None), (11, None)]


# ------------------------------------------------------------------------------ running them
@pytest.fixture(scope="module")
def doc_dags_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A migrated metadata DB whose DAGs folder holds the samples' DAG files.

    ``dag.test()`` runs a DAG only once it found it in a DAG bundle, so each DAG sample is
    written there first (as tests/e2e does for the example DAGs). ``airflow.settings`` keeps
    its own copy of ``[core] dags_folder``, so both are patched.
    """
    folder = tmp_path_factory.mktemp("doc-dags")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(folder))
        from airflow import settings
        from airflow.utils.db import initdb

        patch.setattr(settings, "DAGS_FOLDER", str(folder))
        initdb()
        yield folder


def _dags_in(namespace: dict[str, Any]) -> list[DAG]:
    """The DAGs a sample defined: named ones, and those reached through a named task or output."""
    from airflow.sdk import DAG

    found: dict[str, DAG] = {}
    for value in list(namespace.values()):
        candidates = [
            value,
            getattr(value, "dag", None),
            getattr(getattr(value, "operator", None), "dag", None),
        ]
        for candidate in candidates:
            if isinstance(candidate, DAG):
                found.setdefault(candidate.dag_id, candidate)
    return list(found.values())


def _load_module(path: Path) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location(f"doc_sample_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return vars(module)


@contextmanager
def a_rep_completing_tasks(sandbox: ApolloSandbox) -> Iterator[None]:
    """A background thread that completes every open task of the sandbox, twice a second."""
    stop = threading.Event()

    def work() -> None:
        while not stop.wait(0.5):
            with sandbox.state.lock:
                tasks = list(sandbox.state.tasks.values())
            open_tasks = [task["id"] for task in tasks if task.get("status") != "completed"]
            if open_tasks:
                sandbox.complete_tasks(open_tasks)

    rep = threading.Thread(target=work, name="stand-in-rep", daemon=True)
    rep.start()
    try:
        yield
    finally:
        stop.set()
        rep.join()


def _fast_sensors(dag: DAG) -> None:
    from airflow.sdk import BaseSensorOperator

    for task in dag.tasks:
        if isinstance(task, BaseSensorOperator):
            task.poke_interval = min(task.poke_interval, SENSOR_POKE_SECONDS)
            task.timeout = SENSOR_TIMEOUT_SECONDS


def _is_dag_sample(sample: Sample) -> bool:
    return "DAG(" in sample.code or "@dag" in sample.code


# The DAG samples run on the default world (what their pages' figures are about); the others
# only need a sandbox to talk to, and get the fixture's small, quick one.
RUNNABLE = [
    pytest.param(sample, id=sample.where, marks=[pytest.mark.apollo_sandbox(people=5000)])
    if _is_dag_sample(sample)
    else pytest.param(sample, id=sample.where)
    for sample in SAMPLES
    if sample.not_run is None
]


@pytest.mark.parametrize("sample", RUNNABLE)
def test_sample_runs_against_the_sandbox(
    sample: Sample,
    apollo_sandbox: ApolloSandbox,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    if not _is_dag_sample(sample):
        exec(compile(sample.code, sample.where, "exec"), {"__name__": "doc_sample"})
        return

    folder: Path = request.getfixturevalue("doc_dags_folder")
    stem = re.sub(r"\W+", "_", sample.where).strip("_")
    file = folder / f"{stem}.py"
    file.write_text(sample.code)
    dags = _dags_in(_load_module(file))
    assert dags, f"{sample.where} looks like a DAG sample but defines no DAG"
    for dag in dags:
        _fast_sensors(dag)
        before = apollo_sandbox.stats()["requests"]["total"]
        with a_rep_completing_tasks(apollo_sandbox):
            run = dag.test()
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
        assert str(run.state) == "success", f"{sample.where}: {dag.dag_id} ended {run.state}: {states}"
        assert apollo_sandbox.stats()["requests"]["total"] > before, f"{dag.dag_id} never called Apollo"
        stats = apollo_sandbox.stats()
        for counter, expected in WHAT_THE_PAGES_SAY.get(dag.dag_id, {}).items():
            section, key = counter.split(".")
            assert stats[section][key] == expected, f"{sample.where}: {dag.dag_id} {counter}"
