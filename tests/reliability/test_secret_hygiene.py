"""Secret hygiene (issue 6, part 6): the API key never shows up where it can be read.

A canary key goes through end-to-end runs of both example DAGs, with a fault storm, a task
that fails for good and a refused key. Afterwards the canary must be absent from: every log
line (caplog at DEBUG, stdout/stderr, the files under AIRFLOW_HOME), every XCom value, every
rendered template field, every exception message and traceback, the sandbox's own logs,
and every URL and body the sandbox received. It must be present in one place only: the
``X-Api-Key`` header of the requests (proof that the canary really was the key in use).
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_apollo.exceptions import ApolloError
from airflow_provider_apollo.operators.search import ApolloSearchPeopleOperator
from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxFaults
from tests._support import running_sandbox

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]
WRONG_KEY = "CANARY-wrong-7c1d-not-a-real-key"


class RequestRecorder:
    """ASGI middleware in front of the sandbox: keeps each request's URL, headers and body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record: dict[str, Any] = {
            "url": scope["path"]
            + ("?" + scope["query_string"].decode("latin-1") if scope["query_string"] else ""),
            "headers": {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            "body": b"",
        }
        self.requests.append(record)

        async def recording_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                record["body"] += message.get("body", b"")
            return message

        await self.app(scope, recording_receive, send)


@pytest.fixture(scope="module")
def recorder() -> RequestRecorder:
    return RequestRecorder(app=None)  # type: ignore[arg-type]  # the app is set when the sandbox starts


@pytest.fixture(scope="module")
def sandbox(recorder: RequestRecorder, canary_key: str) -> Iterator[ApolloSandbox]:
    """This module's sandbox serves through the request recorder."""
    from airflow_provider_apollo.sandbox import app as sandbox_app

    build_app = sandbox_app.build_app

    def recording_app(*args: Any, **kwargs: Any) -> Any:
        recorder.app = build_app(*args, **kwargs)
        return recorder

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sandbox_app, "build_app", recording_app)
        with running_sandbox(patch=patch) as started:
            assert started.api_key == canary_key
            yield started


def _task_log_files() -> list[Path]:
    home = Path(os.environ["AIRFLOW_HOME"])
    return [path for path in home.rglob("*") if path.is_file() and path.suffix in (".log", ".json", "")]


def _rendered_fields(run: Any) -> list[Any]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(RenderedTaskInstanceFields).where(
                RenderedTaskInstanceFields.dag_id == run.dag_id,
                RenderedTaskInstanceFields.run_id == run.run_id,
            )
        )
        return [row.rendered_fields for row in rows]


def test_the_canary_key_appears_nowhere_after_runs_with_faults_and_failures(
    sandbox: ApolloSandbox,
    recorder: RequestRecorder,
    canary_key: str,
    example_dags: Any,
    reset_world: Callable[[ApolloSandbox], None],
    use_connection: Callable[..., None],
    fast_waits: list[float],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    record_figures: Callable[..., None],
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder.requests.clear()
    runs = []
    errors: list[BaseException] = []

    # 1. Both DAGs through a fault storm, with a short client timeout.
    reset_world(sandbox)
    use_connection(timeout=0.4, max_retries=4)
    storm = SandboxFaults(
        seed=7, error_5xx=0.1, burst_429=0.05, drop_connection=0.02, slow=0.01, slow_seconds=0.8
    )
    for dag_id in ("example_apollo_prospecting", "example_apollo_hiring_signals"):
        sandbox.configure(faults=storm.__class__(**{**storm.__dict__, "malformed_json": 0.01}))
        runs.append(example_dags.run(example_dags.load(dag_id)))
    faults = sandbox.stats()["faults"]["total"]

    # 2. A run whose enrichment fails for good: every bulk match answers 503, the DAG fails.
    reset_world(sandbox)
    use_connection(timeout=0.4, max_retries=1)
    sandbox.configure(faults=SandboxFaults(error_5xx=1.0, endpoints=["*/people/bulk_match"]))
    failed = example_dags.run(example_dags.load("example_apollo_prospecting"))
    runs.append(failed)
    sandbox.configure(faults=SandboxFaults())

    # 3. Errors raised in the caller's hands: a refused key and an exhausted retry budget.
    with pytest.raises(ApolloError) as refused:
        monkeypatch.setenv(
            "AIRFLOW_CONN_APOLLO_WRONG",
            json.dumps({"conn_type": "apollo", "host": sandbox.base_url, "password": WRONG_KEY}),
        )
        ApolloSearchPeopleOperator(task_id="s", apollo_conn_id="apollo_wrong", filters={}).execute({})  # type: ignore[arg-type]
    errors.append(refused.value)
    sandbox.configure(faults=SandboxFaults(drop_connection=1.0))
    with pytest.raises(ApolloError) as dropped:
        ApolloSearchPeopleOperator(task_id="s", filters={}).execute({})  # type: ignore[arg-type]
    errors.append(dropped.value)
    sandbox.configure(faults=SandboxFaults())

    # Where the canary must not be.
    out, err = capfd.readouterr()
    places: dict[str, str] = {
        "caplog (DEBUG, every logger incl. uvicorn and the sandbox)": caplog.text,
        "stdout/stderr": out + err,
        "task log files": "\n".join(p.read_text(errors="replace") for p in _task_log_files()),
        "XCom values": json.dumps([example_dags.xcoms(run) for run in runs], default=str),
        "rendered template fields": json.dumps([_rendered_fields(run) for run in runs], default=str),
        "exception messages and tracebacks": "\n".join(
            "".join(traceback.format_exception(error)) + repr(error) for error in errors
        ),
        "URLs received by the sandbox": "\n".join(r["url"] for r in recorder.requests),
        "bodies received by the sandbox": "\n".join(
            r["body"].decode("utf-8", "replace") for r in recorder.requests
        ),
    }
    leaks = [place for place, text in places.items() if canary_key in text or WRONG_KEY in text]
    record_figures(
        "secrets",
        "canary",
        {
            "dag_runs": len(runs),
            "run_states": [str(run.state) for run in runs],
            "faults_in_storm_runs": faults,
            "requests_received": len(recorder.requests),
            "log_files": len(_task_log_files()),
            "log_chars": len(caplog.text) + len(out) + len(err),
            "places_checked": sorted(places),
            "leaks": leaks,
        },
    )

    assert [str(run.state) for run in runs] == ["success", "success", "failed"]
    assert faults > 0 and len(recorder.requests) > 20
    assert places["task log files"] or places["stdout/stderr"], (
        "no task log was captured: nothing was checked"
    )
    assert places["rendered template fields"] != "[[], [], []]", (
        "no rendered field was stored: nothing was checked"
    )
    assert not leaks, f"the canary key leaked into: {leaks}"
    # Positive control: the key was in use, in the header and nowhere else in the request.
    keys_sent = {r["headers"].get("x-api-key") for r in recorder.requests}
    assert keys_sent == {canary_key, WRONG_KEY}
    assert sandbox.stats()["api_key_in_request"] == 0
