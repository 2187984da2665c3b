"""Pictures of a compiled graph: what ``graph.get_graph()`` returns.

``draw_mermaid()`` gives Mermaid flowchart text, ``draw_ascii()`` a text drawing, ``draw_svg()`` an
SVG, and ``draw_mermaid_png()`` PNG bytes rendered on this machine (never by a web service):
with mermaid-cli (``mmdc``) when it is installed, else by a headless Chromium taking a screenshot
of the SVG. Without either it raises :class:`DrawingError` saying what to install.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..constants import END
from ..errors import StreamhilError

__all__ = ["DrawableGraph", "DrawingError", "Edge", "Node", "graph_of"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class DrawingError(StreamhilError, RuntimeError):
    """A picture could not be rendered here (no renderer installed, or the renderer failed)."""


@dataclass(frozen=True, slots=True)
class Node:
    """A node, with the fields of langchain_core's ``Node`` (``data`` is None: streamhil does not
    hand out its node objects) and ``kind``: "start", "end", "node" or "subgraph"."""

    id: str
    name: str
    data: Any = None
    metadata: dict[str, Any] | None = None
    kind: str = "node"


@dataclass(frozen=True, slots=True)
class Edge:
    """An edge, with the fields of langchain_core's ``Edge``: ``data`` is the label of a
    conditional edge (its path map's key, when that differs from the target)."""

    source: str
    target: str
    data: Any = None
    conditional: bool = False


class DrawableGraph:
    """A graph's nodes (a dict by id) and edges, with the methods of the langchain_core ``Graph``
    LangGraph's ``get_graph()`` returns that streamhil has (no ``add_node``, ``extend``, ...)."""

    def __init__(self, nodes: Iterable[Node], edges: Iterable[Edge]) -> None:
        self.nodes: dict[str, Node] = {node.id: node for node in nodes}
        unique: dict[tuple[str, str], Edge] = {}
        for edge in edges:  # one edge per pair; a static edge wins over a conditional one
            known = unique.get((edge.source, edge.target))
            if known is None or (known.conditional and not edge.conditional):
                unique[(edge.source, edge.target)] = edge
        self.edges = list(unique.values())

    def __repr__(self) -> str:
        return f"DrawableGraph(nodes={list(self.nodes)}, edges={len(self.edges)})"

    def first_node(self) -> Node | None:
        """The one node no edge leads to (START), or None when there is not exactly one."""
        targets = {edge.target for edge in self.edges}
        found = [node for node in self.nodes.values() if node.id not in targets]
        return found[0] if len(found) == 1 else None

    def last_node(self) -> Node | None:
        """The one node no edge leaves (END), or None when there is not exactly one."""
        sources = {edge.source for edge in self.edges}
        found = [node for node in self.nodes.values() if node.id not in sources]
        return found[0] if len(found) == 1 else None

    def to_json(self) -> dict[str, Any]:
        """langchain_core's JSON form: ``{"nodes": [{"id", "type", "data"}], "edges": [{"source",
        "target"}]}``, an edge with ``"data"`` when labelled and ``"conditional": True`` when it is;
        END is ``{"id"}`` alone, as in LangGraph."""
        nodes = [
            {"id": n.id} if n.kind == "end" else {"id": n.id, "type": "runnable", "data": {"name": n.name}}
            for n in self.nodes.values()
        ]
        edges = []
        for e in self.edges:
            edge: dict[str, Any] = {"source": e.source, "target": e.target}
            if e.data is not None:
                edge["data"] = e.data
            if e.conditional:
                edge["conditional"] = True
            edges.append(edge)
        return {"nodes": nodes, "edges": edges}

    # -- text -------------------------------------------------------------------------------

    def draw_mermaid(self) -> str:
        """Mermaid flowchart text (paste it into any Mermaid renderer, e.g. mermaid.live)."""
        lines = ["graph TD;"]
        for node in self.nodes.values():
            ident = _mermaid_id(node.id)
            label = _mermaid_label(node.id)
            if node.kind == "start":
                lines.append(f"\t{ident}([{label}]):::first")
            elif node.kind == "end":
                lines.append(f"\t{ident}([{label}]):::last")
            elif node.kind == "subgraph":
                lines.append(f"\t{ident}[[{label}]]")
            else:
                lines.append(f"\t{ident}({label})")
        for edge in self.edges:
            arrow = "-.->" if edge.conditional else "-->"
            if edge.data is not None:  # a labelled edge, as LangGraph draws it
                label = f"&nbsp;{edge.data}&nbsp;"
                arrow = f"-. {label} .->" if edge.conditional else f"-- {label} -->"
            lines.append(f"\t{_mermaid_id(edge.source)} {arrow} {_mermaid_id(edge.target)};")
        lines.append("\tclassDef default fill:#f2f0ff,line-height:1.2")
        lines.append("\tclassDef first fill-opacity:0")
        lines.append("\tclassDef last fill:#bfb6fc")
        return "\n".join(lines) + "\n"

    def draw_ascii(self) -> str:
        """A text drawing: the nodes in layers from START down, ``|``/``:`` under a node whose
        (static/conditional) edges lead to the next layer, ``v`` over a node they reach; edges
        that skip a layer or go back are listed under the drawing."""
        layers = self._layers()
        widths = [[len(name) + 4 for name in layer] for layer in layers]
        total = max(sum(w) + 2 * (len(w) - 1) for w in widths)
        centers: dict[str, int] = {}
        rows: list[str] = []
        for index, layer in enumerate(layers):
            row_width = sum(widths[index]) + 2 * (len(layer) - 1)
            x = (total - row_width) // 2
            top, middle = [" "] * total, [" "] * total
            for name, width in zip(layer, widths[index]):
                centers[name] = x + width // 2
                border = "+" + "-" * (width - 2) + "+"
                top[x : x + width] = border
                middle[x : x + width] = f"| {name} |"
                x += width + 2
            if index > 0:
                arrows = [" "] * total
                for name in layer:
                    if any(e.target == name and e.source in layers[index - 1] for e in self.edges):
                        arrows[centers[name]] = "v"
                rows.append("".join(arrows).rstrip())
            rows += ["".join(top).rstrip(), "".join(middle).rstrip(), "".join(top).rstrip()]
            if index + 1 < len(layers):
                below = [" "] * total
                for name in layer:
                    out = [e for e in self.edges if e.source == name and e.target in layers[index + 1]]
                    if out:
                        below[centers[name]] = "|" if any(not e.conditional for e in out) else ":"
                rows.append("".join(below).rstrip())
        level = {name: i for i, layer in enumerate(layers) for name in layer}
        others = sorted(  # static ones first
            (e for e in self.edges if level[e.target] != level[e.source] + 1), key=lambda e: e.conditional
        )
        if others:
            rows.append("")
            rows += [f"{e.source} {'-.->' if e.conditional else '-->'} {e.target}" for e in others]
        return "\n".join(rows) + "\n"

    # -- pictures ---------------------------------------------------------------------------

    def draw_svg(self) -> str:
        """An SVG drawing, laid out in the same layers as ``draw_ascii``."""
        return self._svg_layout()[0]

    def draw_mermaid_png(
        self,
        *,
        output_file_path: str | os.PathLike[str] | None = None,
        background_color: str | None = "white",
        padding: int = 10,
    ) -> bytes:
        """PNG bytes of the graph, rendered on this machine; also written to ``output_file_path``.

        Uses mermaid-cli (``mmdc`` on PATH) to render ``draw_mermaid()``; without it, a headless
        Chromium (``$STREAMHIL_CHROMIUM`` or ``chromium`` on PATH) screenshots ``draw_svg()``.
        Raises :class:`DrawingError` when neither is installed (nothing is sent to a web service).
        """
        if shutil.which("mmdc"):
            png = self._png_with_mermaid_cli(background_color or "transparent")
        else:
            chromium = _find_chromium()
            if chromium is None:
                raise DrawingError(
                    "draw_mermaid_png() renders on this machine and found no renderer: install "
                    "mermaid-cli (npm install -g @mermaid-js/mermaid-cli, for `mmdc`) or Chromium "
                    "(apt-get install chromium; or set STREAMHIL_CHROMIUM to a Chrome/Chromium binary). "
                    "Without either, graph.get_graph().draw_mermaid() gives the Mermaid text to paste "
                    "into https://mermaid.live, and draw_ascii() a text drawing."
                )
            png = self._png_with_chromium(chromium, background_color or "transparent", padding)
        if output_file_path is not None:
            Path(output_file_path).write_bytes(png)
        return png

    # -- internals --------------------------------------------------------------------------

    def _layers(self) -> list[list[str]]:
        """Node names by layer: the longest forward path from START (back edges ignored)."""
        order = list(self.nodes)
        successors: dict[str, list[str]] = {name: [] for name in order}
        for edge in self.edges:
            if edge.source in successors and edge.target in successors:
                successors[edge.source].append(edge.target)
        back: set[tuple[str, str]] = set()
        state: dict[str, int] = {}

        def visit(name: str) -> None:  # depth-first: an edge to a node on the stack goes back
            state[name] = 1
            for target in successors[name]:
                if state.get(target) == 1:
                    back.add((name, target))
                elif target not in state:
                    visit(target)
            state[name] = 2

        for name in order:
            if name not in state:
                visit(name)
        level = {name: 0 for name in order}
        for _ in range(len(order)):
            changed = False
            for edge in self.edges:
                if (edge.source, edge.target) in back or edge.source not in level or edge.target not in level:
                    continue
                if level[edge.target] < level[edge.source] + 1:
                    level[edge.target] = level[edge.source] + 1
                    changed = True
            if not changed:
                break
        if END in level:
            level[END] = max(level.values()) if len(level) == 1 else max(v for k, v in level.items() if k != END) + 1
        layers: list[list[str]] = [[] for _ in range(max(level.values(), default=0) + 1)]
        for name in order:
            layers[level[name]].append(name)
        return [layer for layer in layers if layer]

    def _svg_layout(self) -> tuple[str, int, int]:
        layers = self._layers()
        box_height, row_gap, col_gap, margin = 36, 48, 24, 20
        widths = {name: max(72, 9 * len(name) + 28) for layer in layers for name in layer}
        row_widths = [sum(widths[n] for n in layer) + col_gap * (len(layer) - 1) for layer in layers]
        width = max(row_widths) + 2 * margin + 160  # room on both sides for edges that skip or go back
        height = len(layers) * box_height + (len(layers) - 1) * row_gap + 2 * margin
        boxes: dict[str, tuple[int, int, int]] = {}
        for index, layer in enumerate(layers):
            x = margin + 80 + (max(row_widths) - row_widths[index]) // 2
            y = margin + index * (box_height + row_gap)
            for name in layer:
                boxes[name] = (x, y, widths[name])
                x += widths[name] + col_gap
        kinds = {n.id: n.kind for n in self.nodes.values()}
        level = {name: i for i, layer in enumerate(layers) for name in layer}
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="14">',
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
            'markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker></defs>',
        ]
        for edge in self.edges:
            sx, sy, sw = boxes[edge.source]
            tx, ty, tw = boxes[edge.target]
            dash = ' stroke-dasharray="5,4"' if edge.conditional else ""
            if level[edge.target] == level[edge.source] + 1:
                path = f"M {sx + sw // 2} {sy + box_height} L {tx + tw // 2} {ty}"
            elif level[edge.target] > level[edge.source]:  # skips a layer: around the left side
                left = margin // 2
                path = (
                    f"M {sx} {sy + box_height // 2} C {left} {sy + box_height // 2}, "
                    f"{left} {ty + box_height // 2}, {tx} {ty + box_height // 2}"
                )
            else:  # back (or sideways) edge: around the right side
                right = width - margin // 2
                path = (
                    f"M {sx + sw} {sy + box_height // 2} C {right} {sy + box_height // 2}, "
                    f"{right} {ty + box_height // 2}, {tx + tw} {ty + box_height // 2}"
                )
            parts.append(f'<path d="{path}" fill="none" stroke="#333" stroke-width="1.5"{dash} marker-end="url(#arrow)"/>')
        for name, (x, y, w) in boxes.items():
            kind = kinds.get(name, "node")
            rx = box_height // 2 if kind in ("start", "end") else 6
            fill = {"start": "#ffffff", "end": "#bfb6fc"}.get(kind, "#f2f0ff")
            stroke_width = 3 if kind == "subgraph" else 1.5
            parts.append(
                f'<rect x="{x}" y="{y}" width="{w}" height="{box_height}" rx="{rx}" fill="{fill}" '
                f'stroke="#7c6fd8" stroke-width="{stroke_width}"/>'
            )
            parts.append(
                f'<text x="{x + w // 2}" y="{y + box_height // 2 + 5}" text-anchor="middle">{html.escape(name)}</text>'
            )
        parts.append("</svg>")
        return "\n".join(parts), width, height

    def _png_with_mermaid_cli(self, background: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="streamhil-draw-") as tmp:
            source, target = Path(tmp, "graph.mmd"), Path(tmp, "graph.png")
            source.write_text(self.draw_mermaid(), encoding="utf-8")
            _run([shutil.which("mmdc") or "mmdc", "-i", str(source), "-o", str(target), "-b", background], "mermaid-cli")
            return _read_png(target, "mermaid-cli")

    def _png_with_chromium(self, chromium: str, background: str, padding: int) -> bytes:
        svg, width, height = self._svg_layout()
        page = (
            f'<!doctype html><html><body style="margin:0;padding:{padding}px;background:{html.escape(background)}">'
            f"{svg}</body></html>"
        )
        with tempfile.TemporaryDirectory(prefix="streamhil-draw-") as tmp:
            source, target = Path(tmp, "graph.html"), Path(tmp, "graph.png")
            source.write_text(page, encoding="utf-8")
            _run(
                [
                    chromium,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--hide-scrollbars",
                    f"--user-data-dir={Path(tmp, 'profile')}",
                    f"--window-size={width + 2 * padding},{height + 2 * padding}",
                    f"--screenshot={target}",
                    source.as_uri(),
                ],
                "Chromium",
            )
            return _read_png(target, "Chromium")


def _find_chromium() -> str | None:
    configured = os.environ.get("STREAMHIL_CHROMIUM")
    if configured:
        return configured
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(command: list[str], renderer: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DrawingError(f"{renderer} could not render the graph: {exc}") from None
    if done.returncode != 0:
        raise DrawingError(f"{renderer} failed to render the graph (exit {done.returncode}): {done.stderr.strip()[-500:]}")


def _read_png(path: Path, renderer: str) -> bytes:
    if not path.exists():
        raise DrawingError(f"{renderer} ran but wrote no image")
    data = path.read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise DrawingError(f"{renderer} wrote something that is not a PNG")
    return data


def _mermaid_id(name: str) -> str:
    """A Mermaid node id: letters, digits and ``_`` (others become ``_xx_`` hex escapes)."""
    return "".join(c if c.isalnum() or c == "_" else f"_{ord(c):x}_" for c in name)


def _mermaid_label(name: str) -> str:
    return '"' + name.replace('"', "#quot;") + '"' if not name.replace("_", "").isalnum() else name


def graph_of(structure: dict[str, Any]) -> DrawableGraph:
    """A :class:`DrawableGraph` from ``CompiledStateGraph.graph_structure()``'s dict."""
    nodes = [Node(n["id"], n["id"], kind=n["kind"]) for n in structure["nodes"]]
    known = {n.id for n in nodes}
    edges = sorted(  # in LangGraph's order: by source, then target
        (
            Edge(e["source"], e["target"], e.get("data"), e["conditional"])
            for e in structure["edges"]
            if e["target"] in known
        ),
        key=lambda e: (e.source, e.target, e.conditional, e.target if e.data is None else str(e.data)),
    )
    # A node some edge reaches and none leaves ends the run: LangGraph draws its edge to END.
    ends = sorted({e.target for e in edges if e.target != END} - {e.source for e in edges})
    return DrawableGraph(nodes, edges + [Edge(name, END) for name in ends])

