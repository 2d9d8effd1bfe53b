"""The house keeps its shape: every import in the package points the way the layering allows.

Leaves (settings, places, history, files, notify, winsys, ...) import only other leaves;
tools/ never imports a UI, the history or notify; the engine never imports restore or the tray;
restore never imports the engine or the tray; the tray never imports tools/. Entry points (cli,
report, demo, __main__) may use any room.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "app" / "megabackup"
LEAVES = {
    "megabackup",
    "megabackup.bundle",
    "megabackup.drives",
    "megabackup.errors",
    "megabackup.files",
    "megabackup.history",
    "megabackup.locations",
    "megabackup.notify",
    "megabackup.outcome",
    "megabackup.places",
    "megabackup.power",
    "megabackup.runlog",
    "megabackup.settings",
    "megabackup.settings_file",
    "megabackup.tkbase",
    "megabackup.tkroot",
    "megabackup.winsys",
    "megabackup.words",
}
ENTRY_POINTS = {"megabackup.__main__", "megabackup.cli", "megabackup.demo", "megabackup.report"}
# room -> the rooms it may import (besides itself); leaves are a room of their own
ALLOWED = {
    "leaf": {"leaf"},
    "tools": {"leaf"},
    "engine": {"leaf", "tools"},
    "restore": {"leaf", "tools"},
    "tray": {"leaf", "engine", "restore"},
    "entry": {"leaf", "tools", "engine", "restore", "tray", "entry"},
}
FORBIDDEN_LEAVES = {"tools": {"megabackup.history", "megabackup.notify"}}


def room(module: str) -> str:
    if module in LEAVES:
        return "leaf"
    if module in ENTRY_POINTS:
        return "entry"
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in ("tools", "engine", "restore", "tray"):
        return parts[1]
    raise AssertionError(f"{module} belongs to no room: add it to a package or to LEAVES")


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every megabackup module a file imports, at the top or inside a function."""
    found: set[str] = set()
    package = module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "megabackup"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            if base.split(".")[0] != "megabackup":
                continue
            for alias in node.names:  # `from megabackup.tools import rdiff` imports a module
                candidate = f"{base}.{alias.name}"
                is_module = (PACKAGE.parent / Path(*candidate.split("."))).with_suffix(".py")
                found.add(candidate if is_module.exists() else base)
    return found


def violations(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, imported in sorted(graph.items()):
        source = room(module)
        for target in sorted(imported):
            where = room(target)
            allowed = where == source or where in ALLOWED[source]
            if target in FORBIDDEN_LEAVES.get(source, set()):
                allowed = False
            if not allowed:
                wrong.append(f"{module} ({source}) imports {target} ({where})")
    return wrong


def package_graph() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path) for path in PACKAGE.rglob("*.py")}


def test_every_import_points_the_way_the_layering_allows() -> None:
    assert violations(package_graph()) == []


def test_the_check_catches_each_kind_of_wrong_arrow() -> None:
    wrong = violations(
        {
            "megabackup.tray.menu": {"megabackup.tools.rdiff"},
            "megabackup.tools.unison": {"megabackup.notify", "megabackup.outcome"},
            "megabackup.engine.cycle": {"megabackup.restore.backups"},
            "megabackup.settings": {"megabackup.engine.plan"},
            "megabackup.restore.locate": {"megabackup.engine.plan", "megabackup.places"},
        }
    )
    assert wrong == [
        "megabackup.engine.cycle (engine) imports megabackup.restore.backups (restore)",
        "megabackup.restore.locate (restore) imports megabackup.engine.plan (engine)",
        "megabackup.settings (leaf) imports megabackup.engine.plan (engine)",
        "megabackup.tools.unison (tools) imports megabackup.notify (leaf)",
        "megabackup.tray.menu (tray) imports megabackup.tools.rdiff (tools)",
    ]


def test_the_reader_sees_imports_inside_functions(tmp_path: Path) -> None:
    graph = package_graph()
    assert "megabackup.restore.backups" in graph["megabackup.cli"]  # imported inside _restore
    assert "megabackup.tools.rdiff" in graph["megabackup.engine.snapshot"]
