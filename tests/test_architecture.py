"""The boundaries of docs/architecture.md, read from the code's own syntax trees.

Each test names one rule and fails with every module that breaks it, so the layout cannot drift
from what the architecture document draws:

* imports point down the layers (core < formats < store < node < edges), and between edges only
  where one starts another (the CLI serves the API and runs the exercise);
* only ``store/`` imports the tables (``parley.store.schema``) or builds SQL;
* only the federation client and the webhook sender in ``node/`` speak HTTP (``httpx``);
* an edge neither opens a write transaction nor builds SQL: it calls services; the CLI and
  the exercise reach the store only through node services (the API reads through store
  query functions);
* exception classes are defined in the errors modules alone;
* every module of the package is named in docs/architecture.md, and every module named there
  exists.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "parley"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

LAYERS = {"core": 0, "formats": 1, "store": 2, "node": 3}
EDGES = {"cli", "api", "web", "exercise"}
EDGE_RANK = 4
# An edge that starts another: the CLI serves the API and runs the exercise network; the node's
# server serves the pages.
EDGE_STARTS = {"cli": {"api", "exercise"}, "api": {"web"}}
ERRORS_MODULES = {"parley.core.errors", "parley.formats.errors"}
HTTP_IN_NODE = {
    "parley.node.federation.peer_client",  # the one client of peers, its TLS pins and signatures
    "parley.node.federation.http_signatures",
    "parley.node.federation.tlspin",
    "parley.node.webhooks",  # the one webhook sender
}
SQL_BUILDERS = {"select", "insert", "update", "delete", "text", "bindparam", "func", "and_", "or_"}


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module

    @property
    def area(self) -> str:
        parts = self.name.split(".")
        return parts[1] if len(parts) > 1 else ""


def modules() -> Iterator[Module]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield Module(".".join(parts), path, ast.parse(path.read_text(), str(path)))


def imported(module: Module) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module imported, names imported from it) for every import in the file."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [alias.name for alias in node.names]


def rank(area: str) -> int:
    return EDGE_RANK if area in EDGES else LAYERS[area]


def where(module: Module, line: int) -> str:
    return f"{module.path.relative_to(ROOT)}:{line}"


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for module in modules():
        if not module.area or module.area not in LAYERS | dict.fromkeys(EDGES, 0):
            continue
        for line, name, _ in imported(module):
            parts = name.split(".")
            if parts[0] != "parley" or len(parts) < 2 or parts[1] == module.area:
                continue
            target = parts[1]
            if target not in LAYERS and target not in EDGES:
                continue
            if module.area in EDGES and target in EDGES:
                if target not in EDGE_STARTS.get(module.area, set()):
                    wrong.append(f"{where(module, line)}: edge {module.area} imports edge {name}")
            elif rank(target) > rank(module.area):
                wrong.append(f"{where(module, line)}: {module.area} imports {name}, a layer above")
    assert wrong == []


def test_only_the_store_imports_the_tables() -> None:
    wrong = [
        f"{where(module, line)}: imports {name}"
        for module in modules()
        if module.area != "store"
        for line, name, names in imported(module)
        if name == "parley.store.schema" or (name == "parley.store" and "schema" in names)
    ]
    assert wrong == []


def test_only_the_store_builds_sql() -> None:
    wrong = [
        f"{where(module, line)}: imports {', '.join(sorted(set(names) & SQL_BUILDERS))} from {name}"
        for module in modules()
        if module.area != "store"
        for line, name, names in imported(module)
        if name.split(".")[0] == "sqlalchemy" and set(names) & SQL_BUILDERS
    ]
    assert wrong == []


def test_only_the_peer_client_and_the_webhook_sender_speak_http_in_node() -> None:
    wrong = [
        f"{where(module, line)}: imports {name}"
        for module in modules()
        if module.area == "node" and module.name not in HTTP_IN_NODE
        for line, name, _ in imported(module)
        if name.split(".")[0] == "httpx"
    ]
    assert wrong == []


def _opens_a_write(node: ast.AST) -> TypeGuard[ast.Call]:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    if node.func.attr not in ("write", "shared"):
        return False
    owner = node.func.value
    named = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
    return named == "store" or named.endswith("_store")


def test_edges_neither_write_nor_touch_sqlalchemy() -> None:
    wrong = []
    for module in modules():
        if module.area not in EDGES:
            continue
        wrong += [
            f"{where(module, node.lineno)}: opens a write transaction"
            for node in ast.walk(module.tree)
            if _opens_a_write(node)
        ]
        wrong += [  # the type of a read connection is all an edge may name
            f"{where(module, line)}: imports {', '.join(names) or name}"
            for line, name, names in imported(module)
            if name.split(".")[0] == "sqlalchemy" and (not names or set(names) - {"Connection"})
        ]
    assert wrong == []


def test_the_cli_and_the_exercise_reach_the_store_only_through_node_services() -> None:
    wrong = [
        f"{where(module, line)}: imports {name}"
        for module in modules()
        if module.area in ("cli", "exercise")
        for line, name, _ in imported(module)
        if name == "parley.store" or name.startswith("parley.store.")
    ]
    assert wrong == []


def _exception_names() -> set[str]:
    """Names of the exception classes of the package and of the libraries it subclasses."""
    known = {"Exception", "BaseException", "ValueError", "RuntimeError", "OSError", "KeyError"}
    classes = [
        node
        for module in modules()
        for node in ast.walk(module.tree)
        if isinstance(node, ast.ClassDef)
    ]
    grew = True
    while grew:
        grew = False
        for node in classes:
            bases = {
                b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "") for b in node.bases
            }
            if node.name not in known and (
                bases & known or any(b.endswith("Error") for b in bases)
            ):
                known.add(node.name)
                grew = True
    return known


def test_exception_classes_are_defined_in_the_errors_modules_alone() -> None:
    exceptions = _exception_names()
    wrong = [
        f"{where(module, node.lineno)}: defines {node.name}"
        for module in modules()
        if module.name not in ERRORS_MODULES
        for node in ast.walk(module.tree)
        if isinstance(node, ast.ClassDef) and node.name in exceptions
    ]
    assert wrong == []


def test_the_architecture_document_names_every_module_and_no_other() -> None:
    text = ARCHITECTURE.read_text()
    layers = tuple(f"{area}/" for area in [*LAYERS, *EDGES])
    named = {  # paths under src/parley/
        path
        for path in re.findall(r"`((?:[a-z0-9_]+/)+[a-z0-9_]+\.py)`", text)
        if path.startswith(layers)
    }
    tree = {
        str(module.path.relative_to(PACKAGE))
        for module in modules()
        if module.path.name != "__init__.py"
    }
    assert sorted(tree - named) == [], "modules the document does not name"
    assert sorted(named - tree) == [], "modules the document names that do not exist"
