"""The connection form Airflow's UI shows for the ``apollo`` type, on the Airflow that is installed.

Airflow 3.2+ builds it from provider info's ``conn-fields``; Airflow 3.1 from the hook's
classmethods, with WTForms mocked when Flask-AppBuilder is absent, and it drops a connection type
whose widgets are of another field class than String/Integer/Password/Boolean.
"""

from __future__ import annotations

import pytest

from airflow_provider_apollo.get_provider_info import get_provider_info

services = pytest.importorskip("airflow.api_fastapi.core_api.services.ui.connections")


def test_the_form_offers_the_apollo_type_with_its_fields_and_labels() -> None:
    declared = get_provider_info()["connection-types"][0]

    forms = {meta.connection_type: meta for meta in services.HookMetaService.hook_meta_data()}

    assert "apollo" in forms, "Airflow dropped the apollo connection type from the form"
    form = forms["apollo"]
    assert set(form.extra_fields or {}) == set(declared["conn-fields"])
    assert form.standard_fields is not None
    assert form.standard_fields.password.title == "API Key"
    assert form.standard_fields.port.hidden
