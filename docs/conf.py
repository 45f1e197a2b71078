"""Sphinx configuration of the documentation site (built by ``scripts/build_docs.py``).

The site must build offline and with warnings as errors: no intersphinx inventories, no
remote images, and every cross-reference, include and example-DAG section must resolve.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# autodoc imports the package: make the checkout importable even outside the project's venv,
# and keep Airflow (imported by the operators) from writing a config into ~/airflow.
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AIRFLOW_HOME", str(DOCS / "_build" / "airflow-home"))

from airflow_provider_apollo import __version__  # noqa: E402  (after the path is set)

project = "airflow-provider-apollo"
author = "The airflow-provider-apollo developers"
copyright = "2026, The airflow-provider-apollo developers"
release = __version__
version = __version__

extensions = [
    "myst_parser",  # the guides are Markdown
    "sphinx.ext.autodoc",  # the API reference, from the docstrings (pages written below)
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}  # reference/ is reST
root_doc = "index"
exclude_patterns = ["_build"]

# Markdown: GitHub-style heading anchors so links such as ``hook.md#errors`` resolve (and a
# broken one is a warning, hence a failed build); ``{include}`` of ``CHANGELOG.md``.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# API reference: one page per public module of the package, written by
# ``_write_api_reference`` below before Sphinx reads the sources, so a module added, split or
# removed changes the reference without anyone editing a list. Private modules (``_name``)
# and the sandbox's internals (routes, state, world, gateway...) are left out: the sandbox's
# public classes have their own page, sandbox-api.md. (sphinx-autoapi would do this without
# importing, but its static inference walks all of Airflow and took ~50 s of a ~60 s build.)
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"  # types join the :param: lines

# Offline: sphinx.ext.intersphinx is deliberately not loaded (no inventory is fetched), so
# Airflow's and FastAPI's classes appear as plain names. Furo ships its own assets.

html_theme = "furo"
html_title = f"airflow-provider-apollo {__version__}"
html_static_path: list[str] = []
html_show_sourcelink = False


# --------------------------------------------------------------------- repository links
#: Where the guides' links to files outside docs/ (``../example_dags/...``) point on the site.
SOURCE_URL = "https://github.com/airflow-provider-apollo/airflow-provider-apollo"
_RELATIVE_LINK = re.compile(r"\]\((\.\./[^)#\s]+)\)")


def _link_repository_paths(app: object, docname: str, source: list[str]) -> None:
    """Point Markdown links to repository files outside ``docs/`` at the source on GitHub.

    On GitHub such links work as they are; the site has no copy of those files. A link to a
    path that does not exist is left alone, so MyST still reports it (and the build fails).
    """
    page_dir = (DOCS / docname).parent

    def to_source_url(match: re.Match[str]) -> str:
        target = (page_dir / match.group(1)).resolve()
        if not target.exists() or ROOT not in target.parents or target == DOCS or DOCS in target.parents:
            return match.group(0)
        kind = "tree" if target.is_dir() else "blob"
        return f"]({SOURCE_URL}/{kind}/main/{target.relative_to(ROOT).as_posix()})"

    source[0] = _RELATIVE_LINK.sub(to_source_url, source[0])


# ------------------------------------------------------------------------ API reference
PACKAGE = "airflow_provider_apollo"
REFERENCE = DOCS / "reference"
#: Packages documented elsewhere (sandbox-api.md) or not at all.
_LEFT_OUT = (f"{PACKAGE}.sandbox",)


def public_modules() -> list[str]:
    """Every module of the package a user may import, from the source tree (no import)."""
    modules = []
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if any(part.startswith("_") for part in parts) or name.startswith(_LEFT_OUT):
            continue
        modules.append(name)
    return modules


def _write_api_reference(app: object) -> None:
    """(Re)write ``docs/reference/``: an index and one ``automodule`` page per public module."""
    modules = public_modules()
    REFERENCE.mkdir(exist_ok=True)
    for stale in REFERENCE.glob("*.rst"):
        stale.unlink()
    for name in modules:
        title = f"``{name}``"
        (REFERENCE / f"{name}.rst").write_text(f"{title}\n{'=' * len(title)}\n\n.. automodule:: {name}\n")
    entries = "\n".join(f"   {name}" for name in modules)
    (REFERENCE / "index.rst").write_text(
        "API reference\n=============\n\n"
        "Generated from the docstrings of every public module of ``airflow_provider_apollo``. The\n"
        "sandbox's public classes are on :doc:`/sandbox-api`.\n\n"
        f".. toctree::\n   :maxdepth: 1\n\n{entries}\n"
    )


def setup(app: object) -> None:
    app.connect("builder-inited", _write_api_reference)  # type: ignore[attr-defined]
    app.connect("source-read", _link_repository_paths)  # type: ignore[attr-defined]
