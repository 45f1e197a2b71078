from __future__ import annotations

import pytest

from airflow_provider_apollo._api.endpoints import normalize_path
from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.operators.generic import ApolloOperator


def test_sends_one_request_and_returns_the_json(hook, attach, context):
    hook.request.return_value = {"opportunities": [{"id": "o1"}]}
    op = attach(
        ApolloOperator(
            task_id="g", method="get", endpoint="/api/v1/opportunities/search", query_params={"page": 2}
        )
    )

    assert op.execute(context) == {"opportunities": [{"id": "o1"}]}
    hook.request.assert_called_once_with(
        "GET", "opportunities/search", params={"page": 2}, json=None, retry_safe=True
    )


def test_task_creation_is_not_blindly_retried(hook, attach, context):
    attach(ApolloOperator(task_id="g", method="POST", endpoint="tasks", data={"contact_ids": ["c"]})).execute(
        context
    )
    assert hook.request.call_args.kwargs == {
        "params": None,
        "json": {"contact_ids": ["c"]},
        "retry_safe": False,
    }


def test_retry_safe_can_be_declared(hook, attach, context):
    attach(ApolloOperator(task_id="g", method="POST", endpoint="notes", data={}, retry_safe=False)).execute(
        context
    )
    assert hook.request.call_args.kwargs["retry_safe"] is False


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("accounts/search", "accounts/search"),
        ("/accounts/search", "accounts/search"),
        ("/api/v1/accounts/search", "accounts/search"),
        ("v1/contacts/abc", "contacts/abc"),
    ],
)
def test_endpoint_is_made_relative(endpoint, expected):
    assert normalize_path(endpoint, argument="endpoint") == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"method": "HEAD", "endpoint": "x"},
            "method must be one of 'GET', 'POST', 'PUT', 'PATCH', 'DELETE'",
        ),
        ({"method": "GET", "endpoint": "https://evil.example/api/v1/users"}, "not a URL"),
        ({"method": "GET", "endpoint": "//evil.example/x"}, "not a URL"),
        ({"method": "GET", "endpoint": "contacts/../../admin"}, "must name an Apollo path"),
        ({"method": "GET", "endpoint": "/api/v1/"}, "must name an Apollo path"),
        ({"method": "GET", "endpoint": "labels", "data": {"a": 1}}, "use query_params for a GET"),
        ({"method": "POST", "endpoint": "labels", "data": ["a"]}, "data must be a mapping"),
        ({"method": "GET", "endpoint": "labels", "query_params": "page=2"}, "query_params must be a mapping"),
    ],
)
def test_arguments_are_checked_before_any_call(hook, attach, context, kwargs, message):
    with pytest.raises(ApolloConfigurationError, match=message):
        attach(ApolloOperator(task_id="g", **kwargs)).execute(context)
    assert hook.method_calls == []


def test_endpoint_data_and_query_params_are_templated_and_dag_params_still_work():
    op = ApolloOperator(
        task_id="g",
        method="PATCH",
        endpoint="accounts/{{ params.account_id }}",
        data={"name": "{{ params.name }}"},
        query_params={"d": "{{ ds }}"},
        params={"account_id": "a1", "name": "Acme"},
    )
    op.render_template_fields({"params": op.params, "ds": "2026-03-01"})
    assert (op.endpoint, op.data, op.query_params) == ("accounts/a1", {"name": "Acme"}, {"d": "2026-03-01"})
