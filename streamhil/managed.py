"""``langgraph.managed``'s names: state keys the runtime fills in, which are not channels.

A state key annotated ``RemainingSteps`` or ``IsLastStep`` is not stored, not part of the input
or output, and ignored when written; each node (and conditional edge) reading the state sees it
computed for its step::

    class State(TypedDict):
        messages: Annotated[list, add_messages]
        remaining_steps: RemainingSteps   # steps left before GraphRecursionError
        is_last_step: IsLastStep          # True on the last step the recursion limit allows

``remaining_steps`` is ``recursion_limit`` minus the steps this run (or this subgraph's run)
already ran, the hidden ``__start__`` step included: the first node of a new run sees
``recursion_limit - 1``, and ``is_last_step`` is True when it is 1, as in LangGraph. A resumed
run counts from its first step (see docs/langgraph-differences.md, "Recursion limit").
"""

from __future__ import annotations

from typing import Annotated, Any

__all__ = ["RemainingSteps", "IsLastStep", "ManagedValue", "is_managed_value"]


class ManagedValue:
    """A value the runtime computes for each task from the steps it has left."""

    @staticmethod
    def get(remaining_steps: int) -> Any:
        raise NotImplementedError


class RemainingStepsManager(ManagedValue):
    @staticmethod
    def get(remaining_steps: int) -> int:
        return remaining_steps


class IsLastStepManager(ManagedValue):
    @staticmethod
    def get(remaining_steps: int) -> bool:
        return remaining_steps == 1


RemainingSteps = Annotated[int, RemainingStepsManager]
"""How many steps this run may still take, this one included, before ``GraphRecursionError``."""

IsLastStep = Annotated[bool, IsLastStepManager]
"""Whether this step is the last one the recursion limit allows."""


def is_managed_value(meta: Any) -> bool:
    """Whether an ``Annotated`` metadata item marks a managed value."""
    return isinstance(meta, type) and issubclass(meta, ManagedValue)
