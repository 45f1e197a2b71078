"""Endpoint paths and templates (endpoints.py)."""

from __future__ import annotations

import pytest

from airflow_provider_apollo._api.endpoints import normalize_path, path_template
from airflow_provider_apollo.exceptions import ApolloConfigurationError


@pytest.mark.parametrize(
    ("path", "normalized", "template"),
    [
        ("contacts/search", "contacts/search", "contacts/search"),
        ("/api/v1/contacts/", "contacts", "contacts"),
        ("/v1/people/bulk_match", "people/bulk_match", "people/bulk_match"),
        ("contacts/64f0c3e2a1b2c3d4e5f60718", "contacts/64f0c3e2a1b2c3d4e5f60718", "contacts/{id}"),
        ("organizations/5e66b6381e05b4008c8331b8/job_postings", None, "organizations/{id}/job_postings"),
        ("usage_stats/api_usage_stats", "usage_stats/api_usage_stats", "usage_stats/api_usage_stats"),
    ],
)
def test_paths(path: str, normalized: str | None, template: str) -> None:
    relative = normalize_path(path)
    if normalized is not None:
        assert relative == normalized
    assert path_template(relative) == template


@pytest.mark.parametrize(
    "path", ["https://api.apollo.io/api/v1/x", "contacts?api_key=1", "", "/", "../secrets"]
)
def test_bad_paths(path: str) -> None:
    with pytest.raises(ApolloConfigurationError):
        normalize_path(path)
