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

    Without the UI toolkit (Flask-AppBuilder/WTForms are not installed on workers) the plain
    ``conn-fields`` declarations are returned, so the names always agree.
    """
    fields: dict[str, Any] = connection_type_info()["conn-fields"]
    try:
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import FloatField, IntegerField, StringField
        from wtforms.validators import AnyOf, NumberRange, Optional
    except ImportError:
        return dict(fields)
    widgets: dict[str, Any] = {}
    for name, spec in fields.items():
        schema = spec["schema"]
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        validators: list[Any] = [Optional()]
        if "minimum" in schema:
            validators.append(NumberRange(min=schema["minimum"]))
        if "enum" in schema:
            validators.append(AnyOf(schema["enum"]))
        field_class = IntegerField if "integer" in types else FloatField if "number" in types else StringField
        widgets[name] = field_class(
            lazy_gettext(spec["label"]),
            validators=validators,
            widget=BS3TextFieldWidget(),
            default=schema.get("default"),
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
