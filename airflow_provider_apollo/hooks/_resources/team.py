"""The team's settings: users, mailboxes, labels, custom fields, API usage."""

from __future__ import annotations

from typing import Any

from airflow_provider_apollo.exceptions import ApolloNotFoundError
from airflow_provider_apollo.hooks._answers import answer_list, answer_object
from airflow_provider_apollo.hooks._transport.pagination import MAX_PER_PAGE, PagedQuery
from airflow_provider_apollo.hooks._transport.sync_client import ApolloSyncClient


class TeamAPI(ApolloSyncClient):
    """Users, email accounts, labels, custom fields, usage stats."""

    def list_users(self) -> list[dict[str, Any]]:
        """``GET /users/search``, every page (master key)."""
        query = PagedQuery(
            "GET", "users/search", records_keys=("users",), what="users", per_page=MAX_PER_PAGE
        )
        return list(self._iter_pages(query))

    def list_email_accounts(self) -> list[dict[str, Any]]:
        """``GET /email_accounts``."""
        return self._listing("email_accounts")

    def list_labels(self) -> list[dict[str, Any]]:
        """``GET /labels`` (Apollo answers a bare list)."""
        return self._listing("labels")

    def list_custom_fields(self) -> list[dict[str, Any]]:
        """``GET /fields`` (falls back to the deprecated ``GET /typed_custom_fields``)."""
        try:
            return self._listing("fields")
        except ApolloNotFoundError:
            self.log.info(
                "GET fields is not available; falling back to the deprecated GET typed_custom_fields."
            )
        return self._listing("typed_custom_fields")

    def get_api_usage_stats(self) -> dict[str, Any]:
        """``POST /usage_stats/api_usage_stats`` (master key): per-endpoint limits and usage."""
        path = "usage_stats/api_usage_stats"
        return answer_object(self.request("POST", path), f"POST {path}")

    def _listing(self, path: str) -> list[dict[str, Any]]:
        """``GET /{path}``, whose records are under the key ``path`` (or a bare list)."""
        return answer_list(self.request("GET", path), path, f"GET {path}")
