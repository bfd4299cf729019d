"""Only ``store/`` writes SQL, and the edges import no other edge (DESIGN.md, "Services and edges").

Read from the source with ``ast``: the messaging and notification services, node health, the
exercise edge and the CLI import neither ``parley.store.schema`` nor SQLAlchemy's statement
builders; the edges (``exercise/``, ``cli/``) reach the store only through node services; and
``exercise/`` imports no ``parley.cli`` module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import parley

SRC = Path(parley.__file__).resolve().parent
NO_SQL = ["node/messaging", "node/notifications", "node/health.py", "exercise", "cli"]
# The external-witness commands still call store.witnessing; their service belongs in
# node.federation.witnessing, which this test's owners do not edit.
EDGES_ON_THE_STORE = {"cli/witness_cmds.py"}
SQL_BUILDERS = {"select", "insert", "update", "delete", "text", "exists", "tuple_", "and_", "or_"}


def modules(*places: str) -> list[Path]:
    found: list[Path] = []
    for place in places:
        path = SRC / place
        found.extend([path] if path.suffix == ".py" else sorted(path.rglob("*.py")))
    return found


def imports(path: Path) -> list[tuple[str, set[str]]]:
    """``(module, names)`` of every import in ``path``, functions' own imports included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            found.append((node.module, {alias.name for alias in node.names}))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, set()) for alias in node.names)
    return found


@pytest.mark.parametrize("path", modules(*NO_SQL), ids=lambda p: str(p.relative_to(SRC)))
def test_services_and_edges_build_no_sql(path: Path) -> None:
    for module, names in imports(path):
        assert module != "parley.store.schema", f"{path.name} imports the tables"
        if module.startswith("sqlalchemy"):
            assert not names & SQL_BUILDERS, f"{path.name} builds SQL: {names & SQL_BUILDERS}"


@pytest.mark.parametrize("path", modules("exercise"), ids=lambda p: str(p.relative_to(SRC)))
def test_the_exercise_edge_imports_no_cli_module(path: Path) -> None:
    assert not [m for m, _ in imports(path) if m == "parley.cli" or m.startswith("parley.cli.")]


@pytest.mark.parametrize("path", modules("exercise", "cli"), ids=lambda p: str(p.relative_to(SRC)))
def test_edges_reach_the_store_only_through_node_services(path: Path) -> None:
    if str(path.relative_to(SRC)) in EDGES_ON_THE_STORE:
        pytest.skip("its node service is not written yet")
    assert not [m for m, _ in imports(path) if m == "parley.store" or m.startswith("parley.store.")]
