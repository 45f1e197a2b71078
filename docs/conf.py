"""Sphinx configuration of the documentation site (built by ``scripts/build_docs.py``).

The site must build offline and with warnings as errors: no intersphinx inventories, no
remote images, and every cross-reference, include and example-DAG section must resolve.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# The sandbox page uses autodoc, which imports the package: make the checkout importable
# even when the docs are built outside the project's venv.
sys.path.insert(0, str(ROOT))

from airflow_provider_apollo import __version__  # noqa: E402  (after the path is set)

project = "airflow-provider-apollo"
author = "The airflow-provider-apollo developers"
copyright = "2026, The airflow-provider-apollo developers"
release = __version__
version = __version__

extensions = [
    "myst_parser",  # the guides are Markdown
    "autoapi.extension",  # the API reference, read from the source without importing it
    "sphinx.ext.autodoc",  # the sandbox's public classes (see sandbox-api.md)
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", ".gitignore"]

# Markdown: GitHub-style heading anchors so links such as ``hook.md#errors`` resolve (and a
# broken one is a warning, hence a failed build); ``{include}`` of ``CHANGELOG.md``.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# API reference: every public module of the package. The sandbox's internals (routes, state,
# world, gateway...) would add hundreds of entries no user calls; its public classes are
# documented in sandbox-api.md instead.
autoapi_type = "python"
autoapi_dirs = [str(ROOT / "airflow_provider_apollo")]
autoapi_root = "reference"
autoapi_ignore = ["*/sandbox/*"]
autoapi_options = ["members", "undoc-members", "show-inheritance", "show-module-summary"]
autoapi_member_order = "groupwise"
autoapi_add_toctree_entry = False  # listed in index.md, in its own section
autoapi_keep_files = False
autodoc_typehints = "description"
autodoc_member_order = "bysource"

# Offline: no intersphinx, no remote inventories. Airflow and FastAPI classes stay plain text.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}

html_theme = "furo"
html_title = f"airflow-provider-apollo {__version__}"
html_static_path: list[str] = []
html_show_sourcelink = False
