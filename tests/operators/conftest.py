"""Fixtures for the operator tests: a hook double with the real hook's interface."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_apollo.hooks.apollo import ApolloHook


def make_hook() -> MagicMock:
    """A ``MagicMock(spec=ApolloHook)`` whose cost counters start at zero."""
    hook = MagicMock(spec=ApolloHook)
    hook.credits_spent = 0.0
    hook.requests_sent = 0
    return hook


@pytest.fixture
def hook() -> MagicMock:
    return make_hook()


@pytest.fixture
def context() -> dict[str, Any]:
    """The bits of the task context the operators use (``ti`` for XCom pushes)."""
    return {"ti": MagicMock(name="ti")}


@pytest.fixture
def attach(hook: MagicMock) -> Callable[[Any], Any]:
    """``attach(operator)`` gives the operator the hook double in place of its cached ``hook``."""

    def _attach(operator: Any) -> Any:
        operator.hook = hook
        return operator

    return _attach
