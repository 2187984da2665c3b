"""The LangChain half of the ``messages`` stream mode (see :mod:`.message_tap`, which imports
this module only once ``langchain_core`` is loaded).

Each task of a run streaming ``messages`` gets a LangChain config, set as langchain_core's
context config for the node (and passed to nodes that take ``config``): its callbacks hold a
:class:`TaskMessagesHandler`, its metadata says which node, step and namespace the task is. A
chat model called inside the node, however deep, picks the config up, streams (the handler asks
LangChain to), and its chunks reach the stream with that metadata plus the model's own
(``ls_provider``...). A model tagged ``"nostream"`` is not streamed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextvars import Token
from dataclasses import fields, is_dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID, uuid4

try:
    import langchain_core  # noqa: F401 - the extra this module needs
    from langchain_core.callbacks import BaseCallbackHandler, CallbackManager
    from langchain_core.messages import BaseMessage, convert_to_messages
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, LLMResult
    from langchain_core.runnables.config import var_child_runnable_config
except ImportError as exc:  # pragma: no cover - the tap imports this module only once it is loaded
    raise ImportError("streaming LangChain messages needs langchain-core: pip install 'streamhil[langchain]'") from exc

from ..types import Command

if TYPE_CHECKING:
    from .scope import RunScope, TaskContext

__all__ = [
    "NOSTREAM_TAG",
    "TaskMessagesHandler",
    "child_config",
    "emit_returned",
    "langchain_message",
    "reset_config",
    "task_callbacks",
    "use_config",
]

NOSTREAM_TAG = "nostream"
"""A chat model with this tag (``model.with_config(tags=["nostream"])``) is not streamed."""

_INTEGRATION = {"ls_integration": "langgraph"}
"""What LangGraph adds to the metadata of its tasks' callback manager (not to a node's
``config["metadata"]``); a chat model then does not put its own ``ls_integration`` there."""

T = TypeVar("T")


def use_config(config: dict[str, Any] | None) -> Token[Any]:
    """Make ``config`` the context config LangChain runnables called from here start from."""
    return var_child_runnable_config.set(config)  # type: ignore[arg-type]


def reset_config(token: Token[Any]) -> None:
    var_child_runnable_config.reset(token)


def task_callbacks(seen: set[str], ctx: TaskContext, *, emit: bool, messages: bool = True) -> dict[str, Any]:
    """The config keys a task adds for LangChain: ``callbacks`` (its handlers: the ``messages``
    one, streaming to the run if ``emit``, and when the run makes events the events one; in a
    callback manager whose metadata adds ``ls_integration``, as LangGraph's), ``metadata`` (the
    task's, see ``RunScope.task_metadata``), ``tags`` (the run's)."""
    traced = ctx.run.task_metadata(ctx, run_keys=_INTEGRATION)
    handlers: list[BaseCallbackHandler] = [TaskMessagesHandler(seen, ctx.run, traced, emit=emit)] if messages else []
    tags: list[str] = []
    parent: UUID | None = None
    if ctx.run.events is not None and ctx.event_run_id is not None:
        from .langchain_events import TaskEventsHandler

        handlers.append(TaskEventsHandler(ctx))
        tags = ["seq:step:1"]  # what a LangGraph node's own callees are tagged with (the node is a sequence's first step)
        parent = UUID(ctx.event_run_id)  # the node's run: what runnables inside it (and custom events) hang from
    return {
        "callbacks": CallbackManager(
            handlers, handlers, parent, tags=tags, metadata=traced, inheritable_metadata=dict(traced)
        ),
        "metadata": ctx.run.task_metadata(ctx),
        "tags": list(ctx.run.config.get("tags") or ()),
    }


def child_config(ctx: TaskContext) -> dict[str, Any]:
    """The context config of the task's node (see :func:`use_config`)."""
    assert ctx.lc_config is not None
    return {
        **ctx.lc_config,
        "configurable": ctx.run.task_config(ctx)["configurable"],
        "recursion_limit": ctx.run.recursion_limit,
    }


def _emit(seen: set[str], scope: RunScope, message: BaseMessage, metadata: dict[str, Any], *, dedupe: bool) -> None:
    """Put ``message`` on the stream (with an id; unless ``dedupe`` and its id is ``seen``)."""
    if dedupe and message.id in seen:
        return
    if message.id is None:
        message.id = str(uuid4())
    seen.add(message.id)
    scope.emit_message(scope.ns_tuple, (message, metadata))


class TaskMessagesHandler(BaseCallbackHandler):
    """LangChain callbacks of one task: the task's chat models' chunks, or their whole reply when
    they do not stream, go to the ``messages`` stream mode."""

    run_inline = True  # called on the model's own thread, in order (a sync node's worker thread
    # hands the part over to the event loop, see streaming.on_loop_thread)

    def __init__(self, seen: set[str], scope: RunScope, metadata: dict[str, Any], *, emit: bool = True) -> None:
        self._seen = seen  # ids already on the stream, shared by the run's tasks
        self._scope = scope
        self._metadata = metadata
        self._emit = emit  # False: models stream (as under LangGraph), their chunks go nowhere
        self._runs: dict[UUID, dict[str, Any]] = {}  # chat model runs being streamed

    # Having these two makes the handler one of LangChain's streaming handlers, for which
    # ``model.invoke()`` streams the reply instead of generating it in one piece.
    def tap_output_iter(self, run_id: UUID, output: Iterator[T]) -> Iterator[T]:
        return output

    def tap_output_aiter(self, run_id: UUID, output: AsyncIterator[T]) -> AsyncIterator[T]:
        return output

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self._emit or (tags and NOSTREAM_TAG in tags):
            return
        run_metadata = dict(metadata) if metadata else dict(self._metadata)
        user_tags = [t for t in tags or () if not t.startswith("seq:step")]
        if user_tags:
            run_metadata["tags"] = user_tags
        self._runs[run_id] = run_metadata

    def on_llm_new_token(self, token: Any, *, chunk: Any = None, run_id: UUID, **kwargs: Any) -> None:
        metadata = self._runs.get(run_id)
        if metadata is not None and isinstance(chunk, ChatGenerationChunk):
            _emit(self._seen, self._scope, chunk.message, metadata, dedupe=False)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        metadata = self._runs.pop(run_id, None)
        if metadata is None or not response.generations or not response.generations[0]:
            return
        generation = response.generations[0][0]
        if isinstance(generation, ChatGeneration):  # the whole reply, unless its chunks were streamed
            _emit(self._seen, self._scope, generation.message, metadata, dedupe=True)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._runs.pop(run_id, None)


def emit_returned(seen: set[str], ctx: TaskContext, result: Any, *, plain_messages: bool) -> None:
    """Stream the messages of a node's return value (a state update, a ``Command`` or a list of
    them) not seen yet, with the task's metadata."""
    assert ctx.lc_config is not None
    metadata = ctx.run.task_metadata(ctx, run_keys=_INTEGRATION)
    updates = [result.update] if isinstance(result, Command) else (
        [r.update if isinstance(r, Command) else r for r in result]
        if isinstance(result, Sequence) and any(isinstance(r, Command) for r in result) else [result]
    )
    for update in updates:
        for message in _messages_in(update, plain_messages):
            _emit(seen, ctx.run, message, metadata, dedupe=True)


def _messages_in(value: Any, plain_messages: bool) -> Iterator[BaseMessage]:
    """The messages in a return value: itself, its items (a list), or its top-level values and
    their items (a state)."""
    found = _message(value, plain_messages)
    if found is not None:
        yield found
    elif _is_list(value):
        yield from _messages_of(value, plain_messages)
    else:
        for item in _state_values(value):
            found = _message(item, plain_messages)
            if found is not None:
                yield found
            elif _is_list(item):
                yield from _messages_of(item, plain_messages)


def _messages_of(items: Sequence[Any], plain_messages: bool) -> Iterator[BaseMessage]:
    for item in items:
        found = _message(item, plain_messages)
        if found is not None:
            yield found


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _state_values(value: Any) -> list[Any]:
    """The top-level values of a state: a dict's, a dataclass's or a pydantic model's."""
    if isinstance(value, Mapping):
        return list(value.values())
    if is_dataclass(value) and not isinstance(value, type):
        return [getattr(value, f.name) for f in fields(value)]
    model_fields = getattr(type(value), "model_fields", None)
    if isinstance(model_fields, Mapping):
        return [getattr(value, name) for name in model_fields]
    return []


def _message(value: Any, plain_messages: bool) -> BaseMessage | None:
    if isinstance(value, BaseMessage):
        return value
    if plain_messages and isinstance(value, Mapping) and value.get("role") in _PLAIN_ROLES:
        return langchain_message(value)
    return None


_PLAIN_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


def langchain_message(message: Mapping[str, Any]) -> BaseMessage:
    """A streamhil message dict as the LangChain message of the same meaning."""
    [converted] = convert_to_messages([langchain_dict(message)])
    return converted


def langchain_dict(message: Mapping[str, Any]) -> dict[str, Any]:
    """A streamhil message dict in the shape langchain_core's ``convert_to_messages`` takes."""
    out = {k: v for k, v in message.items() if k in ("role", "content", "id", "name", "tool_calls", "tool_call_id")}
    if message.get("role") == "tool" and message.get("status") == "error":
        out["status"] = "error"
    return out
