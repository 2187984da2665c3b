"""RunTranslator: the events of one streamhil run (decoded hub frames) → AG-UI events.

A pure state machine (no I/O). It keeps AG-UI's pairing rules: every ``TEXT_MESSAGE_START``,
``TOOL_CALL_START`` and ``STEP_STARTED`` gets its end before ``RUN_FINISHED``, a step name is
never open twice (parallel tasks of one node share one step), and what the client already has
(messages of the thread and of the request) is not sent again.

==================================  =======================================================
streamhil event                     AG-UI events
==================================  =======================================================
``tasks`` (task start / result)     ``STEP_STARTED`` / ``STEP_FINISHED`` (name ``node``, or
                                    ``parent|node`` inside a subgraph)
``messages`` (token chunk)          ``TEXT_MESSAGE_START``/``CONTENT``; ``TOOL_CALL_START``/
                                    ``ARGS`` from ``tool_call_chunks``
``updates`` (a node's messages)     ``*_END`` of what was streamed; complete ``TEXT_MESSAGE_*``
                                    and ``TOOL_CALL_*`` for what was not; ``TOOL_CALL_RESULT``
                                    for tool messages
``values`` (root graph)             ``STATE_SNAPSHOT`` first, then ``STATE_DELTA`` (JSON
                                    Patch) when that is smaller
end of run                          ``STATE_SNAPSHOT``, ``MESSAGES_SNAPSHOT``, ``RUN_FINISHED``
                                    (outcome success / interrupt / cancelled) or ``RUN_ERROR``
==================================  =======================================================
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    Message,
    MessagesSnapshotEvent,
    RunErrorEvent,
    RunFinishedCancelledOutcome,
    RunFinishedEvent,
    RunFinishedInterruptOutcome,
    RunFinishedSuccessOutcome,
    RunStartedEvent,
    StateDeltaEvent,
    StateSnapshotEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)

from .agui_views import agui_interrupt, text_of
from .json_patch import diff

__all__ = ["RunTranslator", "step_name", "ON_INTERRUPT"]

ON_INTERRUPT = "on_interrupt"
"""The ``CUSTOM`` event name of the legacy (LangGraph / CopilotKit v1) interrupt convention."""

_TEXT_ROLES = frozenset({"assistant", "user", "system", "developer"})
_INTERRUPT = "__interrupt__"


def step_name(ns: Iterable[str], node: str) -> str:
    """``node``, prefixed by the nodes of the subgraphs it runs in (``shipping|ask_address``)."""
    parents = [segment.split(":", 1)[0] for segment in ns]
    return "|".join([*parents, node])


def _task_of(metadata: Any) -> str:
    ns = metadata.get("langgraph_checkpoint_ns", "") if isinstance(metadata, Mapping) else ""
    return str(ns).rsplit("|", 1)[-1].rpartition(":")[2]


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


class RunTranslator:
    """Translates one run; ``known`` are the messages the client and the thread already hold."""

    def __init__(self, thread_id: str, run_id: str, *, known: Iterable[Mapping[str, Any]] = (), legacy: bool = False) -> None:
        self.thread_id = thread_id
        self.run_id = run_id
        self.legacy = legacy
        self._messages: set[str] = set()  # message ids the client has or was sent
        self._calls: set[str] = set()  # tool call ids started
        self._results: set[str] = set()  # tool call ids answered
        self._open_text: dict[str, str] = {}  # message id -> task id
        self._open_calls: dict[str, tuple[str, str]] = {}  # call id -> (message id, task id)
        self._chunk_calls: dict[tuple[str, int], str | None] = {}  # (message id, index) -> call id
        self._steps: dict[str, int] = {}  # open step name -> tasks running it
        self._task_steps: dict[str, str] = {}  # task id -> step name
        self._state: Any = None
        self._state_sent = False
        self.has_started = False
        self.know(known)

    def know(self, messages: Iterable[Mapping[str, Any]]) -> None:
        """Mark messages (streamhil dicts) as already known to the client."""
        for message in messages:
            if isinstance(message.get("id"), str):
                self._messages.add(message["id"])
            for call in message.get("tool_calls") or ():
                if isinstance(call, Mapping) and call.get("id"):
                    self._calls.add(str(call["id"]))
            if message.get("role") == "tool" and message.get("tool_call_id"):
                self._results.add(str(message["tool_call_id"]))

    # --- lifecycle -----------------------------------------------------------------------------

    def _meta(self, streamhil_run_id: str | None) -> dict[str, Any] | None:
        if streamhil_run_id is None:
            return None
        return {"streamhil": {"run_id": streamhil_run_id, "thread_id": self.thread_id}}

    def started(self, streamhil_run_id: str | None) -> list[BaseEvent]:
        self.has_started = True
        return [RunStartedEvent(thread_id=self.thread_id, run_id=self.run_id, metadata=self._meta(streamhil_run_id))]

    def error(self, message: str, code: str | None) -> list[BaseEvent]:
        """Close what is open, then ``RUN_ERROR``."""
        return [*self.close_all(), RunErrorEvent(message=message, code=code)]

    def finished(
        self,
        outcome: str,
        *,
        values: Any,
        messages: list[Message],
        interrupts: Sequence[Mapping[str, Any]] = (),
        streamhil_run_id: str | None = None,
    ) -> list[BaseEvent]:
        """The end of a run: snapshots of state and messages, then ``RUN_FINISHED``.

        ``outcome`` is ``success``, ``interrupt`` (with streamhil's wire ``interrupts``) or
        ``cancelled``. In legacy mode an interrupt is a ``CUSTOM on_interrupt`` event per
        interrupt and a ``RUN_FINISHED`` without outcome.
        """
        events: list[BaseEvent] = self.close_all()
        events.append(StateSnapshotEvent(snapshot=self._visible(values)))
        events.append(MessagesSnapshotEvent(messages=messages))
        meta = self._meta(streamhil_run_id)
        if outcome == "interrupt" and interrupts:
            if self.legacy:
                for wire in interrupts:
                    value = wire.get("value")
                    text = value if isinstance(value, str) else json.dumps(value, default=repr, ensure_ascii=False)
                    events.append(CustomEvent(name=ON_INTERRUPT, value=text, metadata={"streamhil": dict(wire)}))
                events.append(RunFinishedEvent(thread_id=self.thread_id, run_id=self.run_id, metadata=meta))
            else:
                result = RunFinishedInterruptOutcome(interrupts=[agui_interrupt(w) for w in interrupts])
                events.append(RunFinishedEvent(thread_id=self.thread_id, run_id=self.run_id, outcome=result, metadata=meta))
        elif outcome == "cancelled":
            events.append(RunFinishedEvent(thread_id=self.thread_id, run_id=self.run_id, outcome=RunFinishedCancelledOutcome(), metadata=meta))
        else:
            events.append(RunFinishedEvent(thread_id=self.thread_id, run_id=self.run_id, outcome=RunFinishedSuccessOutcome(), metadata=meta))
        return events

    def close_all(self) -> list[BaseEvent]:
        """End every open text message, tool call and step."""
        events: list[BaseEvent] = [TextMessageEndEvent(message_id=m) for m in self._open_text]
        events += [ToolCallEndEvent(tool_call_id=c) for c in self._open_calls]
        events += [StepFinishedEvent(step_name=s) for s in self._steps]
        self._open_text.clear()
        self._open_calls.clear()
        self._steps.clear()
        self._task_steps.clear()
        return events

    # --- stream events -------------------------------------------------------------------------

    def feed(self, event: Mapping[str, Any]) -> list[BaseEvent]:
        """The AG-UI events for one streamhil event of this run (a decoded hub frame)."""
        kind, data, ns = event.get("event"), event.get("data"), event.get("ns") or []
        if kind == "messages" and isinstance(data, list) and len(data) == 2 and isinstance(data[0], Mapping):
            return self._chunk(data[0], _task_of(data[1]))
        if kind == "tasks" and isinstance(data, Mapping):
            return self._task(ns, data)
        if kind == "updates" and isinstance(data, Mapping):
            events: list[BaseEvent] = []
            for node, update in data.items():
                if node != _INTERRUPT and isinstance(update, Mapping) and "messages" in update:
                    found = update["messages"]
                    for message in [found] if isinstance(found, Mapping) else found if isinstance(found, list) else ():
                        if isinstance(message, Mapping):
                            events += self._message(message)
            return events
        if kind == "values" and not ns and isinstance(data, Mapping):
            return self._values(data)
        return []

    def _task(self, ns: list[str], data: Mapping[str, Any]) -> list[BaseEvent]:
        task_id, node = str(data.get("id")), str(data.get("name"))
        if "result" not in data and "error" not in data:  # a task starts
            name = step_name(ns, node)
            self._task_steps[task_id] = name
            self._steps[name] = self._steps.get(name, 0) + 1
            return [StepStartedEvent(step_name=name)] if self._steps[name] == 1 else []
        events = self._close_task(task_id)
        step = self._task_steps.pop(task_id, "")
        if step in self._steps:
            self._steps[step] -= 1
            if self._steps[step] == 0:
                del self._steps[step]
                events.append(StepFinishedEvent(step_name=step))
        return events

    def _close_task(self, task_id: str) -> list[BaseEvent]:
        events: list[BaseEvent] = []
        for mid, task in list(self._open_text.items()):
            if task == task_id:
                events.append(TextMessageEndEvent(message_id=mid))
                del self._open_text[mid]
        for cid, (_, task) in list(self._open_calls.items()):
            if task == task_id:
                events.append(ToolCallEndEvent(tool_call_id=cid))
                del self._open_calls[cid]
        return events

    def _close_message(self, mid: str) -> list[BaseEvent]:
        events: list[BaseEvent] = []
        if self._open_text.pop(mid, None) is not None:
            events.append(TextMessageEndEvent(message_id=mid))
        for cid, (parent, _) in list(self._open_calls.items()):
            if parent == mid:
                events.append(ToolCallEndEvent(tool_call_id=cid))
                del self._open_calls[cid]
        return events

    def _chunk(self, chunk: Mapping[str, Any], task: str) -> list[BaseEvent]:
        mid = chunk.get("id")
        if not isinstance(mid, str) or not mid:
            return []
        events: list[BaseEvent] = []
        text = text_of(chunk.get("content"))
        if text and (mid in self._open_text or mid not in self._messages):
            if mid not in self._open_text:
                role = chunk.get("role") if chunk.get("role") in _TEXT_ROLES else "assistant"
                events.append(TextMessageStartEvent(message_id=mid, role=role))  # type: ignore[arg-type]
                self._open_text[mid] = task
                self._messages.add(mid)
            events.append(TextMessageContentEvent(message_id=mid, delta=text))
        for piece in chunk.get("tool_call_chunks") or ():
            if not isinstance(piece, Mapping):
                continue
            key = (mid, int(piece.get("index") or 0))
            call_id = self._chunk_calls.get(key)
            if key not in self._chunk_calls and piece.get("id"):
                call_id = str(piece["id"])
                if call_id in self._calls:
                    self._chunk_calls[key] = None  # the client has this call already
                    continue
                events += self._close_text(mid)
                events.append(ToolCallStartEvent(tool_call_id=call_id, tool_call_name=str(piece.get("name") or ""), parent_message_id=mid))
                self._chunk_calls[key] = call_id
                self._calls.add(call_id)
                self._open_calls[call_id] = (mid, task)
                self._messages.add(mid)
            args = piece.get("args")
            if call_id is not None and call_id in self._open_calls and isinstance(args, str) and args:
                events.append(ToolCallArgsEvent(tool_call_id=call_id, delta=args))
        return events

    def _close_text(self, mid: str) -> list[BaseEvent]:
        if self._open_text.pop(mid, None) is not None:
            return [TextMessageEndEvent(message_id=mid)]
        return []

    def _message(self, message: Mapping[str, Any]) -> list[BaseEvent]:
        """A complete message in a node's update: end what was streamed, send what was not."""
        mid, role = message.get("id"), message.get("role")
        if not isinstance(mid, str) or not mid:
            return []
        events = self._close_message(mid)
        if role == "tool":
            call_id = message.get("tool_call_id")
            if isinstance(call_id, str) and call_id not in self._results and mid not in self._messages:
                events.append(ToolCallResultEvent(message_id=mid, tool_call_id=call_id, content=text_of(message.get("content")), role="tool"))
                self._results.add(call_id)
                self._messages.add(mid)
            return events
        if role not in _TEXT_ROLES:
            return events
        if mid not in self._messages:
            text = text_of(message.get("content"))
            if text:
                events += [
                    TextMessageStartEvent(message_id=mid, role=role),
                    TextMessageContentEvent(message_id=mid, delta=text),
                    TextMessageEndEvent(message_id=mid),
                ]
        if role == "assistant":
            for call in message.get("tool_calls") or ():
                if not isinstance(call, Mapping) or not call.get("id") or str(call["id"]) in self._calls:
                    continue
                call_id, args = str(call["id"]), call.get("args", {})
                events.append(ToolCallStartEvent(tool_call_id=call_id, tool_call_name=str(call.get("name") or ""), parent_message_id=mid))
                events.append(ToolCallArgsEvent(tool_call_id=call_id, delta=args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)))
                events.append(ToolCallEndEvent(tool_call_id=call_id))
                self._calls.add(call_id)
        self._messages.add(mid)
        return events

    # --- state ---------------------------------------------------------------------------------

    @staticmethod
    def _visible(values: Any) -> Any:
        if isinstance(values, Mapping) and _INTERRUPT in values:
            return {k: v for k, v in values.items() if k != _INTERRUPT}
        return values

    def _values(self, data: Mapping[str, Any]) -> list[BaseEvent]:
        values = self._visible(data)
        previous, self._state = self._state, values
        if not self._state_sent:
            self._state_sent = True
            return [StateSnapshotEvent(snapshot=values)]
        patch = diff(previous, values)
        if not patch:
            return []
        if len(_dumps(patch)) < len(_dumps(values)):
            return [StateDeltaEvent(delta=patch)]  # type: ignore[arg-type]  # JSON Patch dicts, validated by the model
        return [StateSnapshotEvent(snapshot=values)]
