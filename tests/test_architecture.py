"""The layout of docs/architecture.md holds: no import cycles, no oversized library files.

Imports are read from the source text (Rust `use crate::…`/`super::…`/`self::…` paths and a
mod.rs's re-exports of its children; Python `from .x import …`, ignoring imports that only
type checkers see). One exception is allowed and named: inside `src/kpis/`, the families'
counters make up `ContactState` and their formulas read a `Cell` holding it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PY = ROOT / "python" / "supportkpi"
MAX_LINES = 680  # "about 600": the largest file today is 666 lines


def _rust_modules() -> dict[str, str]:
    modules = {}
    for path in SRC.rglob("*.rs"):
        rel = path.relative_to(SRC).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "mod":
            parts = parts[:-1]
        name = "::".join(parts) if parts != ["lib"] else ""
        text = path.read_text(encoding="utf-8")
        text = re.split(r"#\[cfg\(test\)\]\s*mod tests \{", text)[0]
        text = re.sub(r"//[^\n]*", "", text)
        text = re.sub(r"\n    pub use super::[^\n]*", "", text)  # inline prelude modules
        modules[name] = text
    return modules


def _resolve(modules: dict[str, str], current: str, path: str) -> str | None:
    parts = path.split("::")
    if parts[0] == "crate":
        base: list[str] = []
    elif parts[0] in ("super", "self"):
        base = current.split("::") if current else []
        while parts and parts[0] == "super":
            base, parts = base[:-1], parts[1:]
        if parts and parts[0] == "self":
            parts = parts[1:]
    else:
        return None
    if parts and parts[0] == "crate":
        parts = parts[1:]
    for k in range(len(parts), -1, -1):
        candidate = "::".join(base + parts[:k])
        if candidate in modules:
            return candidate
    return None


def _rust_edges() -> dict[str, set[str]]:
    modules = _rust_modules()
    edges: dict[str, set[str]] = {}
    for name, text in modules.items():
        deps = set()
        for m in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", text):
            target = _resolve(modules, name, m.group(1))
            if target is not None:
                deps.add(target)
        for m in re.finditer(r"use ((?:crate|super|self)(?:::\w+)*)::\{([^}]*)\}", text):
            for item in m.group(2).split(","):
                item = item.strip().split("::")[0].split(" ")[0]
                if item and item != "self":
                    target = _resolve(modules, name, f"{m.group(1)}::{item}")
                    if target is not None:
                        deps.add(target)
        for m in re.finditer(r"^\s*(?:pub(?:\([^)]*\))? )?use (\w+)::", text, re.M):
            child = f"{name}::{m.group(1)}" if name else m.group(1)
            if child in modules:
                deps.add(child)
        deps.discard(name)
        edges[name] = deps
    return edges


def _python_edges() -> dict[str, set[str]]:
    names = {p.stem for p in PY.glob("*.py")}
    edges = {}
    for path in PY.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"if TYPE_CHECKING:\n(?:    [^\n]*\n|\n)+", "", text)
        text = re.sub(r'"""(?:.|\n)*?"""', "", text)  # docstrings (examples import freely)
        deps = set(re.findall(r"^\s*from \.(\w+) import", text, re.M))
        deps |= set(re.findall(r"^\s*from supportkpi\.(\w+) import", text, re.M))
        for group in re.findall(r"^\s*from (?:\.|supportkpi) import ([\w, ]+)", text, re.M):
            deps |= {n.strip() for n in group.split(",")}
        edges[path.stem] = {d for d in deps if d in names and d != path.stem}
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_rust_modules():
    edges = _rust_edges()
    outside_kpis = {
        a: {b for b in deps if not (a.startswith("kpis") and b.startswith("kpis"))}
        for a, deps in edges.items()
    }
    assert _cycles(outside_kpis) == []
    # The one named exception stays inside kpis/.
    for component in _cycles(edges):
        assert all(m == "kpis" or m.startswith("kpis::") for m in component), component


def test_no_import_cycle_between_python_modules():
    assert _cycles(_python_edges()) == []


def test_the_checks_see_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    edges = _rust_edges()
    assert "kpis" in edges["config"] and "config" in edges["scorecard::options"]
    assert "_present" in _python_edges()["_notebook"]


@pytest.mark.parametrize(
    "path",
    sorted([*SRC.rglob("*.rs"), *PY.glob("*.py")]),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_library_files_stay_small(path):
    text = path.read_text(encoding="utf-8")
    # Rust unit tests at the end of a file do not count: they live beside the code they test.
    library = re.split(r"\n#\[cfg\(test\)\]\nmod tests \{", text)[0]
    assert library.count("\n") <= MAX_LINES, f"{path.name}: {library.count(chr(10))} lines"
