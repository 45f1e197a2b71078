"""Provider metadata read by Airflow's ProvidersManager.

Kept in its own module with no imports from the package's submodules: Airflow calls it
during discovery, and discovery must stay cheap and free of side effects. The version comes
from the package's ``__init__`` (already run to reach this module), where it is written once.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_apollo import __version__

_INTEGRATION = "Apollo.io"
_PACKAGE = "airflow_provider_apollo"


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata (the equivalent of an official provider.yaml)."""
    return {
        "package-name": "airflow-provider-apollo",
        "name": "Apollo.io",
        "description": "Apollo.io sales-intelligence API: people and organization search, enrichment, "
        "contacts, sequences, tasks and hiring signals.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://docs.apollo.io/",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": _INTEGRATION, "python-modules": [f"{_PACKAGE}.hooks.apollo"]}],
        "operators": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    f"{_PACKAGE}.operators.search",
                    f"{_PACKAGE}.operators.enrichment",
                    f"{_PACKAGE}.operators.contacts",
                    f"{_PACKAGE}.operators.sequences",
                    f"{_PACKAGE}.operators.tasks",
                    f"{_PACKAGE}.operators.generic",
                ],
            }
        ],
        "transfers": [
            {
                "source-integration-name": _INTEGRATION,
                "target-integration-name": "Common SQL",
                "python-module": f"{_PACKAGE}.transfers.apollo_to_sql",
                "how-to-guide": "/docs/howto/crm-export.md",
            },
            {
                "source-integration-name": "Common SQL",
                "target-integration-name": _INTEGRATION,
                "python-module": f"{_PACKAGE}.transfers.warehouse_to_apollo",
                "how-to-guide": "/docs/howto/warehouse-to-apollo.md",
            },
        ],
        # The operators' links (operators/links.py), as `airflow providers links` lists them.
        "extra-links": [
            f"{_PACKAGE}.operators.links.ApolloContactsLink",
            f"{_PACKAGE}.operators.links.ApolloSequenceLink",
            f"{_PACKAGE}.operators.links.ApolloTasksLink",
        ],
        "sensors": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [f"{_PACKAGE}.sensors.job_postings", f"{_PACKAGE}.sensors.tasks"],
            }
        ],
        "triggers": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    f"{_PACKAGE}.triggers.job_postings",
                    f"{_PACKAGE}.triggers.tasks",
                    f"{_PACKAGE}.triggers.quota_window",
                ],
            }
        ],
        "connection-types": [
            {
                "hook-class-name": f"{_PACKAGE}.hooks.apollo.ApolloHook",
                "hook-name": "Apollo",
                "connection-type": "apollo",
                # Airflow 3.2+ builds the connection form from these two keys alone; the
                # hook's classmethods say the same for Airflow 3.1 (String/Integer fields only).
                "conn-fields": {
                    "timeout": {
                        "label": "Timeout (seconds)",
                        "schema": {"type": ["number", "null"], "default": 30, "minimum": 1},
                        "description": "Seconds before one request to Apollo is abandoned.",
                    },
                    "max_retries": {
                        "label": "Max retries",
                        "schema": {"type": ["integer", "null"], "default": 5, "minimum": 0},
                        "description": "Retries for 429, 5xx and connection errors.",
                    },
                    "auth_type": {
                        "label": "Auth type",
                        "schema": {
                            "type": ["string", "null"],
                            "default": "api_key",
                            "enum": ["api_key", "oauth"],
                        },
                        "description": "api_key sends X-Api-Key; oauth sends Authorization: Bearer.",
                    },
                    "max_quota_wait": {
                        "label": "Max quota wait (seconds)",
                        "schema": {"type": ["number", "null"], "default": 900, "minimum": 0},
                        "description": "Longest wait for a rate-limit window to reopen before failing.",
                    },
                    "max_concurrency": {
                        "label": "Max concurrent requests",
                        "schema": {"type": ["integer", "null"], "default": 8, "minimum": 1},
                        "description": "Requests of one task in flight at once (1: one at a time).",
                    },
                    "quota_store": {
                        "label": "Quota store",
                        "schema": {"type": ["string", "null"]},
                        "description": "Where workers share this key's rate-limit windows: an absolute "
                        "directory for the workers of one host (default $AIRFLOW_HOME/apollo-quota), "
                        "redis:<redis connection id> for every host of a Celery or Kubernetes deployment "
                        "(needs airflow-provider-apollo[redis]), or none: per process.",
                    },
                    "quota_store_fallback": {
                        "label": "If the quota store is unreachable",
                        "schema": {"type": ["string", "null"], "enum": ["process", "fail"]},
                        "description": "process: pace each process alone (with a warning); fail: fail the "
                        "task before sending. Default: process for a directory, fail for Redis.",
                    },
                    "quota_reserve": {
                        "label": "Quota reserve for normal priority",
                        "schema": {"type": ["string", "null"]},
                        "description": 'JSON such as {"hour": 0.3, "day": 0.3}: tasks with priority="low" '
                        "stop when 30 % of the hourly or daily window is left.",
                    },
                    "quota_batch": {
                        "label": "Quota admissions per store visit",
                        "schema": {"type": ["integer", "null"], "default": 16, "minimum": 1},
                        "description": "Admissions a process takes from the shared store at once while "
                        "plenty of the window is left (1: ask the store for every request).",
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login", "extra"],
                    "relabeling": {"password": "API Key", "host": "Base URL (optional)"},
                    "placeholders": {
                        "host": "https://api.apollo.io (or http://127.0.0.1:8899 for the sandbox)",
                        "password": "Apollo API key (Settings > Integrations > API)",
                        "timeout": "30",
                        "max_retries": "5",
                        "auth_type": "api_key",
                        "max_quota_wait": "900",
                        "max_concurrency": "8",
                        "quota_store": "$AIRFLOW_HOME/apollo-quota, redis:redis_default, or none",
                        "quota_store_fallback": "process (directory) / fail (Redis)",
                        "quota_reserve": '{"hour": 0.3, "day": 0.3}',
                        "quota_batch": "16",
                    },
                },
            }
        ],
    }
