"""``ApolloSandbox``: the sandbox served by uvicorn in a background thread, as a context manager."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from airflow_provider_apollo.sandbox.crm_seed import CrmSizes
from airflow_provider_apollo.sandbox.faults import FaultInjector, SandboxFaults
from airflow_provider_apollo.sandbox.ratelimit import RateLimiter, SandboxLimits
from airflow_provider_apollo.sandbox.runtime import SandboxRuntime
from airflow_provider_apollo.sandbox.state import SandboxState
from airflow_provider_apollo.sandbox.world import Record, generate_world

DEFAULT_API_KEY = "sandbox-key"
DEFAULT_NON_MASTER_KEY = "sandbox-non-master-key"
_START_TIMEOUT_SECONDS = 15.0


class ApolloSandbox:
    """A local, stateful Apollo API on a loopback port, for tests, demos and benchmarks.

    ``with ApolloSandbox() as sb:`` starts it on a free port; point the ``apollo_default``
    connection at it with ``sb.env`` (or ``sb.connection_json``).

    :param api_key: the key clients must send in ``X-Api-Key`` (a master key unless
        ``master_key=False``).
    :param seed: world seed: same seed, same people, organizations and ids.
    :param people: people in Apollo's database.
    :param organizations: organizations; default one per ten people.
    :param limits: rate limits; default paid-plan figures (tests are not throttled).
    :param faults: injected faults; default none.
    :param master_key: whether ``api_key`` is a master key (else master-only endpoints answer 403).
    :param host: interface to bind; keep the loopback default unless you know why not.
    :param port: port to bind; 0 picks a free one.
    :param oauth_tokens: tokens accepted as ``Authorization: Bearer``.
    :param non_master_key: a second key, never a master key: master-only endpoints answer it
        403, as Apollo does (``None`` issues none).
    :param reference_time: "now" of the generated job postings and of the seeded CRM's
        history; default today 00:00 UTC.
    :param crm_contacts: contacts in the seeded CRM (default 0: the CRM starts empty).
    :param crm_accounts: accounts in the seeded CRM.
    :param crm_deals: opportunities in the seeded CRM.
    :param crm_tasks: tasks in the seeded CRM (on seeded contacts).
    :param crm_users: users of the team, the owner included (owners of seeded records).
    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        seed: int = 42,
        people: int = 5000,
        organizations: int | None = None,
        limits: SandboxLimits | None = None,
        faults: SandboxFaults | None = None,
        master_key: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        oauth_tokens: Sequence[str] = (),
        non_master_key: str | None = DEFAULT_NON_MASTER_KEY,
        reference_time: datetime | None = None,
        crm_contacts: int = 0,
        crm_accounts: int = 0,
        crm_deals: int = 0,
        crm_tasks: int = 0,
        crm_users: int = 1,
    ) -> None:
        if not api_key:
            raise ValueError("api_key must be a non-empty string")
        if non_master_key == api_key:
            raise ValueError("non_master_key must differ from api_key: one key cannot be both")
        if non_master_key is not None and not non_master_key:
            raise ValueError("non_master_key must be a non-empty string, or None for no such key")
        self.api_key = api_key
        self.non_master_key = non_master_key
        self.host = host
        self._requested_port = port
        world = generate_world(
            seed=seed, people=people, organizations=organizations, reference_time=reference_time
        )
        self.runtime = SandboxRuntime(
            state=SandboxState(
                lambda: world,
                CrmSizes(
                    contacts=crm_contacts,
                    accounts=crm_accounts,
                    deals=crm_deals,
                    tasks=crm_tasks,
                    users=crm_users,
                ),
            ),
            api_key=api_key,
            oauth_tokens=tuple(oauth_tokens),
            master_key=master_key,
            non_master_keys=() if non_master_key is None else (non_master_key,),
            limiter=RateLimiter(limits or SandboxLimits()),
            injector=FaultInjector(faults or SandboxFaults()),
        )
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port: int | None = None

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> ApolloSandbox:
        """Bind the port and serve in a daemon thread; returns once it accepts connections."""
        if self._thread is not None:
            raise RuntimeError("this ApolloSandbox is already running; call stop() first")
        import uvicorn  # heavy: only when a sandbox really starts

        from airflow_provider_apollo.sandbox.app import build_app

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        sock.listen(128)
        sock.set_inheritable(True)
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            build_app(self.runtime),
            log_level="warning",
            access_log=False,
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            # A "slow" fault may still be sleeping at shutdown: do not wait 35 s for it.
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"apollo-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Apollo sandbox did not start on {self.host}:{self.port}")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        self.runtime.stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = None
        self._thread = None
        self._socket = None
        self.runtime.stopping.clear()

    def __enter__(self) -> ApolloSandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ---------------------------------------------------------------- addresses
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no ``/api/v1``: that is the client's business)."""
        if self.port is None:
            raise RuntimeError("the sandbox is not started; use 'with ApolloSandbox() as sb' or sb.start()")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def connection_json(self) -> str:
        """An Airflow connection of type ``apollo`` pointing here with ``api_key``, as JSON."""
        return self.connection_json_for(self.api_key)

    def connection_json_for(self, key: str) -> str:
        """An Airflow connection of type ``apollo`` pointing here with ``key``, as JSON.

        :param key: e.g. ``sb.non_master_key`` to see what a limited key is refused.
        """
        return json.dumps({"conn_type": "apollo", "host": self.base_url, "password": key})

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that make ``apollo_default`` point here (with ``api_key``)."""
        return {"AIRFLOW_CONN_APOLLO_DEFAULT": self.connection_json}

    @property
    def non_master_env(self) -> dict[str, str]:
        """Environment variables that make ``apollo_default`` use the non-master key."""
        if self.non_master_key is None:
            raise RuntimeError("this sandbox issued no non-master key; pass non_master_key='...'")
        return {"AIRFLOW_CONN_APOLLO_DEFAULT": self.connection_json_for(self.non_master_key)}

    # ---------------------------------------------------------------- inspection and control
    @property
    def state(self) -> SandboxState:
        """The in-process state (records, world, counters), for assertions in tests."""
        return self.runtime.state

    def stats(self) -> dict[str, Any]:
        """Same JSON as ``GET /_sandbox/stats``."""
        return self.runtime.state.stats()

    def reset(self, **crm_sizes: int) -> None:
        """Back to the freshly generated world and seeded CRM, counters and windows zeroed.

        :param crm_sizes: new CRM sizes to seed, e.g. ``crm_contacts=60000`` (as
            ``POST /_sandbox/config`` then ``POST /_sandbox/reset``); default the current ones.
        """
        unknown = set(crm_sizes) - CrmSizes.config_keys()
        if unknown:
            raise ValueError(f"unknown CRM sizes {sorted(unknown)}; use {sorted(CrmSizes.config_keys())}")
        state = self.runtime.state
        state.crm_sizes = state.crm_sizes.with_config(crm_sizes)
        self.runtime.reset()

    def activity(self, **counts: int) -> dict[str, Any]:
        """A seeded burst of rep activity (same body and answer as ``POST /_sandbox/activity``).

        :param counts: ``seed``, ``update``, ``create``, ``delete``, ``move_stage``,
            ``account_update``...
        """
        from airflow_provider_apollo.sandbox.activity import run_activity

        return run_activity(self.runtime.state, dict(counts))

    def configure(self, limits: SandboxLimits | None = None, faults: SandboxFaults | None = None) -> None:
        """Change limits and/or faults while running.

        :param limits: new limits (usage so far is kept).
        :param faults: new faults (the seeded sequence restarts).
        """
        if limits is not None:
            self.runtime.limiter.configure(limits)
        if faults is not None:
            self.runtime.injector.configure(faults)

    def add_job_postings(self, organization_id: str, postings: Sequence[dict[str, Any]]) -> list[Record]:
        """Publish job postings at an organization (what a job-postings sensor waits for).

        :param organization_id: world organization id.
        :param postings: ``{"title": ..., "posted_at": iso}`` dicts.
        """
        return self.runtime.state.add_job_postings(organization_id, postings)

    def complete_tasks(self, task_ids: Sequence[str]) -> list[Record]:
        """Mark tasks completed, as a rep would in Apollo.

        :param task_ids: task ids.
        """
        return self.runtime.state.complete_tasks(task_ids)
