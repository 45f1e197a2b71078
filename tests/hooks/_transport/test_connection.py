"""Reading and validating the ``apollo`` connection (connection.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.get_provider_info import get_provider_info
from airflow_provider_apollo.hooks._transport.connection import (
    ApolloConnectionConfig,
    build_base_url,
    read_connection,
)
from airflow_provider_apollo.hooks.apollo import ApolloHook


class Conn:
    def __init__(
        self,
        password: str | None = "k3y-value",
        host: str | None = None,
        port: int | None = None,
        **extra: Any,
    ):
        self.conn_id = "apollo_test"
        self.password = password
        self.host = host
        self.port = port
        self.extra_dejson = extra


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, "https://api.apollo.io/api/v1"),
        ("", None, "https://api.apollo.io/api/v1"),
        ("api.apollo.io", None, "https://api.apollo.io/api/v1"),
        ("https://api.apollo.io/api/v1/", None, "https://api.apollo.io/api/v1"),
        ("http://127.0.0.1:8899", None, "http://127.0.0.1:8899/api/v1"),
        ("http://localhost:8899/", None, "http://localhost:8899/api/v1"),
        ("http://[::1]:8899", None, "http://[::1]:8899/api/v1"),
        ("http://127.5.0.1", 9000, "http://127.5.0.1:9000/api/v1"),
        ("https://proxy.corp/apollo", None, "https://proxy.corp/apollo/api/v1"),
        # Port 0, the workaround for the Airflow 3.3.2 UI's Test button (docs/connection.md), is no port.
        (None, 0, "https://api.apollo.io/api/v1"),
        ("http://127.0.0.1:8899", 0, "http://127.0.0.1:8899/api/v1"),
    ],
)
def test_base_url(host: str | None, port: int | None, expected: str) -> None:
    assert build_base_url(host, port) == expected


@pytest.mark.parametrize(
    "host", ["http://api.apollo.io", "http://10.0.0.5:8899", "http://localhost.evil.com"]
)
def test_plain_http_to_a_remote_host_is_refused(host: str) -> None:
    with pytest.raises(ApolloConfigurationError, match="clear text"):
        build_base_url(host)


@pytest.mark.parametrize("host", ["ftp://api.apollo.io", "https://", "https://api.apollo.io/?x=1"])
def test_unusable_hosts(host: str) -> None:
    with pytest.raises(ApolloConfigurationError, match="apollo_default"):
        build_base_url(host)


def test_defaults() -> None:
    config = read_connection(Conn())
    assert (config.auth_type, config.timeout, config.max_retries, config.max_quota_wait) == (
        "api_key",
        30,
        5,
        900,
    )
    assert config.auth_headers() == {"X-Api-Key": "k3y-value"}
    assert "k3y-value" not in repr(config)


def test_extras_as_strings_and_overrides() -> None:
    conn = Conn(timeout="12.5", max_retries="2", auth_type="OAuth", max_quota_wait="60")
    config = read_connection(conn)
    assert (config.timeout, config.max_retries, config.auth_type, config.max_quota_wait) == (
        12.5,
        2,
        "oauth",
        60,
    )
    assert config.auth_headers() == {"Authorization": "Bearer k3y-value"}
    assert read_connection(conn, timeout=3, max_retries=0).timeout == 3
    assert read_connection(conn, timeout=3, max_retries=0).max_retries == 0


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"timeout": "fast"}, "'timeout'"),
        ({"timeout": "0"}, "timeout"),
        ({"max_retries": "-1"}, "'max_retries'"),
        ({"max_retries": "2.5"}, "'max_retries'"),
        ({"auth_type": "basic"}, "'auth_type'"),
        ({"max_quota_wait": "forever"}, "'max_quota_wait'"),
    ],
)
def test_malformed_extras_are_named(extra: dict[str, Any], named: str) -> None:
    with pytest.raises(ApolloConfigurationError, match=named):
        read_connection(Conn(**extra))


@pytest.mark.parametrize(
    ("password", "auth_type", "what"), [(None, "api_key", "API key"), ("  ", "oauth", "OAuth")]
)
def test_missing_key_says_to_set_the_password(password: str | None, auth_type: str, what: str) -> None:
    with pytest.raises(
        ApolloConfigurationError, match=f"apollo_test' has no .*{what}.*set the connection password"
    ):
        read_connection(Conn(password=password, auth_type=auth_type))


def test_env_connection_as_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_APOLLO_URI",
        "apollo://:s3cret-key@http%3A%2F%2F127.0.0.1%3A8899?timeout=10&auth_type=oauth",
    )
    config = ApolloHook("apollo_uri").config
    assert config == ApolloConnectionConfig(
        conn_id="apollo_uri",
        api_key="s3cret-key",
        base_url="http://127.0.0.1:8899/api/v1",
        auth_type="oauth",
        timeout=10,
    )


def test_env_connection_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_APOLLO_DEFAULT",
        json.dumps(
            {
                "conn_type": "apollo",
                "host": "http://127.0.0.1:8899",
                "password": "k",
                "extra": {"max_retries": 1},
            }
        ),
    )
    config = ApolloHook().config
    assert (config.base_url, config.api_key, config.max_retries) == ("http://127.0.0.1:8899/api/v1", "k", 1)


def test_ui_behaviour_matches_provider_info() -> None:
    declared = get_provider_info()["connection-types"][0]
    behaviour = ApolloHook.get_ui_field_behaviour()
    assert behaviour["hidden_fields"] == declared["ui-field-behaviour"]["hidden-fields"]
    assert behaviour["relabeling"] == declared["ui-field-behaviour"]["relabeling"]
    assert behaviour["placeholders"] == declared["ui-field-behaviour"]["placeholders"]
    assert declared["hook-class-name"].endswith(ApolloHook.__name__)
    assert declared["connection-type"] == ApolloHook.conn_type


def test_form_widgets_declare_the_same_extras() -> None:
    # WTForms fields when the UI toolkit is installed, else nothing (test_connection_form.py
    # checks the form Airflow really builds).
    widgets = ApolloHook.get_connection_form_widgets()
    assert set(widgets) in (set(), set(get_provider_info()["connection-types"][0]["conn-fields"]))


def _env_connection(monkeypatch: pytest.MonkeyPatch, extra: str) -> None:
    connection = {"conn_type": "apollo", "host": "http://127.0.0.1:8899", "password": "k3y-value"}
    monkeypatch.setenv("AIRFLOW_CONN_APOLLO_EXTRAS", json.dumps({**connection, "extra": extra}))


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ("{timeout: 5", "not valid JSON"),
        ("[1, 2]", "got a JSON array"),
        ('"timeout=5"', "got a JSON string"),
        ("30", "got a JSON number"),
    ],
)
def test_extras_that_are_not_a_json_object_are_refused(
    monkeypatch: pytest.MonkeyPatch, extra: str, says: str
) -> None:
    """Airflow would read unparseable extras as {} and the hook would run on defaults."""
    _env_connection(monkeypatch, extra)
    with pytest.raises(ApolloConfigurationError, match="apollo_extras") as raised:
        _ = ApolloHook("apollo_extras").config
    message = str(raised.value)
    assert says in message and "JSON object" in message
    assert "k3y-value" not in message


@pytest.mark.parametrize("extra", ["", "  ", "null", "{}"])
def test_empty_extras_mean_the_defaults(monkeypatch: pytest.MonkeyPatch, extra: str) -> None:
    _env_connection(monkeypatch, extra)
    config = ApolloHook("apollo_extras").config
    assert (config.timeout, config.max_retries) == (30, 5)


def test_extras_dejsoned_to_something_else_than_a_mapping_are_refused() -> None:
    conn = Conn()
    conn.extra_dejson = ["timeout", 5]  # type: ignore[assignment]
    with pytest.raises(ApolloConfigurationError, match="apollo_test': the extra field must be a JSON object"):
        read_connection(conn)


def test_quota_store_defaults_to_a_directory_under_airflow_home(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_apollo.hooks._transport import quota_store

    monkeypatch.undo()  # the suite points the default at a directory per test: read the real one
    monkeypatch.setenv("AIRFLOW_HOME", "/srv/airflow")
    assert quota_store.default_store_directory() == Path("/srv/airflow/apollo-quota")
    assert read_connection(Conn()).quota_store == Path("/srv/airflow/apollo-quota")
    assert read_connection(Conn(quota_store="  ")).quota_store == Path("/srv/airflow/apollo-quota")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("none", None), (" None ", None), ("/var/lib/apollo-quota", Path("/var/lib/apollo-quota"))],
)
def test_quota_store_extra(value: str, expected: Path | None) -> None:
    assert read_connection(Conn(quota_store=value)).quota_store == expected


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("apollo-quota", "relative path 'apollo-quota'"),
        (5, 'absolute directory path, or "none"'),
        (False, "none"),
    ],
)
def test_unusable_quota_store_extra_is_named(value: Any, says: str) -> None:
    with pytest.raises(ApolloConfigurationError, match=f"extra 'quota_store' must be .*{says}"):
        read_connection(Conn(quota_store=value))


def test_quota_store_for_names_the_file_by_a_hash_of_the_key(tmp_path: Path) -> None:
    from airflow_provider_apollo.hooks._transport.quota_store import quota_store_for, store_file_name

    config = read_connection(Conn(quota_store=str(tmp_path), timeout=12))
    store = quota_store_for(config.api_key, config.quota_store, timeout=config.timeout)
    assert store is not None
    assert store.path == tmp_path / store_file_name("k3y-value")
    assert "k3y" not in store.path.name
    assert store.lease_seconds == 17  # the request's timeout, then 5 s to read its answer
    config = read_connection(Conn(quota_store="none"))
    assert quota_store_for(config.api_key, config.quota_store, timeout=config.timeout) is None
