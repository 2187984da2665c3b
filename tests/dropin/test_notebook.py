"""Seed 001 run as a real Jupyter notebook (ipykernel + nbclient): its code cells, renamed
mechanically (``langgraph`` -> ``streamhil``; the hosted model swapped as in seed_examples.py),
call the sync API (``invoke``, ``stream``, ``get_state``) in a kernel whose event loop is running,
and every cell passes with the notebook's printouts."""

from __future__ import annotations

import inspect
import os
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (test extra)")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (test extra)")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (test extra)")

from .seed_catalog import EXAMPLES  # noqa: E402
from .seed_examples import SEEDS, SKIP_WITHOUT_SEEDS, cells_of, normalized, seed_model  # noqa: E402

pytestmark = pytest.mark.skipif(SEEDS is None, reason=SKIP_WITHOUT_SEEDS)

ROOT = Path(__file__).resolve().parents[2]


def setup_cell() -> str:
    """The documented model swap, defined in the kernel (the notebook's own setup cells,
    ``%pip install`` and ``load_dotenv``, are left out)."""
    source = textwrap.dedent(inspect.getsource(seed_model))
    reply = 'SEED_REPLY = "Your stay at the McKittrick Hotel has been successfully booked. Enjoy your stay!"'
    return f"{reply}\nfrom typing import Any\n\n{source}\nSEED_MODEL = seed_model()"


def notebook() -> Any:
    cells = [nbformat.v4.new_code_cell(setup_cell())]
    cells.append(
        nbformat.v4.new_code_cell(
            "import asyncio\nassert asyncio.get_running_loop().is_running()  # the kernel's loop runs under every cell"
        )
    )
    for example in EXAMPLES:
        if example.seed == "001":
            cells += [nbformat.v4.new_code_cell(code) for code in cells_of(example)]
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def shown(cell: Any) -> str:
    """What a cell showed: its printed text and the value of its last expression."""
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif output["output_type"] == "execute_result":
            parts.append(output["data"]["text/plain"] + "\n")
    return normalized("".join(parts))


def test_seed_001_runs_as_a_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = notebook()
    # The kernel (a child process) imports the streamhil under test, as this process does.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in [str(ROOT), os.environ.get("PYTHONPATH", "")] if p))
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError naming the cell if any cell fails
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code_cells)
    assert not [o for c in code_cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    outputs = [shown(c) for c in code_cells[2:]]
    # In [None]: print(result['__interrupt__'])
    assert outputs[1] == "[Interrupt(value={'text_to_revise': 'original text'}, id='<id>', response_schema=None)]"
    assert outputs[2] == "{'some_text': 'Edited text'}"
    assert outputs[3].startswith("StateSnapshot(values={'some_text': 'Edited text'}, next=(), config=")
    # In [27]: the parallel interrupts, shown by get_state; In [28]: both answered by id.
    assert "next=('human_node_1', 'human_node_2')" in outputs[4]
    assert outputs[5] == (
        "{'text_1': \"human input for {'text_to_revise': 'original text 1'}\", "
        "'text_2': \"human input for {'text_to_revise': 'original text 2'}\"}"
    )
    assert outputs[8] == "✅ Approved path taken.\n{'llm_output': 'This is the generated output.', 'decision': 'approved'}"
    assert outputs[10].startswith("✅ Using edited summary: The cat lay on the rug")
    # In [36]/[37]: agent.stream(...) in a cell, up to the interrupt in the tool, then resumed.
    assert re.search(r"Trying to call `book_hotel` with args \{'hotel_name': McKittrick hotel\}", outputs[12])
    assert "Successfully booked a stay at McKittrick hotel." in outputs[13]
    assert "Enjoy your stay!" in outputs[13]
