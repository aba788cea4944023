"""The import graph of the package matches docs/architecture.md: no cycle, each part imports only the parts
below it, and recipes are reached through the registry (`encexport.models`) alone."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Where each module lives, as the installed package names it (models/ installs as encexport.models).
SOURCES = {"encexport": ROOT / "encexport", "encexport.models": ROOT / "models"}

# Part of each module: the longest matching prefix wins. Core is everything else at the package top.
PARTS = {
    "encexport.models": "models",
    "encexport.export": "export",
    "encexport.graph": "graph",
    "encexport.build": "build",
    "encexport.triton": "deploy",
    "encexport.check": "check",
    "encexport.bench": "bench",
    "encexport.cli": "cli",
    "encexport.gpu_check": "gpu_check",
    "encexport.__main__": "cli",
}
# What each part may import (besides itself): the table of docs/architecture.md.
ALLOWED = {
    "core": set(),
    "models": {"core"},
    "export": {"core", "graph"},
    "graph": {"core"},
    "build": {"core", "graph"},
    "check": {"core", "export", "build", "models"},
    "deploy": {"core", "export", "graph", "build", "models"},
    "bench": {"core", "export", "graph", "models"},
    "cli": {"core", "models", "export", "graph", "build", "check", "deploy", "bench"},
    "gpu_check": {"core", "models", "export", "bench", "check", "deploy"},
}


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            if "templates" in path.parts:  # Triton model files, run inside the server, not by the package
                continue
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([package, *parts])
            if package == "encexport" and parts and parts[0] == "models":
                continue
            found[name] = path
    return found


def part_of(module: str) -> str:
    best = max((p for p in PARTS if module == p or module.startswith(p + ".")), key=len, default=None)
    return PARTS[best] if best else "core"


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every encexport module `name` imports, at any depth of its code (lazy imports count)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            submodules = {f"{base}.{a.name}" for a in node.names} & known
            targets.update(submodules)
            if len(submodules) < len(node.names):  # names defined in base itself
                targets.add(base)
    return {t for t in targets if t in known and t != name}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def test_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_parts_import_only_what_the_architecture_allows():
    bad = []
    for name, targets in graph().items():
        mine = part_of(name)
        for target in targets:
            theirs = part_of(target)
            if theirs != mine and theirs not in ALLOWED[mine]:
                bad.append(f"{name} ({mine}) imports {target} ({theirs})")
    assert not bad, "\n".join(bad)


def test_recipes_are_reached_through_the_registry_only():
    bad = [f"{name} imports {target}" for name, targets in graph().items() if part_of(name) != "models"
           for target in targets if target.startswith("encexport.models.")]
    assert not bad, "outside models/, import encexport.models (get_recipe) only:\n" + "\n".join(bad)


def test_the_architecture_doc_states_the_same_table():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    for part, allowed in ALLOWED.items():
        row = f"| {part} | {', '.join(sorted(allowed)) or '-'} |"
        assert row in doc, f"docs/architecture.md lacks the row {row!r}"
