"""pytest plugin (entry point ``apollo_sandbox``): the ``apollo_sandbox`` fixture.

    def test_my_dag(apollo_sandbox):
        # AIRFLOW_CONN_APOLLO_DEFAULT points at the sandbox for this test
        ...
        assert apollo_sandbox.stats()["tasks"]["duplicates"] == 0

Configure it per test with ``@pytest.mark.apollo_sandbox(seed=7, people=200, limits=...)``
(any ``ApolloSandbox`` argument; ``crm_contacts=2000, crm_accounts=200`` seeds the team's CRM,
which is otherwise empty). ``apollo_default`` uses the sandbox's master key; the
fixture also issues a non-master key (``apollo_sandbox.non_master_key``), which Apollo's
master-only endpoints answer 403 (set ``apollo_sandbox.non_master_env`` to use it).

Loaded at every pytest start, so nothing heavy is imported here: the server and its web
framework load when a test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_apollo.sandbox.server import ApolloSandbox

MARKER = "apollo_sandbox"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**kwargs): arguments for the apollo_sandbox fixture (any ApolloSandbox argument)",
    )


@pytest.fixture
def apollo_sandbox(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ApolloSandbox]:
    """A running Apollo sandbox for one test, with ``apollo_default`` pointing at it.

    ``apollo_default`` holds the master key (``.api_key``); ``.non_master_key`` is a second,
    limited key. Defaults are small (500 people) so the fixture costs a fraction of a second.
    """
    from airflow_provider_apollo.sandbox.server import ApolloSandbox

    options: dict[str, Any] = {"people": 500}
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword arguments only, e.g. seed=7")
        options.update(marker.kwargs)
    with ApolloSandbox(**options) as sandbox:
        for name, value in sandbox.env.items():
            monkeypatch.setenv(name, value)
        yield sandbox
