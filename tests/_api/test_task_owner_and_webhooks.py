"""task_owner, webhooks, email_addresses, task_filters: the pure checks behind the contract fixes."""

from __future__ import annotations

import pytest

from airflow_provider_apollo._api.email_addresses import email_problem
from airflow_provider_apollo._api.task_filters import TaskSelection
from airflow_provider_apollo._api.task_owner import choose_task_owner
from airflow_provider_apollo._api.task_types import same_task_type
from airflow_provider_apollo._api.webhooks import public_https_url
from airflow_provider_apollo.exceptions import ApolloConfigurationError


def test_the_only_active_user_owns_the_tasks():
    owner = choose_task_owner([{"id": "u1", "name": "Ann"}, {"id": "u2", "deleted": True}])
    assert owner.user_id == "u1" and "only active user" in owner.reason


@pytest.mark.parametrize("users", [[], [{"id": "u1"}, {"id": "u2"}]])
def test_no_single_owner_is_an_error_naming_user_id(users):
    with pytest.raises(ApolloConfigurationError, match="Pass user_id="):
        choose_task_owner(users)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.acme.example/x",
        "https://8.8.8.8/p",
        "https://[2001:4860:4860::8888]/p",
        "https://hooks.acme.example:8443/x?y=1",
    ],
)
def test_public_https_urls_are_accepted(url):
    assert public_https_url("webhook_url", url) == url


@pytest.mark.parametrize(
    "url", ["ftp://x.example/p", "https://", "https://100.64.0.1/p", "https://fd00::1/p", 42]
)
def test_other_urls_are_refused(url):
    with pytest.raises(ApolloConfigurationError, match="webhook_url must be a public HTTPS URL"):
        public_https_url("webhook_url", url)


@pytest.mark.parametrize("email", ["ann@acme.example", "first.last+tag@sub.acme.co.uk", "josé@exämple.de"])
def test_plausible_emails_pass(email):
    assert email_problem(email) is None


@pytest.mark.parametrize(
    "email", ["ann", "ann@", "@acme.com", "a@@b.com", "a b@c.com", "a@b", "a@b.1", "a..b@c.com", "a@-b.com"]
)
def test_obviously_invalid_emails_are_named(email):
    assert email_problem(email)


def test_task_types_are_compared_across_apollos_spellings():
    assert same_task_type("contact_call", "call") and same_task_type("call", "contact_call")
    assert not same_task_type("contact_action_item", "call")


def test_type_and_task_types_together_must_both_hold():
    selection = TaskSelection.from_filters({"type": "call", "task_types": ["call", "action_item"]})
    assert selection.matches({"type": "contact_call"})
    assert not selection.matches({"type": "action_item"})


def test_a_filter_value_that_is_not_strings_is_refused():
    with pytest.raises(ApolloConfigurationError, match=r"contact_ids\[1\]"):
        TaskSelection.from_filters({"contact_ids": ["c1", 7]})
