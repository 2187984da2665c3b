"""Human review of tool calls, in the request/response shapes Agent Inbox and Agent Chat UI render.

``add_human_in_the_loop(tool)`` returns a tool with the same name, description and schema that
first asks a human with ``interrupt([request])``, where ``request`` is a :class:`HumanInterrupt`::

    {"action_request": {"action": "book_hotel", "args": {"hotel_name": "McKittrick"}},
     "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": False},
     "description": "Please review the tool call",
     "asked_by": "add_human_in_the_loop",
     "tool_call_id": "call_..."}

(``asked_by`` marks it as a tool-call review, which the server's AG-UI endpoint tells from an
Agent Inbox request a graph raises itself; ``tool_call_id`` names the call under review when the
tool runs in a tool node.) It reads the answer, a :class:`HumanResponse` (alone or as a one-item
list, as Agent Inbox sends it): ``{"type": "accept"}`` runs the call; ``{"type": "edit", "args":
{"args": {...}}}`` runs it with new arguments; ``{"type": "response", "args": "text"}`` skips the tool and hands the text to
the model; ``{"type": "ignore"}`` skips the tool. An answer that is malformed, not allowed by the
config, or whose edited arguments do not fit the tool's schema is not an error: the human is
asked again, and the new request carries an ``error`` field that says what was wrong.

With ``schema="hitl_middleware"`` the request takes the shape of LangChain's HITL middleware,
which Agent Chat UI renders (``interrupt(request)``, not a list)::

    {"action_requests": [{"name": "book_hotel", "args": {...}, "description": "Please review the tool call"}],
     "review_configs": [{"action_name": "book_hotel", "allowed_decisions": ["approve", "edit", "reject"]}],
     "asked_by": "add_human_in_the_loop",
     "tool_call_id": "call_..."}

and the answer is ``{"decisions": [decision]}``: ``{"type": "approve"}`` runs the call,
``{"type": "edit", "edited_action": {"name": ..., "args": {...}}}`` runs it with new arguments,
``{"type": "reject", "message": "text"}`` skips the tool and hands the text to the model (without
a message: skips it with a standard note). ``allow_accept`` permits approve, ``allow_edit`` edit,
``allow_respond`` or ``allow_ignore`` reject. Either answer shape is understood under either schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

from ..errors import StreamhilError
from ..types import interrupt
from .tools import Tool, ToolArgumentError, ToolOutput, _current_call, create_tool

__all__ = [
    "ActionRequest",
    "HumanInterruptConfig",
    "HumanInterrupt",
    "HumanResponse",
    "HumanResponseError",
    "Decision",
    "add_human_in_the_loop",
    "parse_human_response",
    "IGNORED_TOOL_MESSAGE",
    "REJECTED_TOOL_MESSAGE",
    "REVIEW_ASKED_BY",
    "ReviewSchema",
]

ReviewSchema = Literal["agent_inbox", "hitl_middleware"]

ResponseType = Literal["accept", "edit", "response", "ignore"]
_ALLOW_KEY: dict[str, str] = {
    "accept": "allow_accept",
    "edit": "allow_edit",
    "response": "allow_respond",
    "ignore": "allow_ignore",
}
DEFAULT_DESCRIPTION = "Please review the tool call"
REVIEW_ASKED_BY = "add_human_in_the_loop"
"""The ``asked_by`` of every request :func:`add_human_in_the_loop` makes: it tells a tool-call
review from an Agent Inbox request a graph raises itself, with or without a ``tool_call_id``."""
IGNORED_TOOL_MESSAGE = "The reviewer chose to ignore this tool call; the tool was not run."
REJECTED_TOOL_MESSAGE = "The reviewer rejected this tool call; the tool was not run."
_DECISIONS = {"approve": "allow_accept", "edit": "allow_edit"}


class ActionRequest(TypedDict):
    """The call under review: the tool's name and its arguments."""

    action: str
    args: dict[str, Any]


class HumanInterruptConfig(TypedDict):
    """Which answers the reviewer may give."""

    allow_ignore: bool
    allow_respond: bool
    allow_edit: bool
    allow_accept: bool


class HumanInterrupt(TypedDict):
    """The value of a review interrupt (sent as a one-item list)."""

    action_request: ActionRequest
    config: HumanInterruptConfig
    description: NotRequired[str]
    asked_by: NotRequired[str]
    tool_call_id: NotRequired[str]
    error: NotRequired[str]


class HumanResponse(TypedDict):
    """The reviewer's answer: ``args`` is None (accept, ignore), a string (response) or an ActionRequest (edit)."""

    type: ResponseType
    args: NotRequired[None | str | ActionRequest | dict[str, Any]]


class HumanResponseError(StreamhilError, ValueError):
    """An answer to a review that cannot be used; its message is shown to the reviewer."""


@dataclass(frozen=True, slots=True)
class Decision:
    """A validated answer: what to do and, for edit/response, with what."""

    type: ResponseType
    args: dict[str, Any] | None = None
    text: str | None = None


DEFAULT_CONFIG: HumanInterruptConfig = {
    "allow_ignore": False,
    "allow_respond": True,
    "allow_edit": True,
    "allow_accept": True,
}


def _check_config(config: Mapping[str, Any] | None) -> HumanInterruptConfig:
    if config is None:
        return dict(DEFAULT_CONFIG)  # type: ignore[return-value]
    if not isinstance(config, Mapping):
        raise TypeError(f"interrupt_config must be a dict of allow_* flags, got {type(config).__name__}")
    known = set(_ALLOW_KEY.values())
    unknown = set(config) - known
    if unknown:
        raise ValueError(f"unknown interrupt_config keys {sorted(unknown)}; expected some of {sorted(known)}")
    for key, value in config.items():
        if not isinstance(value, bool):
            raise TypeError(f"interrupt_config[{key!r}] must be a bool, got {value!r}")
    full = {key: bool(config.get(key, False)) for key in ("allow_ignore", "allow_respond", "allow_edit", "allow_accept")}
    if not any(full.values()):
        raise ValueError("interrupt_config allows no answer at all; allow at least one of accept, edit, respond, ignore")
    return full  # type: ignore[return-value]


def _allowed(config: Mapping[str, Any]) -> list[str]:
    return [kind for kind, key in _ALLOW_KEY.items() if config.get(key)]


def _allowed_decisions(config: Mapping[str, Any]) -> list[str]:
    allowed = [kind for kind, key in _DECISIONS.items() if config.get(key)]
    if config.get("allow_respond") or config.get("allow_ignore"):
        allowed.append("reject")
    return allowed


def _parse_decisions(decisions: Any, config: Mapping[str, Any], tool: Tool) -> Decision:
    """A HITL-middleware answer ``{"decisions": [...]}`` as a :class:`Decision`."""
    allowed = _allowed_decisions(config)
    if not isinstance(decisions, list) or len(decisions) != 1:
        count = len(decisions) if isinstance(decisions, list) else type(decisions).__name__
        raise HumanResponseError(f"expected 'decisions' to hold one decision (one tool call is reviewed), got {count}")
    decision = decisions[0]
    kind = decision.get("type") if isinstance(decision, Mapping) else None
    if kind not in ("approve", "edit", "reject"):
        raise HumanResponseError(f"unknown decision type {kind!r}; decide with one of: {', '.join(allowed)}")
    if kind not in allowed:
        raise HumanResponseError(f"this review does not allow {kind!r}; decide with one of: {', '.join(allowed)}")
    if kind == "approve":
        return Decision("accept")
    if kind == "edit":
        action = decision.get("edited_action")
        if not isinstance(action, Mapping) or not isinstance(action.get("args"), Mapping):
            raise HumanResponseError("an 'edit' decision needs {'edited_action': {'name': ..., 'args': {...}}}")
        return Decision("edit", args=_edited_args({"action": action.get("name", tool.name), "args": action["args"]}, tool))
    message = decision.get("message")
    if message is not None and (not isinstance(message, str) or not message.strip()):
        raise HumanResponseError("a 'reject' decision's message must be non-empty text (or left out)")
    if message is not None and config.get("allow_respond"):
        return Decision("response", text=message)
    return Decision("ignore", text=REJECTED_TOOL_MESSAGE)


def parse_human_response(answer: Any, config: Mapping[str, Any], tool: Tool) -> Decision:
    """Validate a reviewer's answer for ``tool`` (a HumanResponse, or ``{"decisions": [...]}`` as
    HITL-middleware UIs send); raise :class:`HumanResponseError` saying why not."""
    if isinstance(answer, Mapping) and "decisions" in answer:
        return _parse_decisions(answer["decisions"], config, tool)
    allowed = _allowed(config)
    if isinstance(answer, list):
        if len(answer) != 1:
            raise HumanResponseError(f"expected one response, got a list of {len(answer)}")
        answer = answer[0]
    if not isinstance(answer, Mapping):
        raise HumanResponseError(
            f"expected a response like {{'type': 'accept'}}, got {type(answer).__name__} {answer!r}"
        )
    kind = answer.get("type")
    if not isinstance(kind, str) or kind not in _ALLOW_KEY:
        raise HumanResponseError(f"unknown response type {kind!r}; answer with one of: {', '.join(allowed)}")
    if kind not in allowed:
        raise HumanResponseError(f"this review does not allow {kind!r}; answer with one of: {', '.join(allowed)}")
    args = answer.get("args")
    if kind == "response":
        if not isinstance(args, str) or not args.strip():
            raise HumanResponseError("a 'response' answer needs the text for the model in 'args'")
        return Decision("response", text=args)
    if kind == "edit":
        return Decision("edit", args=_edited_args(args, tool))
    return Decision("accept" if kind == "accept" else "ignore")


def _edited_args(args: Any, tool: Tool) -> dict[str, Any]:
    if not isinstance(args, Mapping):
        raise HumanResponseError(
            "an 'edit' answer needs the new arguments: {'type': 'edit', 'args': {'args': {...}}}"
        )
    if set(args) <= {"action", "args"} and isinstance(args.get("args"), Mapping):
        action = args.get("action", tool.name)
        if action != tool.name:
            raise HumanResponseError(f"an edit may change the arguments, not the tool: expected action {tool.name!r}, got {action!r}")
        args = args["args"]
    try:
        return tool.validate(args)
    except ToolArgumentError as exc:
        raise HumanResponseError("the edited arguments do not fit the tool: " + "; ".join(exc.errors)) from None


def add_human_in_the_loop(
    tool: Tool | Callable[..., Any],
    *,
    interrupt_config: Mapping[str, bool] | None = None,
    description: str | Callable[[dict[str, Any]], str] = DEFAULT_DESCRIPTION,
    schema: ReviewSchema = "agent_inbox",
) -> Tool:
    """Wrap ``tool`` so that every call waits for a human's accept, edit, response or ignore.

    ``interrupt_config`` holds the ``allow_*`` flags (default: accept, edit and respond).
    ``description`` is the text shown to the reviewer, or a function of the call's arguments.
    ``schema`` picks the request's shape: ``"agent_inbox"`` (a one-item list of HumanInterrupt)
    or ``"hitl_middleware"`` (``action_requests``/``review_configs``, for Agent Chat UI).
    """
    if schema not in ("agent_inbox", "hitl_middleware"):
        raise ValueError(f"schema must be 'agent_inbox' or 'hitl_middleware', got {schema!r}")
    inner = tool if isinstance(tool, Tool) else create_tool(tool)
    config = _check_config(interrupt_config)

    def build_request(args: dict[str, Any], text: str, call_id: str | None) -> dict[str, Any]:
        if schema == "hitl_middleware":
            request: dict[str, Any] = {
                "action_requests": [{"name": inner.name, "args": args, "description": text}],
                "review_configs": [{"action_name": inner.name, "allowed_decisions": _allowed_decisions(config)}],
            }
        else:
            request = {"action_request": {"action": inner.name, "args": args}, "config": dict(config), "description": text}
        request["asked_by"] = REVIEW_ASKED_BY
        if call_id is not None:
            request["tool_call_id"] = call_id
        return request

    async def call_tool_with_review(**args: Any) -> Any:
        text = description(dict(args)) if callable(description) else description
        call = _current_call.get()
        request = build_request(dict(args), text, None if call is None else call["id"])
        problem: str | None = None
        while True:
            asked = request if problem is None else {**request, "error": problem}
            answer = interrupt(asked if schema == "hitl_middleware" else [asked])
            try:
                decision = parse_human_response(answer, config, inner)
            except HumanResponseError as exc:
                problem = str(exc)
                continue
            break
        if decision.type == "accept":
            return await inner.ainvoke(args)
        if decision.type == "edit":
            return await inner.ainvoke(decision.args)
        if decision.type == "response":
            return decision.text
        return ToolOutput(decision.text or IGNORED_TOOL_MESSAGE, status="error")

    call_tool_with_review.__name__ = inner.name
    return Tool(
        name=inner.name,
        description=inner.description,
        parameters=inner.parameters,
        fn=call_tool_with_review,
        is_async=True,
    )
