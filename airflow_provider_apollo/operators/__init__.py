"""Apollo operators: ``from airflow_provider_apollo.operators import ApolloSearchPeopleOperator``.

The names resolve lazily (PEP 562), so importing this package does not import the hook
or Airflow's operator machinery until an operator is actually used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_apollo.operators.contacts import (
        ApolloCreateContactsOperator,
        ApolloUpdateContactStageOperator,
    )
    from airflow_provider_apollo.operators.enrichment import (
        ApolloEnrichOrganizationsOperator,
        ApolloEnrichPeopleOperator,
    )
    from airflow_provider_apollo.operators.generic import ApolloOperator
    from airflow_provider_apollo.operators.search import (
        ApolloSearchOrganizationsOperator,
        ApolloSearchPeopleOperator,
    )
    from airflow_provider_apollo.operators.sequences import (
        ApolloAddToSequenceOperator,
        ApolloRemoveFromSequenceOperator,
    )
    from airflow_provider_apollo.operators.tasks import ApolloCreateTasksOperator

_MODULE_OF = {
    "ApolloSearchPeopleOperator": "search",
    "ApolloSearchOrganizationsOperator": "search",
    "ApolloEnrichPeopleOperator": "enrichment",
    "ApolloEnrichOrganizationsOperator": "enrichment",
    "ApolloCreateContactsOperator": "contacts",
    "ApolloUpdateContactStageOperator": "contacts",
    "ApolloAddToSequenceOperator": "sequences",
    "ApolloRemoveFromSequenceOperator": "sequences",
    "ApolloCreateTasksOperator": "tasks",
    "ApolloOperator": "generic",
}

__all__ = [
    "ApolloAddToSequenceOperator",
    "ApolloCreateContactsOperator",
    "ApolloCreateTasksOperator",
    "ApolloEnrichOrganizationsOperator",
    "ApolloEnrichPeopleOperator",
    "ApolloOperator",
    "ApolloRemoveFromSequenceOperator",
    "ApolloSearchOrganizationsOperator",
    "ApolloSearchPeopleOperator",
    "ApolloUpdateContactStageOperator",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULE_OF])
