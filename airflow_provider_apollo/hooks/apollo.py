"""ApolloHook: the one public entry point to the Apollo.io REST API.

How a call travels: an operator calls an endpoint method of a resource module
(``resources/people.py``, ``contacts.py``...), which says *what* is sent; the sync front
door (``sync_client.py``) sends it with retries (``retry.py``) after quota pacing
(``quota.py``); ``api_call.py`` decides how the request is built and how the answer is
read, for this hook and for the async hook the triggers use alike. Pagination, bulk
batching and filter validation live in ``pagination.py``, ``batching.py`` and ``filters.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_apollo.exceptions import ApolloError
from airflow_provider_apollo.hooks import _connection_form as connection_form
from airflow_provider_apollo.hooks._resources.accounts import AccountsAPI
from airflow_provider_apollo.hooks._resources.contacts import ContactsAPI
from airflow_provider_apollo.hooks._resources.crm_export import CrmExportReads
from airflow_provider_apollo.hooks._resources.opportunities import OpportunitiesAPI
from airflow_provider_apollo.hooks._resources.organizations import OrganizationsAPI
from airflow_provider_apollo.hooks._resources.people import PeopleAPI
from airflow_provider_apollo.hooks._resources.sequences import SequencesAPI
from airflow_provider_apollo.hooks._resources.tasks import TASK_PRIORITIES, TASK_TYPES, TasksAPI
from airflow_provider_apollo.hooks._resources.team import TeamAPI
from airflow_provider_apollo.hooks._transport.http_errors import scrub, shorten

__all__ = ["TASK_PRIORITIES", "TASK_TYPES", "ApolloHook"]


class ApolloHook(
    PeopleAPI,
    OrganizationsAPI,
    ContactsAPI,
    AccountsAPI,
    SequencesAPI,
    TasksAPI,
    OpportunitiesAPI,
    TeamAPI,
    CrmExportReads,
):
    """Interact with the Apollo.io API (https://api.apollo.io/api/v1).

    Authentication, timeouts, retries (tenacity), quota pacing from Apollo's rate-limit
    headers, pagination and bulk batching all happen here, so operators stay thin.
    Constructing the hook is cheap: the connection is read at the first request.

    :param apollo_conn_id: Airflow connection of type ``apollo``; the password is the API key.
    :param timeout: seconds per request; overrides the connection extra ``timeout`` (default 30).
    :param max_retries: retries for 429/5xx/connection errors; overrides extra ``max_retries`` (default 5).
    """

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields of the connection form (Airflow 3.0/3.1; 3.2+ reads provider info)."""
        return connection_form.form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Hidden, relabelled and placeholder fields of the connection form."""
        return connection_form.field_behaviour()

    def test_connection(self) -> tuple[bool, str]:
        """``GET /auth/health``: ``(True, "...")`` when the key is accepted; never raises."""
        try:
            body = self.request("GET", "auth/health", max_retries=0)
        except ApolloError as exc:
            return False, str(exc)
        except Exception as exc:  # the UI's "Test" button must get an answer, never a traceback
            # ``config`` is a cached_property: present in __dict__ only once it was read.
            secret = self.__dict__["config"].api_key if "config" in self.__dict__ else None
            return False, shorten(scrub(f"{type(exc).__name__}: {exc}", secret))
        if isinstance(body, Mapping) and body.get("is_logged_in") is True:
            return True, f"Connected to Apollo at {self.base_url}"
        return False, (
            f"Apollo at {self.base_url} answered auth/health without is_logged_in=true: the key was not "
            f"accepted. Check the password of connection '{self.apollo_conn_id}'."
        )
