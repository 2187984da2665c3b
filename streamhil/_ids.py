"""Deterministic ids (used by the executor and by ``interrupt()``): a task's id from where it was planned, an interrupt's id from its task and position."""

from __future__ import annotations

from hashlib import blake2b

__all__ = ["task_id", "interrupt_id", "position_key", "NULL_TASK_ID"]

NULL_TASK_ID = "00000000-0000-0000-0000-000000000000"


def _hex(text: str) -> str:
    return blake2b(text.encode(), digest_size=16).hexdigest()


def task_id(checkpoint_id: str, ns: str, step: int, node: str, kind: str, key: str) -> str:
    """The id of a task planned from ``checkpoint_id``: stable across re-runs of the same step."""
    h = _hex(f"{checkpoint_id}\x00{ns}\x00{step}\x00{node}\x00{kind}\x00{key}")
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def interrupt_id(task_ns: str, index: int) -> str:
    """The id of the ``index``-th interrupt raised by the task whose full namespace is ``task_ns``."""
    return _hex(task_ns if index == 0 else f"{task_ns}|{index}")


def position_key(task_ns: str, node: str, index: int) -> str:
    """Where an interrupt sits: its graph's namespace, node and index (not a hex id, so never a map key)."""
    graph_ns = task_ns.rsplit("|", 1)[0] if "|" in task_ns else ""
    return f"~{graph_ns}|{node}#{index}"
