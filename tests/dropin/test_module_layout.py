"""``from langgraph.X import Y`` becomes ``from streamhil.X import Y``: the public modules mirror
LangGraph's. The names each LangGraph 1.2.22 module exports are read from LangGraph itself (its
``__all__``, or the public names a module without one defines); every name streamhil lacks must
be listed, with the reason, in docs/langgraph-differences.md — and nothing listed there may exist."""

from __future__ import annotations

import importlib
import re
import types
from pathlib import Path
from typing import TypeVar

import pytest

pytest.importorskip("langgraph.graph", reason="langgraph is not installed (it is in the `test` and `bench` extras)")

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "langgraph-differences.md"
SECTION = "## Names LangGraph exports that streamhil does not"

# LangGraph's public modules, each with the streamhil module a mechanical rename imports.
MODULES = [
    "langgraph.graph",
    "langgraph.graph.message",
    "langgraph.graph.state",
    "langgraph.types",
    "langgraph.constants",
    "langgraph.errors",
    "langgraph.config",
    "langgraph.runtime",
    "langgraph.checkpoint.memory",
    "langgraph.checkpoint.sqlite",
    "langgraph.checkpoint.sqlite.aio",
    "langgraph.prebuilt",
    "langgraph.prebuilt.interrupt",
    "langgraph.prebuilt.tool_node",
    "langgraph.prebuilt.chat_agent_executor",
    "langgraph.func",
    "langgraph.managed",
    "langgraph.channels",
    "langgraph.store",
    "langgraph.store.base",
    "langgraph.store.memory",
]


def langgraph_names(module_name: str) -> list[str]:
    """The names a LangGraph module offers: its ``__all__``, else the public names defined in it."""
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        return sorted(module.__all__)
    return sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, (types.ModuleType, TypeVar))
        and getattr(value, "__module__", None) == module_name
    )


def streamhil_twin(module_name: str) -> types.ModuleType | None:
    try:
        return importlib.import_module("streamhil" + module_name.removeprefix("langgraph"))
    except ModuleNotFoundError:
        return None


def exported(module: types.ModuleType) -> set[str]:
    """A streamhil module's public names: its ``__all__`` (an internal name that happens to match
    a LangGraph name, like the ``TASKS`` channel, is not an export)."""
    return set(module.__all__)


def missing_names() -> set[str]:
    """``langgraph.module.Name`` for every name the rename would not find in streamhil."""
    missing = set()
    for module_name in MODULES:
        twin = streamhil_twin(module_name)
        for name in langgraph_names(module_name):
            if twin is None or name not in exported(twin):
                missing.add(f"{module_name}.{name}")
    return missing


def documented_absences() -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    assert SECTION in text, f"{DOC.name} lacks the section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`(langgraph\.[A-Za-z0-9_.]+)`", section))


def test_langgraph_is_the_version_the_mapping_was_made_for() -> None:
    from importlib.metadata import version

    assert version("langgraph") == "1.2.22"


def test_every_missing_name_is_documented() -> None:
    undocumented = sorted(missing_names() - documented_absences())
    assert undocumented == [], "LangGraph names streamhil lacks, not listed in the docs:\n" + "\n".join(undocumented)


def test_every_documented_absence_is_really_absent() -> None:
    present = sorted(documented_absences() - missing_names())
    assert present == [], "listed as missing in the docs, but streamhil has them:\n" + "\n".join(present)


@pytest.mark.parametrize("module_name", MODULES)
def test_each_twin_exports_real_objects(module_name: str) -> None:
    twin = streamhil_twin(module_name)
    if twin is None:
        pytest.skip(f"{module_name} has no streamhil twin (documented)")
    shared = exported(twin) & set(langgraph_names(module_name))
    assert shared, f"streamhil's {twin.__name__} shares no name with {module_name}"
    assert sorted(name for name in exported(twin) if not hasattr(twin, name)) == []


def test_constants_have_langgraphs_values() -> None:
    from langgraph.constants import END as LG_END
    from langgraph.constants import START as LG_START

    from streamhil.graph import END, START

    assert (START, END) == (LG_START, LG_END)


def test_names_langgraph_modules_re_export_are_importable_too() -> None:
    """Names outside LangGraph's ``__all__`` that its docs import from these modules."""
    from langgraph.graph.message import RemoveMessage as LGRemoveMessage  # noqa: F401

    from streamhil.graph.message import RemoveMessage
    from streamhil.messages import RemoveMessage as Own

    assert RemoveMessage is Own
