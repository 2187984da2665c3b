"""The graphs ``streamhil-server --demo`` serves: the human-in-the-loop patterns of LangGraph's guide.

=====================  ===========================================================================
``approve``            approve or reject a proposed action, then branch (seed: "Approve or Reject")
``review_edit``        a human edits a generated summary before it is used ("Review & Edit State")
``tool_review``        a scripted agent asks to book hotels; each tool call is reviewed with
                       accept / edit / response / ignore (``add_human_in_the_loop``); two calls
                       in one turn are reviewed in parallel
``tool_review_chat``   the same agent, its reviews in the HITL-middleware shape Agent Chat UI
                       renders (``action_requests``, answered with ``{"decisions": [...]}``)
``multi_turn``         a conversation: the graph asks, the human answers, until they say "bye"
``validation``         asks for an age until the answer is a valid one ("Validating human input")
``parallel``           two reviewers (legal, finance) asked at once, answerable one at a time
``subgraph``           the question is asked by a node inside a subgraph
``publish``            the protocol's worked example: approve a draft, then pick a channel
=====================  ===========================================================================

Each factory builds a new compiled graph; the server gives it its checkpointer. Every graph
declares an input schema (what ``start_run``'s ``input`` may set), so ``list_graphs`` can tell a
UI which fields to ask for. Answers are read the way a person means them: yes/no words for
approvals (anything else is asked again, never guessed), buttons for choices.
"""

from __future__ import annotations

from collections.abc import Callable
import os
from typing import Annotated, Any, Literal, Required, TypedDict

from streamhil import END, START, Command, StateGraph, interrupt
from streamhil.graph.compiled import CompiledStateGraph
from streamhil.messages import coerce_message
from streamhil.prebuilt import ScriptedChatModel, add_human_in_the_loop, create_react_agent

__all__ = ["demo_graphs", "DEMO_FACTORIES", "yes_or_no", "DEFAULT_TOKEN_DELAY", "TOKEN_DELAY_ENV"]

TOKEN_DELAY_ENV = "STREAMHIL_DEMO_TOKEN_DELAY_MS"
DEFAULT_TOKEN_DELAY = 0.06  # seconds between streamed words: fast to read, slow enough to see


_YES = frozenset({"yes", "y", "yeah", "yep", "ok", "okay", "sure", "approve", "approved", "accept", "true", "go", "go ahead", "publish"})
_NO = frozenset({"no", "n", "nope", "nah", "reject", "rejected", "deny", "decline", "false", "don't", "do not", "cancel", "stop"})


_AGUI_CANCELLED = "__agui_cancelled__"  # compat.agui_views.CANCELLED_KEY (ag-ui-langgraph's key)


def yes_or_no(answer: Any, key: str = "approved") -> bool | None:
    """What an approval answer means: True, False, or None when it is neither (ask again).

    Accepts booleans, ``{key: bool}`` objects, and yes/no words in any case ("no", "Reject",
    "yes please" is not guessed). Anything else is None, so "no" can never approve.
    """
    if isinstance(answer, bool):
        return answer
    if isinstance(answer, dict) and isinstance(answer.get(key), bool):
        return bool(answer[key])
    if isinstance(answer, dict) and answer.get(_AGUI_CANCELLED) is True:
        return False  # an AG-UI client cancelled the question: not approved
    if isinstance(answer, str):
        word = answer.strip().strip(".!").strip().lower()
        if word in _YES:
            return True
        if word in _NO:
            return False
    return None


def _token_delay() -> float:
    raw = os.environ.get(TOKEN_DELAY_ENV)
    if raw is None or raw.strip() == "":
        return DEFAULT_TOKEN_DELAY
    try:
        value = float(raw) / 1000
    except ValueError:
        raise ValueError(f"{TOKEN_DELAY_ENV} must be a number of milliseconds, got {raw!r}") from None
    if not 0 <= value <= 10:
        raise ValueError(f"{TOKEN_DELAY_ENV} must be between 0 and 10000 ms, got {raw!r}")
    return value


# --- approve / reject --------------------------------------------------------------------------


class ApproveInput(TypedDict, total=False):
    request: Required[str]


class ApproveState(ApproveInput, total=False):
    proposal: str
    decision: str
    outcome: str


def _approve() -> CompiledStateGraph:
    def propose(state: ApproveState) -> dict[str, Any]:
        return {"proposal": f"Refund the customer for: {state.get('request', 'an order')}"}

    def human_approval(state: ApproveState) -> Command[Literal["execute", "cancel"]]:
        question: dict[str, Any] = {"question": "Approve this action?", "proposal": state["proposal"], "options": ["approve", "reject"]}
        while True:
            approved = yes_or_no(interrupt(question))
            if approved is not None:
                break
            question = {**question, "error": "Answer approve or reject (yes or no)."}
        return Command(goto="execute" if approved else "cancel", update={"decision": "approved" if approved else "rejected"})

    def execute(state: ApproveState) -> dict[str, Any]:
        return {"outcome": f"done: {state['proposal']}"}

    def cancel(state: ApproveState) -> dict[str, Any]:
        return {"outcome": "cancelled by the reviewer"}

    g = StateGraph(ApproveState, input_schema=ApproveInput)
    g.add_node("propose", propose)
    g.add_node("human_approval", human_approval, destinations=("execute", "cancel"))
    g.add_node("execute", execute)
    g.add_node("cancel", cancel)
    g.add_edge(START, "propose")
    g.add_edge("propose", "human_approval")
    g.add_edge("execute", END)
    g.add_edge("cancel", END)
    return g.compile()


# --- review & edit -----------------------------------------------------------------------------


class EditInput(TypedDict, total=False):
    text: Required[str]


class EditState(EditInput, total=False):
    summary: str
    published: str


def _review_edit() -> CompiledStateGraph:
    def summarize(state: EditState) -> dict[str, Any]:
        words = (state.get("text") or "streamhil streams human in the loop runs").split()
        return {"summary": " ".join(words[:8]) + ("…" if len(words) > 8 else "")}

    def human_edit(state: EditState) -> dict[str, Any]:
        edited = interrupt({"task": "Review and edit the summary", "summary": state["summary"]})
        if isinstance(edited, dict):
            edited = edited.get("summary", state["summary"])
        return {"summary": str(edited)}

    def publish(state: EditState) -> dict[str, Any]:
        return {"published": f"Published: {state['summary']}"}

    g = StateGraph(EditState, input_schema=EditInput)
    g.add_node("summarize", summarize)
    g.add_node("human_edit", human_edit)
    g.add_node("publish", publish)
    g.add_edge(START, "summarize")
    g.add_edge("summarize", "human_edit")
    g.add_edge("human_edit", "publish")
    g.add_edge("publish", END)
    return g.compile()


# --- tool review (scripted agent) --------------------------------------------------------------


def book_hotel(hotel_name: str, nights: int = 1) -> str:
    """Book a hotel.

    Args:
        hotel_name: The hotel's name.
        nights: How many nights to stay.
    """
    return f"Successfully booked {nights} night(s) at {hotel_name}."


def _text(content: Any) -> str:
    """A message's text: the string, or the text parts of a list of content parts (as LangChain
    UIs send ``[{"type": "text", "text": ...}]``)."""
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return str(content or "")


def _agent_script(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Any:
    """Books what the last user message names ("book X" or "book X and Y"), then confirms."""
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return "All set. Anything else?"
    text = _text(last.get("content"))
    lowered = text.lower()
    if "book" not in lowered:
        return "Tell me which hotel to book, e.g. 'book the McKittrick and the Ritz'."
    names = [n.strip(" .!") for n in text[lowered.index("book") + 4 :].replace(" and ", ",").split(",")]
    names = [n for n in names if n][:3] or ["the McKittrick"]
    calls = [{"name": "book_hotel", "args": {"hotel_name": n}} for n in names]
    return {"content": f"Booking {', '.join(names)}: please review.", "tool_calls": calls}


_REVIEW_EVERYTHING = {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True}


def _tool_review(token_delay: float | None = None) -> CompiledStateGraph:
    delay = _token_delay() if token_delay is None else token_delay
    model = ScriptedChatModel(_agent_script, stream=True, token_delay=delay)
    tool = add_human_in_the_loop(book_hotel, interrupt_config=_REVIEW_EVERYTHING)
    return create_react_agent(model, [tool], prompt="You book hotels.")


def _tool_review_chat(token_delay: float | None = None) -> CompiledStateGraph:
    delay = _token_delay() if token_delay is None else token_delay
    model = ScriptedChatModel(_agent_script, stream=True, token_delay=delay)
    reviewed = add_human_in_the_loop(book_hotel, schema="hitl_middleware")
    return create_react_agent(model, [reviewed], prompt="You book hotels.")


# --- multi-turn conversation -------------------------------------------------------------------


def _append_messages(left: list[dict[str, Any]] | None, right: Any) -> list[dict[str, Any]]:
    """``operator.add`` that also takes LangChain-shaped messages (``{"type": "human", ...}``, the
    shape LangGraph clients send back what they received in): those become role-shaped dicts.
    Role-shaped ones are kept as they are (no id added)."""
    incoming = right if isinstance(right, list) else [right]
    return list(left or []) + [m if isinstance(m, dict) and "role" in m else coerce_message(m) for m in incoming]


class ChatState(TypedDict, total=False):
    messages: Annotated[list[dict[str, Any]], _append_messages]
    done: bool


def _multi_turn() -> CompiledStateGraph:
    def ask(state: ChatState) -> dict[str, Any]:
        turns = sum(1 for m in state.get("messages", []) if m["role"] == "user")
        question = "What would you like to talk about?" if turns == 0 else "Anything else? (say 'bye' to finish)"
        answer = interrupt({"question": question, "turn": turns + 1})
        text = answer if isinstance(answer, str) else str(answer.get("text", "")) if isinstance(answer, dict) else str(answer)
        return {"messages": [{"role": "user", "content": text}]}

    def reply(state: ChatState) -> dict[str, Any]:
        text = _text(state["messages"][-1]["content"])
        bye = text.strip().lower() in ("bye", "quit", "exit", "done")
        content = "Goodbye!" if bye else f"You said {text!r} ({len(text.split())} words)."
        return {"messages": [{"role": "assistant", "content": content}], "done": bye}

    def route(state: ChatState) -> str:
        return END if state.get("done") else "ask"

    def opening(state: ChatState) -> str:
        # a thread started with a message gets a reply to it first; an empty one is asked
        messages = state.get("messages") or []
        return "reply" if messages and messages[-1].get("role") == "user" else "ask"

    g = StateGraph(ChatState)
    g.add_node("ask", ask)
    g.add_node("reply", reply)
    g.add_conditional_edges(START, opening, ["ask", "reply"])
    g.add_edge("ask", "reply")
    g.add_conditional_edges("reply", route, ["ask", END])
    return g.compile()


# --- validation loop ---------------------------------------------------------------------------


class AgeState(TypedDict, total=False):
    age: int


def _valid_age(answer: Any) -> int | None:
    if isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer <= 150:
        return answer
    if isinstance(answer, str) and answer.strip().isdigit() and int(answer) <= 150:
        return int(answer)
    return None


def _validation() -> CompiledStateGraph:
    def get_age(state: AgeState) -> dict[str, Any]:
        given = _valid_age(state.get("age"))
        if given is not None:  # an age given as input is checked, not asked again
            return {"age": given}
        question: dict[str, Any] = {"question": "What is your age?"}
        if state.get("age") is not None:
            question["error"] = f"{state['age']!r} is not a valid age. Please enter a whole number between 0 and 150."
        while True:
            answer = interrupt(question)
            age = _valid_age(answer)
            if age is not None:
                return {"age": age}
            question = {"question": "What is your age?",
                        "error": f"{answer!r} is not a valid age. Please enter a whole number between 0 and 150."}

    g = StateGraph(AgeState)
    g.add_node("get_age", get_age)
    g.add_edge(START, "get_age")
    g.add_edge("get_age", END)
    return g.compile()


# --- parallel reviewers ------------------------------------------------------------------------


class ReviewInput(TypedDict, total=False):
    doc: Required[str]


class ReviewState(ReviewInput, total=False):
    legal: str
    finance: str
    verdict: str


def _parallel() -> CompiledStateGraph:
    def legal(state: ReviewState) -> dict[str, Any]:
        return {"legal": str(interrupt({"reviewer": "legal", "question": f"Legal: sign {state.get('doc', 'the document')}?"}))}

    def finance(state: ReviewState) -> dict[str, Any]:
        return {"finance": str(interrupt({"reviewer": "finance", "question": f"Finance: budget for {state.get('doc', 'the document')}?"}))}

    def merge(state: ReviewState) -> dict[str, Any]:
        return {"verdict": f"legal={state['legal']}; finance={state['finance']}"}

    g = StateGraph(ReviewState, input_schema=ReviewInput)
    g.add_node("legal", legal)
    g.add_node("finance", finance)
    g.add_node("merge", merge)
    g.add_edge(START, "legal")
    g.add_edge(START, "finance")
    g.add_edge(["legal", "finance"], "merge")
    g.add_edge("merge", END)
    return g.compile()


# --- interrupt inside a subgraph ---------------------------------------------------------------


class OrderInput(TypedDict, total=False):
    item: Required[str]


class OrderState(OrderInput, total=False):
    address: str
    confirmation: str


def _subgraph() -> CompiledStateGraph:
    def ask_address(state: OrderState) -> dict[str, Any]:
        return {"address": str(interrupt({"question": f"Where should we ship {state.get('item', 'it')}?"}))}

    def validate(state: OrderState) -> dict[str, Any]:
        return {"address": state["address"].strip().title()}

    shipping = StateGraph(OrderState)
    shipping.add_node("ask_address", ask_address)
    shipping.add_node("validate", validate)
    shipping.add_edge(START, "ask_address")
    shipping.add_edge("ask_address", "validate")
    shipping.add_edge("validate", END)

    def confirm(state: OrderState) -> dict[str, Any]:
        return {"confirmation": f"{state.get('item', 'order')} ships to {state['address']}"}

    g = StateGraph(OrderState, input_schema=OrderInput)
    g.add_node("shipping", shipping.compile())
    g.add_node("confirm", confirm)
    g.add_edge(START, "shipping")
    g.add_edge("shipping", "confirm")
    g.add_edge("confirm", END)
    return g.compile()


# --- the protocol's worked example -------------------------------------------------------------


class PublishInput(TypedDict, total=False):
    topic: Required[str]


class PublishState(PublishInput, total=False):
    draft: dict[str, Any]
    approved: bool
    channel: str
    posted: bool


def _publish() -> CompiledStateGraph:
    def draft(state: PublishState) -> dict[str, Any]:
        return {"draft": {"text": f"{str(state.get('topic', 'streamhil')).capitalize()} hold hands."}}

    def review(state: PublishState) -> dict[str, Any]:
        question: dict[str, Any] = {"question": "Approve the draft?", "kind": "approve", "draft": state["draft"]["text"]}
        while True:
            approved = yes_or_no(interrupt(question))
            if approved is not None:
                return {"approved": approved}
            question = {**question, "error": "Answer yes or no (or use the Approve / Reject buttons)."}

    def post(state: PublishState) -> dict[str, Any]:
        if not state.get("approved"):
            return {"posted": False}
        return {"channel": str(interrupt({"question": "Which channel?"})), "posted": True}

    g = StateGraph(PublishState, input_schema=PublishInput)
    g.add_node("draft", draft)
    g.add_node("review", review)
    g.add_node("post", post)
    g.add_edge(START, "draft")
    g.add_edge("draft", "review")
    g.add_edge("review", "post")
    g.add_edge("post", END)
    return g.compile()



DEMO_FACTORIES: dict[str, tuple[Callable[[], CompiledStateGraph], str]] = {
    "approve": (_approve, "Approve or reject a proposed action, then branch."),
    "review_edit": (_review_edit, "Edit a generated summary before it is published."),
    "tool_review": (_tool_review, "A scripted agent books hotels (say 'book the Ritz'); review each call: accept, edit, respond or ignore."),
    "tool_review_chat": (_tool_review_chat, "The hotel-booking agent with reviews in the HITL-middleware shape (Agent Chat UI): approve, edit, reject."),
    "multi_turn": (_multi_turn, "A conversation: it replies to each message, then asks for more; say 'bye' to finish."),
    "validation": (_validation, "Asks for an age until the answer is a whole number from 0 to 150."),
    "parallel": (_parallel, "Legal and finance review at once; answer them one at a time."),
    "subgraph": (_subgraph, "A node inside a subgraph asks where to ship."),
    "publish": (_publish, "Approve a draft, then choose the channel to post it on."),
}


def demo_graphs(*, token_delay: float | None = None) -> dict[str, tuple[CompiledStateGraph, str]]:
    """Fresh demo graphs with their descriptions, by name.

    ``token_delay`` is the pause (seconds) between the words the demo chat model streams;
    default: ``$STREAMHIL_DEMO_TOKEN_DELAY_MS`` (milliseconds), else 60 ms.
    """
    streaming = {"tool_review": _tool_review, "tool_review_chat": _tool_review_chat}
    graphs = {name: (factory(), description) for name, (factory, description) in DEMO_FACTORIES.items() if name not in streaming}
    for name, factory in streaming.items():
        graphs[name] = (factory(token_delay), DEMO_FACTORIES[name][1])
    return {name: graphs[name] for name in DEMO_FACTORIES}
