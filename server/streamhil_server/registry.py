"""Graph name → compiled graph: the graphs a server can run.

Graphs come from a mapping given to ``create_app(graphs=...)``, from ``path.py:attr`` or
``module:attr`` references on the command line, or from the demo set. Every graph is run with
the server's checkpointer, whatever it was compiled with, so its threads survive restarts.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamhil.graph.compiled import CompiledStateGraph
from streamhil.graph.state_graph import StateGraph
from streamhil.protocol import EdgeInfo, GraphInfo

from .input_schema import input_fields

__all__ = ["GraphEntry", "GraphRegistry", "GraphLoadError", "load_reference"]


class GraphLoadError(ValueError):
    """A graph reference that cannot be loaded; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class GraphEntry:
    """One runnable graph and how ``list_graphs`` shows it."""

    name: str
    graph: CompiledStateGraph
    description: str | None = None

    def info(self) -> GraphInfo:
        structure = self.graph.graph_structure()
        return GraphInfo(
            name=self.name,
            description=self.description,
            nodes=tuple(n["id"] for n in structure["nodes"]),
            edges=tuple(EdgeInfo(source=e["source"], target=e["target"], conditional=e["conditional"]) for e in structure["edges"]),
            input_keys=tuple(self.graph.input_keys),
            input_schema=input_fields(self.graph),
        )


class GraphRegistry:
    """The graphs of one server, by name."""

    def __init__(self, graphs: Mapping[str, Any] | None = None) -> None:
        self._entries: dict[str, GraphEntry] = {}
        for name, graph in (graphs or {}).items():
            self.add(name, graph)

    def add(self, name: str, graph: Any, description: str | None = None) -> GraphEntry:
        """Register ``graph`` (a compiled graph, a StateGraph to compile, or a
        ``(graph, description)`` pair) as ``name``."""
        if isinstance(graph, tuple) and len(graph) == 2:
            graph, description = graph
        if not isinstance(name, str) or not name or len(name) > 200:
            raise GraphLoadError(f"graph names are strings of 1-200 characters, got {name!r}")
        if name in self._entries:
            raise GraphLoadError(f"two graphs are named {name!r}; give each a unique name")
        if isinstance(graph, StateGraph):
            graph = graph.compile()
        if not isinstance(graph, CompiledStateGraph):
            if type(graph).__module__.split(".")[0] == "langgraph":
                raise GraphLoadError(
                    f"graph {name!r} was built with LangGraph ({type(graph).__module__}.{type(graph).__name__}): "
                    "build it with streamhil instead (rename langgraph to streamhil in its imports)"
                )
            raise GraphLoadError(
                f"graph {name!r} is a {type(graph).__name__}, not a graph: give a StateGraph or its .compile() result"
            )
        if description is None:
            description = (getattr(graph, "description", None) or None)
        entry = GraphEntry(name, graph, description)
        self._entries[name] = entry
        return entry

    def bind(self, checkpointer: Any) -> None:
        """Make every graph save its threads with ``checkpointer``."""
        for entry in self._entries.values():
            entry.graph.checkpointer = checkpointer

    def get(self, name: str) -> GraphEntry | None:
        return self._entries.get(name)

    def names(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> list[GraphEntry]:
        return list(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)


def load_reference(ref: str) -> tuple[str, Any]:
    """Load ``path/to/file.py:attr`` or ``package.module:attr``; returns ``(attr, object)``.

    A ``name=`` prefix (``approve=app.py:graph``) chooses the graph's name; the default is ``attr``.
    """
    name = None
    if "=" in ref.split(":", 1)[0]:
        name, ref = ref.split("=", 1)
    source, sep, attr = ref.rpartition(":")
    if not sep or not source or not attr:
        raise GraphLoadError(f"graph reference {ref!r} must look like 'file.py:graph' or 'package.module:graph'")
    if source.endswith(".py") or "/" in source or "\\" in source:
        path = Path(source).resolve()
        if not path.is_file():
            raise GraphLoadError(f"graph reference {ref!r}: no file {str(path)!r}")
        module_name = f"_streamhil_graphs_{path.stem}_{abs(hash(str(path))) % 10**8}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise GraphLoadError(f"graph reference {ref!r}: cannot import {str(path)!r}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        sys.path.insert(0, str(path.parent))
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(path.parent))
    else:
        try:
            module = importlib.import_module(source)
        except ImportError as exc:
            raise GraphLoadError(f"graph reference {ref!r}: cannot import {source!r}: {exc}") from exc
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise GraphLoadError(f"graph reference {ref!r}: {source!r} has no attribute {attr!r}") from None
    return name or attr, obj
