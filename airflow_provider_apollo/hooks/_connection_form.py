"""The connection form for Airflow 3.0/3.1, derived from provider info (one source of truth).

Airflow 3.2+ reads ``conn-fields`` and ``ui-field-behaviour`` from provider info itself;
older releases call the hook's classmethods, which return what is built here.
"""

from __future__ import annotations

from typing import Any


def connection_type_info() -> dict[str, Any]:
    """The ``apollo`` entry of provider info's ``connection-types``."""
    from airflow_provider_apollo.get_provider_info import get_provider_info

    info: dict[str, Any] = get_provider_info()["connection-types"][0]
    return info


def form_widgets() -> dict[str, Any]:
    """Extra fields of the connection form, built from provider info's ``conn-fields``.

    Airflow 3.0/3.1 accept only ``StringField``, ``IntegerField``, ``PasswordField`` and
    ``BooleanField``: a hook with any other field class (``FloatField``) loses its connection
    type. Decimal numbers are therefore ``StringField`` fields (the hook parses and checks
    them when it reads the connection). Without Flask-AppBuilder/WTForms (API servers and workers without
    the UI toolkit) there are no widgets to build: the empty answer keeps the connection type,
    while anything that is not a WTForms field (a plain dict) makes Airflow drop it.
    """
    try:
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import IntegerField, StringField
        from wtforms.validators import AnyOf, NumberRange, Optional
    except ImportError:
        return {}
    fields: dict[str, Any] = connection_type_info()["conn-fields"]
    widgets: dict[str, Any] = {}
    for name, spec in fields.items():
        schema = spec["schema"]
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        is_integer = "integer" in types
        validators: list[Any] = [Optional()]
        if is_integer and "minimum" in schema:
            validators.append(NumberRange(min=schema["minimum"]))
        if "enum" in schema:
            validators.append(AnyOf(schema["enum"]))
        default = schema.get("default")
        widgets[name] = (IntegerField if is_integer else StringField)(
            lazy_gettext(spec["label"]),
            validators=validators,
            widget=BS3TextFieldWidget(),
            default=default if is_integer or default is None else str(default),
            description=spec.get("description", ""),
        )
    return widgets


def field_behaviour() -> dict[str, Any]:
    """Hidden, relabelled and placeholder fields, from provider info's ``ui-field-behaviour``."""
    behaviour = connection_type_info()["ui-field-behaviour"]
    return {
        "hidden_fields": list(behaviour["hidden-fields"]),
        "relabeling": dict(behaviour["relabeling"]),
        "placeholders": dict(behaviour["placeholders"]),
    }
