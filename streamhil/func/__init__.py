"""LangGraph's functional API: ``@entrypoint`` turns a function into a graph, ``@task`` makes a
function whose calls inside it run as tasks with saved results (see docs/quickstart.md)."""

from ._entrypoint import entrypoint
from ._task import task

__all__ = ("task", "entrypoint")
