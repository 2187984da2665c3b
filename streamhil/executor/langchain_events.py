"""The LangChain half of ``astream_events``: what LangChain runnables called inside a node report
through their callbacks (chat models, tools, chains, ``dispatch_custom_event``), as events of
LangChain's "v2" schema, with the node's run as their parent (see :mod:`.node_events`).

Imported by :func:`.langchain_messages.task_callbacks` only, so only once ``langchain_core`` is
loaded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar
from uuid import UUID

try:
    import langchain_core  # noqa: F401 - the extra this module needs
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.outputs import ChatGenerationChunk, LLMResult
except ImportError as exc:  # pragma: no cover - imported only once langchain_core is loaded
    raise ImportError("astream_events inside nodes needs langchain-core: pip install 'streamhil[langchain]'") from exc

from .node_events import EVENTS
from .scope import TaskContext

__all__ = ["TaskEventsHandler"]

T = TypeVar("T")
_NOT_YET = {"input": ""}


class TaskEventsHandler(BaseCallbackHandler):
    """LangChain callbacks of one task (one attempt of a node), turned into events."""

    run_inline = True  # called on the caller's own thread, in order (a sync node's worker thread
    # hands the event over to the event loop, see streaming.on_loop_thread)

    def __init__(self, ctx: TaskContext) -> None:
        self._ctx = ctx
        self._runs: dict[UUID, tuple[str, str, list[str], list[str], dict[str, Any], Any]] = {}
        # run id -> (kind, name, parent ids, tags, metadata, input): LangChain runs started inside the node
        self._tapped: set[UUID] = set()  # runs whose streamed output gives stream events already

    # A streaming handler (these two): ``model.invoke()`` streams its reply, so that its chunks
    # come as ``on_chat_model_stream`` events, and a chain, prompt or parser streamed inside the
    # node gives ``on_<kind>_stream`` events, once per run, as under LangGraph's ``astream_events``.
    def tap_output_iter(self, run_id: UUID, output: Iterator[T]) -> Iterator[T]:
        if run_id not in self._runs or run_id in self._tapped:
            return output
        self._tapped.add(run_id)
        return self._tap(run_id, output)

    def tap_output_aiter(self, run_id: UUID, output: AsyncIterator[T]) -> AsyncIterator[T]:
        if run_id not in self._runs or run_id in self._tapped:
            return output
        self._tapped.add(run_id)
        return self._atap(run_id, output)

    def _tap(self, run_id: UUID, output: Iterator[T]) -> Iterator[T]:
        for chunk in output:
            self._stream(run_id, chunk)
            yield chunk

    async def _atap(self, run_id: UUID, output: AsyncIterator[T]) -> AsyncIterator[T]:
        async for chunk in output:
            self._stream(run_id, chunk)
            yield chunk

    def _stream(self, run_id: UUID, chunk: Any) -> None:
        run = self._runs.get(run_id)
        if run is not None:
            self._emit(run_id, run, "stream", {"chunk": chunk})

    # -- runs -------------------------------------------------------------------------------------
    def on_chat_model_start(self, serialized: dict[str, Any], messages: list[list[Any]], *, run_id: UUID,
                            parent_run_id: UUID | None = None, tags: list[str] | None = None,
                            metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._start("chat_model", serialized, {"messages": messages}, run_id, parent_run_id, tags, metadata, kwargs)

    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID,
                     parent_run_id: UUID | None = None, tags: list[str] | None = None,
                     metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._start("llm", serialized, {"prompts": prompts}, run_id, parent_run_id, tags, metadata, kwargs)

    def on_llm_new_token(self, token: Any, *, chunk: Any = None, run_id: UUID, **kwargs: Any) -> None:
        run = self._runs.get(run_id)
        if run is None:
            return
        if run[0] == "chat_model":
            if isinstance(chunk, ChatGenerationChunk):
                self._emit(run_id, run, "stream", {"chunk": chunk.message})
        else:
            self._emit(run_id, run, "stream", {"chunk": chunk if chunk is not None else token})

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._runs.pop(run_id, None)
        if run is None:
            return
        if run[0] == "chat_model":
            generation = response.generations[0][0] if response.generations and response.generations[0] else None
            output = getattr(generation, "message", None)
        else:
            output = response
        self._emit(run_id, run, "end", {"output": output, "input": run[5]})

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._runs.pop(run_id, None)

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, *, run_id: UUID,
                      parent_run_id: UUID | None = None, tags: list[str] | None = None,
                      metadata: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None,
                      **kwargs: Any) -> None:
        self._start("tool", serialized, inputs if inputs is not None else input_str, run_id, parent_run_id,
                    tags, metadata, kwargs)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._runs.pop(run_id, None)
        if run is not None:
            self._emit(run_id, run, "end", {"output": output, "input": run[5]})

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._runs.pop(run_id, None)

    def on_chain_start(self, serialized: dict[str, Any] | None, inputs: Any, *, run_id: UUID,
                       parent_run_id: UUID | None = None, tags: list[str] | None = None,
                       metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        kind = kwargs.get("run_type") or "chain"  # a prompt or a parser says so: on_prompt_*, on_parser_*
        self._start(str(kind), serialized or {}, inputs, run_id, parent_run_id, tags, metadata, kwargs)

    def on_retriever_start(self, serialized: dict[str, Any], query: str, *, run_id: UUID,
                           parent_run_id: UUID | None = None, tags: list[str] | None = None,
                           metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._start("retriever", serialized, {"query": query}, run_id, parent_run_id, tags, metadata, kwargs)

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._runs.pop(run_id, None)
        if run is not None:
            self._emit(run_id, run, "end", {"output": documents, "input": run[5]})

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._runs.pop(run_id, None)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, inputs: Any = None, **kwargs: Any) -> None:
        run = self._runs.pop(run_id, None)
        if run is not None:
            self._emit(run_id, run, "end", {"output": outputs, "input": inputs if inputs is not None else run[5]})

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._runs.pop(run_id, None)

    def on_custom_event(self, name: Any, data: Any, *, run_id: UUID, tags: list[str] | None = None,
                        metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        # ``run_id`` is the run that dispatched it: the node itself, or a LangChain run inside it
        run = self._runs.get(run_id)
        parents = run[2] if run is not None else self._node_parents() if str(run_id) == self._ctx.event_run_id else self._parents(None)
        self._put({
            "event": "on_custom_event", "run_id": str(run_id), "name": name, "tags": list(tags or ()),
            "metadata": dict(metadata or {}), "data": data, "parent_ids": parents,
        })

    # -- helpers ----------------------------------------------------------------------------------
    def _start(self, kind: str, serialized: dict[str, Any], data_input: Any, run_id: UUID, parent_run_id: UUID | None,
               tags: list[str] | None, metadata: dict[str, Any] | None, kwargs: dict[str, Any]) -> None:
        name = kwargs.get("name") or serialized.get("name") or (serialized.get("id") or ["Unnamed"])[-1]
        run = (kind, str(name), self._parents(parent_run_id), list(tags or ()), dict(metadata or {}), data_input)
        self._runs[run_id] = run
        # a streamed run starts before its input is known (LangChain passes {"input": ""}): no input yet
        self._emit(run_id, run, "start", {} if data_input == _NOT_YET else {"input": data_input})

    def _node_parents(self) -> list[str]:
        events = self._ctx.run.events
        return events.parents(self._ctx) if events is not None else []

    def _parents(self, parent_run_id: UUID | None) -> list[str]:
        """The run ids above a run whose LangChain parent is ``parent_run_id``: the node's and
        those above it, then LangChain's own runs down to that parent."""
        parent = self._runs.get(parent_run_id) if parent_run_id is not None else None
        if parent is not None:
            return [*parent[2], str(parent_run_id)]
        return [*self._node_parents(), self._ctx.event_run_id or ""]

    def _emit(self, run_id: UUID, run: tuple[str, str, list[str], list[str], dict[str, Any], Any], phase: str,
              data: dict[str, Any]) -> None:
        kind, name, parents, tags, metadata, _ = run
        self._put({
            "event": f"on_{kind}_{phase}", "name": name, "run_id": str(run_id), "parent_ids": parents,
            "tags": tags, "metadata": metadata, "data": data,
        })

    def _put(self, event: dict[str, Any]) -> None:
        scope = self._ctx.run
        scope.emit(scope.ns_tuple, EVENTS, event)
