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

Each factory builds a new compiled graph; the server gives it its checkpointer.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypedDict

from streamhil import END, START, Command, StateGraph, interrupt
from streamhil.graph.compiled import CompiledStateGraph
from streamhil.prebuilt import ScriptedChatModel, add_human_in_the_loop, create_react_agent

__all__ = ["demo_graphs", "DEMO_FACTORIES"]


# --- approve / reject --------------------------------------------------------------------------


class ApproveState(TypedDict, total=False):
    request: str
    proposal: str
    decision: str
    outcome: str


def _approve() -> CompiledStateGraph:
    def propose(state: ApproveState) -> ApproveState:
        return {"proposal": f"Refund the customer for: {state.get('request', 'an order')}"}

    def human_approval(state: ApproveState) -> Command[Literal["execute", "cancel"]]:
        answer = interrupt({"question": "Approve this action?", "proposal": state["proposal"], "options": ["approve", "reject"]})
        approved = answer is True or (isinstance(answer, str) and answer.strip().lower() in ("approve", "yes", "y"))
        if isinstance(answer, dict):
            approved = bool(answer.get("approved"))
        return Command(goto="execute" if approved else "cancel", update={"decision": "approved" if approved else "rejected"})

    def execute(state: ApproveState) -> ApproveState:
        return {"outcome": f"done: {state['proposal']}"}

    def cancel(state: ApproveState) -> ApproveState:
        return {"outcome": "cancelled by the reviewer"}

    g = StateGraph(ApproveState)
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


class EditState(TypedDict, total=False):
    text: str
    summary: str
    published: str


def _review_edit() -> CompiledStateGraph:
    def summarize(state: EditState) -> EditState:
        words = (state.get("text") or "streamhil streams human in the loop runs").split()
        return {"summary": " ".join(words[:8]) + ("…" if len(words) > 8 else "")}

    def human_edit(state: EditState) -> EditState:
        edited = interrupt({"task": "Review and edit the summary", "summary": state["summary"]})
        if isinstance(edited, dict):
            edited = edited.get("summary", state["summary"])
        return {"summary": str(edited)}

    def publish(state: EditState) -> EditState:
        return {"published": f"Published: {state['summary']}"}

    g = StateGraph(EditState)
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


def _tool_review() -> CompiledStateGraph:
    model = ScriptedChatModel(_agent_script, stream=True)
    return create_react_agent(model, [add_human_in_the_loop(book_hotel)], prompt="You book hotels.")


def _tool_review_chat() -> CompiledStateGraph:
    model = ScriptedChatModel(_agent_script, stream=True)
    reviewed = add_human_in_the_loop(book_hotel, schema="hitl_middleware")
    return create_react_agent(model, [reviewed], prompt="You book hotels.")


# --- multi-turn conversation -------------------------------------------------------------------


class ChatState(TypedDict, total=False):
    messages: Annotated[list[dict[str, Any]], operator.add]
    done: bool


def _multi_turn() -> CompiledStateGraph:
    def ask(state: ChatState) -> ChatState:
        turns = sum(1 for m in state.get("messages", []) if m["role"] == "user")
        question = "What would you like to talk about?" if turns == 0 else "Anything else? (say 'bye' to finish)"
        answer = interrupt({"question": question, "turn": turns + 1})
        text = answer if isinstance(answer, str) else str(answer.get("text", "")) if isinstance(answer, dict) else str(answer)
        return {"messages": [{"role": "user", "content": text}]}

    def reply(state: ChatState) -> ChatState:
        text = state["messages"][-1]["content"]
        bye = text.strip().lower() in ("bye", "quit", "exit", "done")
        content = "Goodbye!" if bye else f"You said {text!r} ({len(text.split())} words)."
        return {"messages": [{"role": "assistant", "content": content}], "done": bye}

    def route(state: ChatState) -> str:
        return END if state.get("done") else "ask"

    g = StateGraph(ChatState)
    g.add_node("ask", ask)
    g.add_node("reply", reply)
    g.add_edge(START, "ask")
    g.add_edge("ask", "reply")
    g.add_conditional_edges("reply", route, ["ask", END])
    return g.compile()


# --- validation loop ---------------------------------------------------------------------------


class AgeState(TypedDict, total=False):
    age: int


def _validation() -> CompiledStateGraph:
    def get_age(state: AgeState) -> AgeState:
        prompt = "What is your age?"
        while True:
            answer = interrupt({"question": prompt})
            if isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer <= 150:
                return {"age": answer}
            if isinstance(answer, str) and answer.strip().isdigit() and int(answer) <= 150:
                return {"age": int(answer)}
            prompt = f"{answer!r} is not a valid age. Please enter a whole number between 0 and 150."

    g = StateGraph(AgeState)
    g.add_node("get_age", get_age)
    g.add_edge(START, "get_age")
    g.add_edge("get_age", END)
    return g.compile()


# --- parallel reviewers ------------------------------------------------------------------------


class ReviewState(TypedDict, total=False):
    doc: str
    legal: str
    finance: str
    verdict: str


def _parallel() -> CompiledStateGraph:
    def legal(state: ReviewState) -> ReviewState:
        return {"legal": str(interrupt({"reviewer": "legal", "question": f"Legal: sign {state.get('doc', 'the document')}?"}))}

    def finance(state: ReviewState) -> ReviewState:
        return {"finance": str(interrupt({"reviewer": "finance", "question": f"Finance: budget for {state.get('doc', 'the document')}?"}))}

    def merge(state: ReviewState) -> ReviewState:
        return {"verdict": f"legal={state['legal']}; finance={state['finance']}"}

    g = StateGraph(ReviewState)
    g.add_node("legal", legal)
    g.add_node("finance", finance)
    g.add_node("merge", merge)
    g.add_edge(START, "legal")
    g.add_edge(START, "finance")
    g.add_edge(["legal", "finance"], "merge")
    g.add_edge("merge", END)
    return g.compile()


# --- interrupt inside a subgraph ---------------------------------------------------------------


class OrderState(TypedDict, total=False):
    item: str
    address: str
    confirmation: str


def _subgraph() -> CompiledStateGraph:
    def ask_address(state: OrderState) -> OrderState:
        return {"address": str(interrupt({"question": f"Where should we ship {state.get('item', 'it')}?"}))}

    def validate(state: OrderState) -> OrderState:
        return {"address": state["address"].strip().title()}

    shipping = StateGraph(OrderState)
    shipping.add_node("ask_address", ask_address)
    shipping.add_node("validate", validate)
    shipping.add_edge(START, "ask_address")
    shipping.add_edge("ask_address", "validate")
    shipping.add_edge("validate", END)

    def confirm(state: OrderState) -> OrderState:
        return {"confirmation": f"{state.get('item', 'order')} ships to {state['address']}"}

    g = StateGraph(OrderState)
    g.add_node("shipping", shipping.compile())
    g.add_node("confirm", confirm)
    g.add_edge(START, "shipping")
    g.add_edge("shipping", "confirm")
    g.add_edge("confirm", END)
    return g.compile()


# --- the protocol's worked example -------------------------------------------------------------


class PublishState(TypedDict, total=False):
    topic: str
    draft: dict[str, Any]
    approved: bool
    channel: str
    posted: bool


def _publish() -> CompiledStateGraph:
    def draft(state: PublishState) -> PublishState:
        return {"draft": {"text": f"{str(state.get('topic', 'streamhil')).capitalize()} hold hands."}}

    def review(state: PublishState) -> PublishState:
        answer = interrupt({"question": "Approve the draft?", "draft": state["draft"]["text"]})
        return {"approved": bool(answer.get("approved")) if isinstance(answer, dict) else bool(answer)}

    def post(state: PublishState) -> PublishState:
        if not state.get("approved"):
            return {"posted": False}
        return {"channel": str(interrupt({"question": "Which channel?"})), "posted": True}

    g = StateGraph(PublishState)
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
    "tool_review": (_tool_review, "A scripted agent books hotels; review each tool call (accept, edit, response, ignore)."),
    "tool_review_chat": (_tool_review_chat, "The hotel-booking agent with reviews in the HITL-middleware shape (Agent Chat UI): approve, edit, reject."),
    "multi_turn": (_multi_turn, "A conversation: answer each question; say 'bye' to finish."),
    "validation": (_validation, "Asks for an age until the answer is valid."),
    "parallel": (_parallel, "Legal and finance review at once; answer them one at a time."),
    "subgraph": (_subgraph, "A node inside a subgraph asks where to ship."),
    "publish": (_publish, "Approve a draft, then choose the channel to post it on."),
}


def demo_graphs() -> dict[str, tuple[CompiledStateGraph, str]]:
    """Fresh demo graphs with their descriptions, by name."""
    return {name: (factory(), description) for name, (factory, description) in DEMO_FACTORIES.items()}
