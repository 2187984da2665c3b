"""streamhil.protocol is sans-I/O: it imports only the standard library and orjson."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def imported_modules(package: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        found[path.name] = names
    return found


def test_protocol_imports_only_stdlib_and_orjson() -> None:
    allowed = set(sys.stdlib_module_names) | {"orjson"}
    for module, names in imported_modules(ROOT / "streamhil" / "protocol").items():
        bad = {n for n in names if n.split(".")[0] not in allowed}
        assert not bad, f"streamhil/protocol/{module} imports {sorted(bad)}"
        assert "asyncio" not in names and "anyio" not in names, module


def test_the_sdk_needs_no_server_and_no_runtime() -> None:
    forbidden = ("starlette", "uvicorn", "streamhil.executor", "streamhil.graph", "streamhil_server")
    for module, names in imported_modules(ROOT / "clients" / "python" / "streamhil_client").items():
        bad = {n for n in names if n.startswith(forbidden)}
        assert not bad, f"streamhil_client/{module} imports {sorted(bad)}"
