"""A newcomer finds a job by its folder: the root holds only the entry and the wiring, and
every package imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"

# Lower layers first; a package may import its own layer and those listed before it.
LAYERS: list[set[str]] = [
    {"__init__", "errors", "runtime", "retrieval", "localapi", "storage"},
    {"config"},
    {"knowledge"},
    {"messages"},
    {"delivery"},
    {"questions", "digests", "feeds"},
    {"context", "handlers"},
    {"serving"},
    {"app", "logs", "runner", "console", "cli", "__main__", "migrations"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "bot" and len(parts) > 1:
                found.add(parts[1])
    return found


def _owner(path: Path) -> str:
    relative = path.relative_to(BOT)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def test_the_root_holds_at_most_ten_modules() -> None:
    modules = sorted(p.name for p in BOT.glob("*.py"))
    assert len(modules) <= 10, modules


def test_every_capability_folder_says_what_lives_there_and_what_it_may_import() -> None:
    for package in sorted(p.parent for p in BOT.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
        assert doc, f"{package.name}/__init__.py has no docstring"
        if package.name not in {"localapi"}:
            assert "May import" in doc, f"{package.name}/__init__.py does not say what it imports"


def test_no_package_imports_one_above_it() -> None:
    wrong: list[str] = []
    for path in sorted(BOT.rglob("*.py")):
        owner = _owner(path)
        if owner not in RANK:
            wrong.append(f"{path.relative_to(BOT)}: {owner} has no layer")
            continue
        for target in _imported_packages(path):
            if target == owner or target not in RANK:
                continue
            if RANK[target] > RANK[owner]:
                wrong.append(f"{path.relative_to(BOT)} imports bot.{target}")
    assert not wrong, "\n".join(wrong)
