"""Reserved names: the graph's entry and exit, and the hidden channels of a checkpoint."""

from __future__ import annotations

__all__ = ["START", "END"]

START = "__start__"
"""The virtual node a graph's input comes from: ``add_edge(START, "first")``."""

END = "__end__"
"""The virtual node that ends a branch: ``add_edge("last", END)``."""

INTERRUPT = "__interrupt__"
"""Stream/output key and pending-write channel of interrupts."""

RESUME = "__resume__"
"""Pending-write channel holding the answers a task has received so far."""

ERROR = "__error__"
"""Pending-write channel holding the repr of a task's exception."""

EDITED = "__edited__"
"""Pending-write marker of a paused task carried over by ``update_state``: the state it asked
about changed, so a plain ``invoke(None)`` runs it again (an answer still answers it)."""

NO_WRITES = "__no_writes__"
"""Pending-write marker of a task that finished without writing anything."""

TASKS = "__tasks__"
"""Checkpoint channel holding the tasks the next superstep will run."""

JOINS = "__joins__"
"""Checkpoint channel holding the sources each join (``add_edge([a, b], c)``) has seen."""

LAST_NODES = "__last__"
"""Checkpoint channel holding the names of the nodes that ran in the step that produced it."""

CALL = "__call__"
"""Pending-write channel of a functional-API task call (``streamhil.func.task``): its saved
outcome, under the call's own task id, so a resumed entrypoint gets it back without running it."""

COMMAND_TASK = "__command__"
"""Task-id prefix of the writes a ``Command`` input makes (LangGraph's null task)."""

RESERVED_NAMES = frozenset({START, END, INTERRUPT, RESUME, ERROR, EDITED, NO_WRITES, TASKS, JOINS, LAST_NODES, CALL})
RESERVED_CHARACTERS = ("|", ":")
