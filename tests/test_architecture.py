"""The package's shape, read from its source (``ast``, nothing imported): layers, no circle, a small root.

``docs/architecture.md`` describes the layers; these tests keep the code and that page in step.
An import counts wherever it is written (module level or inside a function: a lazy import is
still a dependency), except under ``if TYPE_CHECKING:``, which exists only for the type checker.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

PACKAGE = "airflow_provider_apollo"
PACKAGE_DIR = Path(__file__).resolve().parents[1] / PACKAGE
#: What a DAG file must not pay for at every parse (ruff TID253 bans them at module level).
HEAVY_AT_PARSE_TIME = ("requests", "urllib3", "fastapi", "starlette", "uvicorn", "pandas", "wtforms")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node`` but the bodies of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for orelse in child.orelse:
                yield orelse
                yield from _runtime_nodes(orelse)
            continue
        yield child
        yield from _runtime_nodes(child)


def imported_names(name: str, source: str) -> set[str]:
    """The dotted names ``source`` (the module ``name``) imports, relative imports resolved."""
    is_package = modules()[name].name == "__init__.py"
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from package import module`` imports the module; ``from module import name`` the module.
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules() else base)
    return found


@cache
def imports_of(name: str) -> frozenset[str]:
    """Everything the module ``name`` imports (third-party names included)."""
    return frozenset(imported_names(name, modules()[name].read_text()))


def internal_graph(extra: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (``extra`` adds edges, for the self-test)."""
    graph = {name: {i for i in imports_of(name) if i in modules() and i != name} for name in modules()}
    for name, targets in (extra or {}).items():
        graph[name] |= targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def in_layer(name: str, layer: str) -> bool:
    prefix = f"{PACKAGE}.{layer}"
    return name == prefix or name.startswith(prefix + ".")


def offenders(layer: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    """Modules of ``layer`` that import any of ``forbidden`` (dotted prefixes), with what they import."""
    found: dict[str, list[str]] = {}
    for name in modules():
        if not in_layer(name, layer):
            continue
        bad = sorted(i for i in imports_of(name) if any(i == f or i.startswith(f + ".") for f in forbidden))
        if bad:
            found[name] = bad
    return found


#: What each layer may import of the package besides itself (docs/architecture.md, "The layers").
MAY_IMPORT: dict[str, set[str]] = {
    "root": set(),
    "_api": {"root"},
    "transport": {"_api", "root"},
    "hooks": {"transport", "_api", "root"},
    "_airflow": {"_api", "root"},
    "operators": {"hooks", "_airflow", "_api", "root"},
    "sensors": {"triggers", "hooks", "_airflow", "_api", "root"},
    "triggers": {"hooks", "_airflow", "_api", "root"},
    "sandbox": {"_api", "root"},
    # Where exported records land (SQL tables, object storage, export state): Airflow's APIs only.
    "_warehouse": {"root"},
    # Operators that move data between Apollo and other systems (Airflow's "transfers").
    "transfers": {"operators", "hooks", "_warehouse", "_airflow", "_api", "root"},
}
#: Imports that cross the layers today, each with its reason; a new crossing fails the test.
KNOWN_CROSSINGS = {
    # The enrich operator keeps the task's max_credits in the hook's CreditBudget.
    (f"{PACKAGE}.operators.enrichment", f"{PACKAGE}.hooks._transport.credit_budget"),
}


def layer_of(name: str) -> str:
    """``root``, ``_api``, ``transport`` (hooks/_transport), ``hooks``, ``_airflow``, ``operators``..."""
    rest = name.removeprefix(PACKAGE).lstrip(".")
    top = rest.split(".")[0]
    if not rest or top in ("exceptions", "get_provider_info"):
        return "root"
    if top == "hooks":
        return "transport" if in_layer(name, "hooks._transport") else "hooks"
    return top


# ----------------------------------------------------------------------------------- tests
def test_the_reader_finds_the_package_and_its_imports() -> None:
    """Guards the tests below against passing on an empty or misread package."""
    assert len(modules()) > 50
    assert f"{PACKAGE}.hooks._transport.api_call" in imports_of(f"{PACKAGE}.hooks._transport.sync_client")
    assert "requests" in imports_of(f"{PACKAGE}.hooks._transport.sync_client")  # a lazy import counts


def test_no_import_cycle_between_modules() -> None:
    assert cycles(internal_graph()) == []


def test_a_cycle_is_found_when_there_is_one() -> None:
    """The detector itself: one edge back up the layers makes a circle it names."""
    graph = internal_graph(
        extra={f"{PACKAGE}._api.endpoints": {f"{PACKAGE}.hooks._transport.api_call"}},
    )

    found = cycles(graph)

    assert any({f"{PACKAGE}._api.endpoints", f"{PACKAGE}.hooks._transport.api_call"} <= set(c) for c in found)


def test_imports_run_down_the_layers() -> None:
    upward = sorted(
        (source, target)
        for source, targets in internal_graph().items()
        for target in targets
        if layer_of(target) != layer_of(source)
        and layer_of(target) not in MAY_IMPORT[layer_of(source)]
        and (source, target) not in KNOWN_CROSSINGS
    )
    assert upward == []


def test_every_module_belongs_to_a_known_layer() -> None:
    assert {layer_of(name) for name in modules()} == set(MAY_IMPORT)


def test_the_package_root_holds_at_most_five_modules() -> None:
    root = sorted(path.name for path in PACKAGE_DIR.glob("*.py"))
    assert len(root) <= 5, root


def test_apollo_knowledge_needs_no_airflow_no_http_and_no_upper_layer() -> None:
    forbidden = (
        "airflow",
        "requests",
        "httpx",
        "urllib3",
        *(
            f"{PACKAGE}.{layer}"
            for layer in ("hooks", "operators", "sensors", "triggers", "_airflow", "sandbox")
        ),
    )
    assert offenders("_api", forbidden) == {}


def test_the_transport_does_not_know_the_dag_facing_layer() -> None:
    forbidden = tuple(f"{PACKAGE}.{layer}" for layer in ("operators", "sensors", "triggers", "_airflow"))
    assert offenders("hooks._transport", forbidden) == {}


def test_hooks_and_airflow_glue_do_not_import_operators_sensors_or_triggers() -> None:
    forbidden = tuple(f"{PACKAGE}.{layer}" for layer in ("operators", "sensors", "triggers"))
    assert offenders("hooks", forbidden) == {}
    assert offenders("_airflow", forbidden) == {}


def test_the_product_never_imports_the_sandbox() -> None:
    product = [name for name in modules() if not in_layer(name, "sandbox")]
    importers = {
        name: sorted(imports_of(name))
        for name in product
        if any(in_layer(i, "sandbox") for i in imports_of(name))
    }
    assert importers == {}


@pytest.mark.slow  # a fresh interpreter imports Airflow: a few seconds
def test_parsing_a_dag_file_imports_nothing_heavy() -> None:
    """What a DAG file imports at every parse (operators, sensors, their triggers) leaves the HTTP
    client, the sandbox's web stack and the connection form's UI libraries unloaded."""
    code = f"""
import importlib, pkgutil, sys
import {PACKAGE}.operators as operators, {PACKAGE}.sensors as sensors, {PACKAGE}.triggers as triggers
for package in (operators, sensors, triggers):
    for found in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{{package.__name__}}.{{found.name}}")
heavy = {HEAVY_AT_PARSE_TIME!r} + ("{PACKAGE}.sandbox",)
print(sorted(name for name in heavy if name in sys.modules))
print(len([name for name in sys.modules if name.startswith("{PACKAGE}.operators.")]))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE_DIR.parent
    )
    loaded, operator_modules = result.stdout.strip().splitlines()[-2:]
    assert int(operator_modules) >= 5  # the operators really were imported
    assert loaded == "[]", f"imported while a DAG file is parsed: {loaded}"
