"""A local, stateful Apollo.io API for tests, demos and benchmarks (no key, no network).

    from airflow_provider_apollo.sandbox import ApolloSandbox

    with ApolloSandbox(seed=42) as sb:
        os.environ.update(sb.env)  # apollo_default now points at the sandbox

This package imports no web framework; FastAPI and uvicorn load when a sandbox starts.
"""

from __future__ import annotations

from airflow_provider_apollo.sandbox.faults import SandboxFaults
from airflow_provider_apollo.sandbox.ratelimit import SandboxLimits, WindowLimits
from airflow_provider_apollo.sandbox.server import DEFAULT_API_KEY, DEFAULT_NON_MASTER_KEY, ApolloSandbox

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_NON_MASTER_KEY",
    "ApolloSandbox",
    "SandboxFaults",
    "SandboxLimits",
    "WindowLimits",
]
