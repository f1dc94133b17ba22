"""The apps depend on each other one way (docs/architecture.md, "Layers").

Read from the source, not from what happens to be imported at run time: an
import inside a function counts as much as one at the top, so a cycle cannot
hide behind a late import.
"""

from __future__ import annotations

import ast
import functools
import graphlib
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sekispe"

# Lowest first. An app may import only apps of an earlier layer: a new app
# must be placed here, which is the moment to decide what it sits on.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("reference",),
    ("lib",),
    ("core", "audit"),
    ("outbox", "pages", "settings"),
    ("registry",),
    ("listings",),
    ("accounts",),
    ("search", "intake", "diagnosis"),
    ("inquiries", "onboarding"),
    ("deemed",),
    ("registrant_requests",),
    ("reports", "me", "backoffice"),
    ("events",),
    ("insights",),
    ("opendata", "worker"),
    ("api", "devtools"),
)


def _apps() -> set[str]:
    return {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}


@functools.cache
def _imports() -> tuple[tuple[str, str, Path, int, bool], ...]:
    """(app, imported app, file, line, inside a function) for every import of
    another app, migrations excepted (they name apps by label, not by import)."""
    apps = _apps()
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2 or parts[0] not in apps or "migrations" in parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nested = {
            id(node)
            for func in ast.walk(tree)
            if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
            for node in ast.walk(func)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                bits = module.split(".")
                if (
                    bits[0] == "sekispe"
                    and len(bits) > 1
                    and bits[1] in apps
                    and bits[1] != parts[0]
                ):
                    found.append((parts[0], bits[1], path, node.lineno, id(node) in nested))
    return tuple(found)


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(PACKAGE.parent)}:{line}"


def test_the_layers_name_every_app_once():
    named = [app for layer in LAYERS for app in layer]
    assert len(named) == len(set(named))
    assert set(named) == _apps()


def test_the_apps_import_each_other_without_a_cycle():
    graph: dict[str, set[str]] = defaultdict(set)
    for app, imported, *_ in _imports():
        graph[app].add(imported)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        raise AssertionError(
            f"apps import each other in a cycle: {' imports '.join(reversed(exc.args[1]))}"
        ) from None


def test_each_app_imports_only_the_layers_below_it():
    layer_of = {app: n for n, layer in enumerate(LAYERS) for app in layer}
    upward = [
        f"{_where(path, line)}: {app} imports {imported}"
        for app, imported, path, line, _nested in _imports()
        if layer_of[imported] >= layer_of[app]
    ]
    assert upward == []


def test_no_import_of_another_app_is_deferred_into_a_function():
    # Allowed: AppConfig.ready, where Django wants models imported, and where
    # an upper app registers what a lower one asks of it (registry.providers,
    # search.index's engagement counter). devtools sits on top of everything,
    # so its late imports cannot hide a cycle; they keep `sekispe --help` from
    # loading every benchmark's models.
    deferred = [
        f"{_where(path, line)}: {app} imports {imported}"
        for app, imported, path, line, nested in _imports()
        if nested and path.name != "apps.py" and app != "devtools"
    ]
    assert deferred == []


def test_no_product_app_imports_the_developer_tools():
    # devtools is installed only by the dev and test settings: an import of it
    # from a product app would fail in production.
    assert [
        _where(path, line)
        for app, imported, path, line, _nested in _imports()
        if imported == "devtools" and app != "devtools"
    ] == []
