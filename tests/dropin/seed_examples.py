"""Every Python example of the seeds (``../shared/seeds`` beside the repository), taken from the seed text as it is and rewritten
mechanically: ``langgraph`` becomes ``streamhil`` in import lines, nothing else. Examples that
call a hosted LLM get one documented swap: the ``model="<provider>:<name>"`` argument becomes
``model=SEED_MODEL``, a LangChain fake chat model (streamhil's ScriptedChatModel when
langchain-core is absent) replaying the tool call and the final answer the page shows.

Markdown seeds are read fence by fence (``blocks``: their numbers, in page order); the notebook
seed (001) cell by cell (``cells``: the ``In [..]:`` label, which of the labels so named, and the
cell's last code line — the text dump does not mark where a cell's output begins).
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def find_seeds() -> Path | None:
    """The seeds folder: ``$STREAMHIL_SEEDS``, else ``../shared/seeds`` beside this checkout or
    beside the main one (worktrees live one level deeper), else None."""
    candidates = [os.environ.get("STREAMHIL_SEEDS"), ROOT.parent / "shared" / "seeds", ROOT.parents[1] / "shared" / "seeds"]
    for candidate in candidates:
        if candidate and Path(candidate, "001_ac9ad478ee7e6a61.txt").is_file():
            return Path(candidate)
    return None


SEEDS = find_seeds()
SKIP_WITHOUT_SEEDS = "the seeds (../shared/seeds, or $STREAMHIL_SEEDS) are not on this machine"
_FENCE_OPEN = re.compile(r"^(\s*)```\s*([\w-]*)")
_FENCE_CLOSE = re.compile(r"^\s*```\s*$")
_IMPORT = re.compile(r"^(\s*)(from|import)(\s+)langgraph(?=[.\s])")
_HOSTED_MODEL = re.compile(r"""model\s*=\s*["'](openai|anthropic):[^"']+["']""")

SEED_REPLY = "Your stay at the McKittrick Hotel has been successfully booked. Enjoy your stay!"


@dataclass(frozen=True)
class Example:
    """One runnable example: where it is, and what the page documents it prints."""

    name: str
    seed: str  # file name prefix, e.g. "004"
    blocks: tuple[int, ...] = ()
    cells: tuple[tuple[str, int, str], ...] = ()
    needs: tuple[str, ...] = ()  # examples run first in the same namespace (the page read top down)
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def seed_text(prefix: str) -> str:
    assert SEEDS is not None, SKIP_WITHOUT_SEEDS
    [path] = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, dedented code)`` of every fenced block, in order."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        opened = _FENCE_OPEN.match(lines[i])
        if not opened:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not _FENCE_CLOSE.match(lines[j]):
            j += 1
        blocks.append((opened.group(2), textwrap.dedent("\n".join(lines[i + 1 : j]))))
        i = j + 1
    return blocks


def notebook_cell(text: str, label: str, occurrence: int, last_line: str) -> str:
    """The code of the ``occurrence``-th cell labelled ``In [label]:``, through ``last_line``."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == f"In [{label}]:"]
    start = starts[occurrence] + 1
    for end in range(start, len(lines)):
        if lines[end].rstrip() == last_line.rstrip():
            return "\n".join(lines[start : end + 1])
    raise LookupError(f"cell In [{label}] #{occurrence} has no line {last_line!r}")


def rewrite(code: str) -> str:
    """The mechanical rename (imports only) and the documented model swap."""
    renamed = "\n".join(_IMPORT.sub(r"\1\2\3streamhil", line) for line in code.splitlines())
    return _HOSTED_MODEL.sub("model=SEED_MODEL", renamed)


def example_code(example: Example) -> str:
    """The example's code as the seed has it (before the rewrite)."""
    text = seed_text(example.seed)
    if example.cells:
        return "\n\n".join(notebook_cell(text, *cell) for cell in example.cells)
    blocks = fenced_blocks(text)
    return "\n\n".join(blocks[n][1] for n in example.blocks)


def seed_model() -> Any:
    """What the hosted model of the tool-review examples is swapped for: the tool call and the
    answer the page shows, replayed."""
    call = {"name": "book_hotel", "args": {"hotel_name": "McKittrick hotel"}, "id": "call_MZlA79anDendC2q25B3sy9WQ"}
    try:
        from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
        from langchain_core.messages import AIMessage
    except ImportError:
        from streamhil.prebuilt import ScriptedChatModel

        return ScriptedChatModel([{"content": "", "tool_calls": [call]}, SEED_REPLY])
    return FakeMessagesListChatModel(responses=[AIMessage(content="", tool_calls=[call]), AIMessage(content=SEED_REPLY)])


def run_cells(code_cells: list[str], namespace: dict[str, Any], *, notebook: bool) -> str:
    """Run the cells in ``namespace``; return what they printed. In a notebook the value of a
    cell's last expression is shown too, as Jupyter does."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for cell in code_cells:
            tree = ast.parse(cell)
            last = tree.body[-1] if tree.body else None
            if notebook and isinstance(last, ast.Expr):
                exec(compile(ast.Module(tree.body[:-1], []), "<seed>", "exec"), namespace)
                value = eval(compile(ast.Expression(last.value), "<seed>", "eval"), namespace)
                if value is not None:
                    print(repr(value))
            else:
                exec(compile(tree, "<seed>", "exec"), namespace)
    return out.getvalue()


def cells_of(example: Example) -> list[str]:
    text = seed_text(example.seed)
    if example.cells:
        return [rewrite(notebook_cell(text, *cell)) for cell in example.cells]
    blocks = fenced_blocks(text)
    return [rewrite(blocks[n][1]) for n in example.blocks]


_IDS = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "<id>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00"), "<time>"),
    (re.compile(r"id='\.\.\.'"), "id='<id>'"),
]


def normalized(text: str) -> str:
    """Ids, uuids and timestamps replaced by placeholders; trailing blanks dropped."""
    for pattern, placeholder in _IDS:
        text = pattern.sub(placeholder, text)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())
