"""Layering is a test: every module's imports, read with ``ast``, against allow-lists.

- ``streamhil`` (the core) never imports starlette, uvicorn, websockets or asyncio, and imports
  no third-party package that pyproject.toml does not declare for it;
- ``streamhil.protocol`` imports only the stdlib, orjson and itself;
- ``streamhil_client`` never imports starlette or ``streamhil.executor``;
- the core is layered: ``errors``, ``_context``, ``_ids`` and ``_retry`` at the bottom, ``types`` on them,
  the executor on those (it runs a ``GraphSpec``, never the ``graph`` package), ``graph`` on top;
- no import circle anywhere in the three packages (lazy and ``TYPE_CHECKING`` imports count).

Each failure names the file, the line and the import.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "streamhil"
PROTOCOL = CORE / "protocol"
CLIENT = ROOT / "clients" / "python" / "streamhil_client"
STDLIB = frozenset(sys.stdlib_module_names)


def module_name(path: Path, package_root: Path) -> str:
    parts = list(path.relative_to(package_root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, package_root: Path) -> Iterator[tuple[int, str]]:
    """``(line, absolute module name)`` of every import in ``path``, lazy ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path, package_root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                if node.module:
                    base = f"{base}.{node.module}"
            yield node.lineno, base
            for alias in node.names:  # `from . import x` may import the submodule x
                yield node.lineno, f"{base}.{alias.name}"


def violations(where: Path, allowed: object, package_root: Path | None = None) -> list[str]:
    """Imports in ``where`` (a module, or a folder of them) that ``allowed(path, name)`` refuses,
    as ``file:line imports module``; ``package_root`` is the top-level package they belong to
    (for resolving relative imports)."""
    bad = []
    paths = [where] if where.is_file() else sorted(where.rglob("*.py"))
    for path in paths:
        for line, name in imports(path, package_root or where):
            if not allowed(path, name):  # type: ignore[operator]
                shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                bad.append(f"{shown}:{line} imports {name}")
    return sorted(set(bad))


def top(name: str) -> str:
    return name.split(".")[0]


def declared_dependencies() -> set[str]:
    """Import names of the runtime dependencies pyproject.toml declares (they match here)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0].lower() for spec in project["dependencies"]}


# Optional imports the core guards with try/except ImportError, by file, with their extra.
OPTIONAL = {
    ("streamhil/prebuilt/openai.py", "httpx"),
    ("streamhil/prebuilt/langchain.py", "langchain_core"),
    ("streamhil/executor/langchain_messages.py", "langchain_core"),
    ("streamhil/executor/langchain_events.py", "langchain_core"),
    ("streamhil/graph/_json_schema.py", "pydantic"),
    ("streamhil/types.py", "pydantic"),
    ("streamhil/checkpoint/_postgres_drivers.py", "psycopg"),
    ("streamhil/checkpoint/_postgres_drivers.py", "psycopg_pool"),
    ("streamhil/checkpoint/_postgres_wire.py", "psycopg"),
    ("streamhil/checkpoint/_postgres_codecs.py", "psycopg"),
    ("streamhil/checkpoint/_postgres_common.py", "psycopg"),
    ("streamhil/checkpoint/_postgres_common.py", "psycopg_pool"),
    ("streamhil/checkpoint/_postgres_given.py", "psycopg"),
    ("streamhil/checkpoint/_postgres_given.py", "psycopg_pool"),
}


def test_core_never_imports_server_or_client_libraries() -> None:
    forbidden = {"starlette", "uvicorn", "websockets", "asyncio"}
    assert violations(CORE, lambda path, name: top(name) not in forbidden) == []


def test_core_imports_only_declared_dependencies() -> None:
    declared = declared_dependencies()
    assert {"anyio", "orjson", "aiosqlite"} <= declared

    def allowed(path: Path, name: str) -> bool:
        first = top(name)
        if first in STDLIB or first == "streamhil" or first in declared:
            return True
        return (str(path.relative_to(ROOT)), first) in OPTIONAL

    assert violations(CORE, allowed) == []


def test_optional_imports_are_guarded() -> None:
    for rel, name in OPTIONAL:
        tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
        guarded = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Try)
            and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                for h in node.handlers
            )
            and any(isinstance(s, ast.Import) and any(a.name == name for a in s.names) for s in node.body)
        ]
        assert guarded, f"{rel} imports {name} without a try/except ImportError"


def test_protocol_imports_only_stdlib_orjson_and_itself() -> None:
    def allowed(path: Path, name: str) -> bool:
        return top(name) in STDLIB or top(name) == "orjson" or name == "streamhil.protocol" or name.startswith("streamhil.protocol.")

    assert violations(PROTOCOL, allowed, CORE) == []


def in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_executor_never_imports_the_graph_package() -> None:
    """The executor runs a ``GraphSpec`` (executor/spec.py); the graph package builds it."""
    allowed = lambda path, name: not in_package(name, "streamhil.graph")  # noqa: E731
    assert violations(CORE / "executor", allowed, CORE) == []


def test_the_bottom_layer_imports_nothing_above_it() -> None:
    """``errors`` imports nothing of streamhil; ``types`` only ``errors`` and the bottom helpers
    (``_context``, ``_ids``, ``_retry``), never the executor or the graph package."""
    for bottom in ("errors.py", "_context.py", "_ids.py", "_retry.py"):
        assert violations(CORE / bottom, lambda path, name: top(name) != "streamhil", CORE) == []
    below = {"streamhil.errors", "streamhil._context", "streamhil._ids", "streamhil._retry"}

    def allowed(path: Path, name: str) -> bool:
        return top(name) != "streamhil" or name in below or name.rpartition(".")[0] in below

    assert violations(CORE / "types.py", allowed, CORE) == []


def test_layering_failures_name_the_import(tmp_path: Path) -> None:
    """A forbidden import is reported as ``file:line imports module``."""
    core = tmp_path / "streamhil"
    (core / "executor").mkdir(parents=True)
    (core / "executor" / "loop.py").write_text("import anyio\nfrom ..graph.compiled import CompiledStateGraph\n")
    found = violations(core / "executor", lambda path, name: not in_package(name, "streamhil.graph"), core)
    assert [v.split(" imports ")[1] for v in found] == ["streamhil.graph.compiled", "streamhil.graph.compiled.CompiledStateGraph"]
    assert all(":2 imports" in v for v in found)


def test_client_never_imports_starlette_or_the_executor() -> None:
    def allowed(path: Path, name: str) -> bool:
        return top(name) != "starlette" and not (name == "streamhil.executor" or name.startswith("streamhil.executor."))

    assert violations(CLIENT, allowed) == []


def test_the_checker_sees_relative_and_lazy_imports(tmp_path: Path) -> None:
    """The AST reader resolves relative imports and finds imports inside functions."""
    pkg = tmp_path / "streamhil" / "protocol"
    pkg.mkdir(parents=True)
    (tmp_path / "streamhil" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from . import codec\n")
    (pkg / "codec.py").write_text("def f():\n    import asyncio\n    from ..executor import loop\n")
    found = {name for path in pkg.rglob("*.py") for _, name in imports(path, tmp_path / "streamhil")}
    assert {"asyncio", "streamhil.executor", "streamhil.executor.loop", "streamhil.protocol.codec"} <= found


@pytest.mark.parametrize("module", ["streamhil", "streamhil.protocol"])
def test_importing_the_core_is_cheap(module: str) -> None:
    """Importing the core loads no SQLite driver, server or client library."""
    import subprocess

    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in ('aiosqlite', 'psycopg', 'starlette', 'uvicorn', 'websockets', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


# --- import circles ------------------------------------------------------------------------

PACKAGES = {
    "streamhil": CORE,
    "streamhil_server": ROOT / "server" / "streamhil_server",
    "streamhil_client": CLIENT,
}

def module_graph() -> dict[str, set[str]]:
    """Module -> the modules of these packages it imports (lazy and TYPE_CHECKING ones too)."""
    modules: dict[str, Path] = {}
    for name, root in PACKAGES.items():
        for path in root.rglob("*.py"):
            modules[module_name(path, root)] = path
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        root = PACKAGES[module.split(".")[0]]
        for _, name in imports(path, root):
            # ``from . import sibling`` names the module's own package: Python sets up a package
            # before its modules anyway, so that is no circle; its sibling is the real edge.
            if name in modules and name != module and not module.startswith(name + "."):
                edges[module].add(name)
    return edges


def circles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(group)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle() -> None:
    """No module imports (even lazily, even for type checking) one that imports it back."""
    edges = module_graph()
    found = [
        "; ".join(f"{a} imports {b}" for a in sorted(group) for b in sorted(edges[a] & group))
        for group in circles(edges)
    ]
    assert found == [], "import circle(s): " + " | ".join(found)


def test_the_circle_finder_finds_circles() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert circles({"a": {"b"}, "b": set()}) == []
