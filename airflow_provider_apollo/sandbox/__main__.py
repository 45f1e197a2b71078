"""``python -m airflow_provider_apollo.sandbox``: same as the ``apollo-sandbox`` command."""

from __future__ import annotations

from airflow_provider_apollo.sandbox.cli import main

raise SystemExit(main())
