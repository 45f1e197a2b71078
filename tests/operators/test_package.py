from __future__ import annotations

import subprocess
import sys

import pytest

import airflow_provider_apollo.operators as operators


@pytest.mark.slow  # a fresh interpreter (or server) starts: over a second
def test_importing_the_package_does_not_import_the_hook():
    """DAG files import the package at every parse: it must stay light until an operator is used."""
    code = (
        "import sys, airflow_provider_apollo.operators as o; "
        "assert 'airflow_provider_apollo.hooks.apollo' not in sys.modules, 'hook imported eagerly'; "
        "o.ApolloCreateTasksOperator; "
        "assert 'airflow_provider_apollo.hooks.apollo' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_listed_operator_resolves():
    for name in operators.__all__:
        assert getattr(operators, name).__name__ == name
    assert set(operators.__all__) <= set(dir(operators))


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="ApolloNope"):
        operators.ApolloNope  # noqa: B018


def test_every_public_argument_is_documented():
    import inspect

    for name in operators.__all__:
        operator = getattr(operators, name)
        documented = operator.__doc__ or ""
        for parameter in inspect.signature(operator.__init__).parameters:
            if parameter in ("self", "kwargs"):
                continue
            assert f":param {parameter}:" in documented, f"{name} does not document {parameter}"
        for field in operator.template_fields:
            line = documented.split(f":param {field}:", 1)[1].split(":param", 1)[0]
            assert "(templated)" in line, f"{name}.{field} is templated but not documented so"
